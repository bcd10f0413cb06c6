#include "forwarder/http_server.hpp"

#include <microhttpd.h>

#include <strings.h>
#include <charconv>
#include <stdexcept>
#include <string_view>

#include "forwarder/json_error.hpp"
#include "forwarder/log.hpp"

namespace imagebuild::forwarder {

struct HttpServer::Context {
    std::string body;
    std::vector<FormField> form;
    MHD_PostProcessor* post = nullptr;  // set for a multipart/form-data body
    std::size_t limit = 0;
    std::size_t received = 0;
    bool tooLarge = false;
    bool badForm = false;

    Context() = default;
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;
    ~Context() {
        if (post) {
            MHD_destroy_post_processor(post);
        }
    }
};

namespace {

// A part's bytes arrive in pieces (off > 0 continues the current one); a new
// part of the same name starts again at off 0. A part libmicrohttpd announces
// empty first and then fills stays one field.
MHD_Result formPiece(void* cls, MHD_ValueKind, const char* key, const char* filename, const char*,
                     const char*, const char* data, uint64_t off, size_t size) {
    auto& form = *static_cast<std::vector<FormField>*>(cls);
    bool continues =
        !form.empty() && form.back().name == key && (off != 0 || form.back().value.empty());
    if (!continues) {
        form.push_back(FormField{key, filename ? filename : "", {}});
    }
    form.back().value.append(data, size);
    return MHD_YES;
}

bool isMultipart(MHD_Connection* connection) {
    const char* type =
        MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    constexpr std::string_view multipart = "multipart/form-data";
    return type && std::string_view(type).size() >= multipart.size() &&
           strncasecmp(type, multipart.data(), multipart.size()) == 0;
}

MHD_Result collect(void* cls, MHD_ValueKind, const char* key, const char* value) {
    auto* map = static_cast<std::map<std::string, std::string>*>(cls);
    std::string k(key);
    for (auto& c : k) {  // header names are ASCII: no locale
        c = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    }
    map->insert_or_assign(std::move(k), value ? value : "");
    return MHD_YES;
}

MHD_Result collectQuery(void* cls, MHD_ValueKind, const char* key, const char* value) {
    (*static_cast<std::map<std::string, std::string>*>(cls))[key] = value ? value : "";
    return MHD_YES;
}

ssize_t readStream(void* cls, uint64_t, char* buffer, size_t max) {
    auto& stream = *static_cast<BodyStream*>(cls);
    long n = stream(buffer, max);
    return n < 0 ? MHD_CONTENT_READER_END_OF_STREAM : n;
}

void freeStream(void* cls) {
    delete static_cast<BodyStream*>(cls);
}

MHD_Response* makeMhdResponse(Response& r) {
    if (r.file) {
        // libmicrohttpd owns (and closes) the descriptor from here on.
        int fd = r.file->fd->release();
        return MHD_create_response_from_fd_at_offset64(r.file->length, fd, r.file->offset);
    }
    if (r.stream) {
        return MHD_create_response_from_callback(
            r.streamSize == UINT64_MAX ? MHD_SIZE_UNKNOWN : r.streamSize, 16 * 1024, readStream,
            new BodyStream(std::move(r.stream)), freeStream);
    }
    return MHD_create_response_from_buffer(r.body.size(), r.body.data(), MHD_RESPMEM_MUST_COPY);
}

MHD_Result queue(MHD_Connection* connection, Response&& r) {
    MHD_Response* response = makeMhdResponse(r);
    if (!response) {
        log::error("libmicrohttpd could not create a response");
        return MHD_NO;
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, r.contentType.c_str());
    for (const auto& [name, value] : r.headers) {
        MHD_add_response_header(response, name.c_str(), value.c_str());
    }
    MHD_Result rc = MHD_queue_response(connection, r.status, response);
    MHD_destroy_response(response);
    return rc;
}

MHD_Result access(void* cls, MHD_Connection* connection, const char* url, const char* method,
                  const char*, const char* uploadData, size_t* uploadSize, void** state) {
    auto* server = static_cast<HttpServer*>(cls);
    return static_cast<MHD_Result>(
        server->handle(connection, url, method, uploadData, uploadSize, state));
}

void completed(void*, MHD_Connection*, void** state, MHD_RequestTerminationCode) {
    delete static_cast<HttpServer::Context*>(*state);
    *state = nullptr;
}

std::size_t declaredLength(MHD_Connection* connection) {
    const char* value =
        MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    std::size_t n = 0;
    if (value) {
        std::from_chars(value, value + std::char_traits<char>::length(value), n);
    }
    return n;
}

Response tooLarge(std::size_t limit, bool upload) {
    return jsonError(413, "PayloadTooLarge",
                     fmt::format("the request body is larger than {} bytes ({})", limit,
                                 upload ? "max_upload_bytes" : "max_body_bytes"));
}

}  // namespace

HttpServer::HttpServer(UniqueFd listenFd, ServerLimits limits, Dispatch dispatch)
    : limits_(limits), dispatch_(std::move(dispatch)) {
    int fd = listenFd.get();
    daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                                   MHD_USE_POLL | MHD_USE_ERROR_LOG,
                               0, nullptr, nullptr, &access, this, MHD_OPTION_LISTEN_SOCKET, fd,
                               MHD_OPTION_CONNECTION_LIMIT, limits_.maxConnections,
                               MHD_OPTION_CONNECTION_TIMEOUT, limits_.idleTimeoutSec,
                               MHD_OPTION_NOTIFY_COMPLETED, &completed, nullptr, MHD_OPTION_END);
    if (!daemon_) {
        throw std::runtime_error("libmicrohttpd could not start on the listening socket");
    }
    listenFd.release();  // closed by MHD_stop_daemon
}

