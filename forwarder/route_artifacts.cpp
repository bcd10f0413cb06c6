// GET /artifacts/{id}/{name}: a file of a build's output, named in the
// build's Artifacts list (so no name can reach anything else), with
// Content-Length, Range (206/416) and ETag/If-None-Match (304).
#include <fcntl.h>
#include <fmt/format.h>
#include <sdbus-c++/Error.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "forwarder/app.hpp"
#include "forwarder/byte_range.hpp"
#include "forwarder/dbus_errors.hpp"
#include "forwarder/forward.hpp"
#include "forwarder/http_cache.hpp"
#include "forwarder/json_error.hpp"
#include "forwarder/local_agent.hpp"
#include "forwarder/log.hpp"
#include "forwarder/routes.hpp"

namespace imagebuild::forwarder {

namespace {

std::string etagOf(const Artifact& artifact, const struct stat& st) {
    if (!artifact.sha256.empty()) {
        return "\"" + artifact.sha256 + "\"";
    }
    return fmt::format("\"{:x}-{:x}-{:x}\"", st.st_ino, st.st_size,
                       st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec);
}

Response afterArtifactGet(const Request& request, const BuildInfo& build, const std::string& name) {
    auto it = std::find_if(build.artifacts.begin(), build.artifacts.end(),
                           [&](const Artifact& a) { return a.name == name; });
    if (it == build.artifacts.end()) {
        return jsonError(404, "NotFound",
                         fmt::format("build {} has no artifact '{}'", build.id, name));
    }
    auto fd = std::make_shared<UniqueFd>(open(it->path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    struct stat st {};
    if (!*fd || fstat(fd->get(), &st) < 0 || !S_ISREG(st.st_mode)) {
        log::warning("artifact {} of {}: {}: {}", name, build.id, it->path, std::strerror(errno));
        return jsonError(404, "NotFound",
                         fmt::format("artifact '{}' of build {} is not readable", name, build.id));
    }
    auto etag = etagOf(*it, st);
    Response response;
    response.contentType = "application/octet-stream";
    response.headers = {{"ETag", etag}, {"Accept-Ranges", "bytes"}};
    if (etagMatches(request.header("if-none-match"), etag)) {
        response.status = 304;
        return response;
    }
    auto size = static_cast<std::uint64_t>(st.st_size);
    auto range = parseByteRange(request.header("range"), size);
    if (range.kind == ByteRange::Kind::Unsatisfiable) {
        auto refused =
            jsonError(416, "RangeNotSatisfiable", fmt::format("the artifact has {} bytes", size));
        refused.headers.emplace_back("Content-Range", fmt::format("bytes */{}", size));
        return refused;
    }
    auto file = std::make_shared<FileBody>();
    file->fd = std::move(fd);
    if (range.kind == ByteRange::Kind::Partial) {
        response.status = 206;
        response.headers.emplace_back("Content-Range",
                                      fmt::format("bytes {}-{}/{}", range.first, range.last, size));
        file->offset = range.first;
        file->length = range.length();
    } else {
        file->length = size;
    }
    response.file = std::move(file);
    return response;
}

Response handleArtifactGet(App& app, Request& request) {
    const auto& id = request.params.at("id");
    auto owner = findOwner(app, request, id);
    if (owner.error) {
        return *owner.error;
    }
    if (owner.peer) {
        return forwardStreamTo(app, owner.peer->url, request, app.peers().options().requestTimeout);
    }
    try {
        return afterArtifactGet(request, app.agent().get(id), request.params.at("name"));
    } catch (const sdbus::Error& e) {
        return responseForDbusError(e);
    }
}

}  // namespace

void registerArtifacts(App& app) {
    app.router().add("GET", "/artifacts/{id}/{name}", Access::Read,
                     std::bind_front(handleArtifactGet, std::ref(app)));
}

}  // namespace imagebuild::forwarder
