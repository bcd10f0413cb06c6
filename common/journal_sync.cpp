#include "common/journal_sync.hpp"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/unique_fd.hpp"

namespace imagebuild {

namespace {

constexpr const char* kSocket = "/run/systemd/journal/io.systemd.journal";
// A varlink message is JSON ended by a NUL byte.
constexpr char kRequest[] = "{\"method\":\"io.systemd.Journal.Synchronize\",\"parameters\":{}}";

std::string errnoText(const char* what) {
    return fmt::format("{} {}: {}", what, kSocket, std::strerror(errno));
}

}  // namespace

std::string syncJournal() {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) {
        return errnoText("cannot create a socket for");
    }
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, kSocket, sizeof address.sun_path - 1);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) < 0) {
        return errnoText("cannot connect to");
    }
    // sizeof includes the terminating NUL: the message's end.
    if (::send(fd.get(), kRequest, sizeof kRequest, MSG_NOSIGNAL) !=
        static_cast<ssize_t>(sizeof kRequest)) {
        return errnoText("cannot send to");
    }
    std::string reply;
    char buffer[512];
    while (reply.find('\0') == std::string::npos) {
        ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return n < 0 ? errnoText("cannot read from") : "journald closed the connection";
        }
        reply.append(buffer, static_cast<std::size_t>(n));
    }
    reply.resize(reply.find('\0'));
    auto json = nlohmann::json::parse(reply, nullptr, false);
    if (json.is_discarded() || !json.is_object()) {
        return "journald sent a reply that is not JSON";
    }
    if (json.contains("error")) {
        return fmt::format("journald refused to synchronize: {}", json["error"].dump());
    }
    return "";
}

}  // namespace imagebuild