HttpServer::~HttpServer() {
    MHD_stop_daemon(daemon_);
}

int HttpServer::handle(void* conn, const char* url, const char* method, const char* uploadData,
                       std::size_t* uploadSize, void** state) {
    auto* connection = static_cast<MHD_Connection*>(conn);
    if (!*state) {
        auto* context = new Context;
        *state = context;
        context->limit = limits_.maxBodyBytes;
        if (isMultipart(connection)) {
            context->limit = limits_.maxUploadBytes;
            context->post =
                MHD_create_post_processor(connection, 64 * 1024, &formPiece, &context->form);
            if (!context->post) {
                return queue(connection,
                             jsonError(400, "InvalidUpload",
                                       "multipart/form-data without a boundary= parameter"));
            }
        }
        if (declaredLength(connection) > context->limit) {
            // Refuse before reading: libmicrohttpd closes the connection after this.
            return queue(connection, tooLarge(context->limit, context->post != nullptr));
        }
        return MHD_YES;
    }
    auto* context = static_cast<Context*>(*state);
    if (*uploadSize != 0) {
        context->received += *uploadSize;
        if (context->received > context->limit) {
            context->tooLarge = true;
        } else if (context->badForm) {
            // keep reading to the end, then answer
        } else if (context->post) {
            context->badForm = MHD_post_process(context->post, uploadData, *uploadSize) != MHD_YES;
        } else {
            context->body.append(uploadData, *uploadSize);
        }
        *uploadSize = 0;
        return MHD_YES;
    }
    if (context->tooLarge) {
        return queue(connection, tooLarge(context->limit, context->post != nullptr));
    }
    if (context->post) {
        context->badForm |= MHD_destroy_post_processor(context->post) != MHD_YES;
        context->post = nullptr;
    }
    if (context->badForm) {
        return queue(connection,
                     jsonError(400, "InvalidUpload", "the multipart/form-data body is malformed"));
    }
    Request request;
    request.method = method;
    request.path = url;
    request.body = std::move(context->body);
    request.form = std::move(context->form);
    if (const auto* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD)) {
        request.connectionFd = info->connect_fd;
    }
    MHD_get_connection_values(connection, MHD_HEADER_KIND, &collect, &request.headers);
    MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, &collectQuery, &request.query);
    return queue(connection, dispatch_(request));
}

}  // namespace imagebuild::forwarder
