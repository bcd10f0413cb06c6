#include "forwarder/listen_socket.hpp"

#include <fmt/format.h>
#include <netdb.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "forwarder/config.hpp"

namespace imagebuild::forwarder {

UniqueFd takeListenSocket(const std::string& fallbackAddress) {
    int n = sd_listen_fds(1);
    if (n < 0) {
        throw std::runtime_error(fmt::format("sd_listen_fds: {}", std::strerror(-n)));
    }
    if (n == 0) {
        return bindListenSocket(fallbackAddress);
    }
    if (n > 1) {
        throw std::runtime_error(fmt::format("got {} sockets from systemd, expected one", n));
    }
    int fd = SD_LISTEN_FDS_START;
    if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
        throw std::runtime_error("the socket from systemd is not a listening stream socket");
    }
    return UniqueFd(fd);
}

UniqueFd bindListenSocket(const std::string& address) {
    auto [host, port] = splitHostPort(address);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    auto portText = std::to_string(port);
    if (int rc = getaddrinfo(host.c_str(), portText.c_str(), &hints, &found); rc != 0) {
        throw std::runtime_error(fmt::format("{}: {}", address, gai_strerror(rc)));
    }
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(found, freeaddrinfo);
    UniqueFd fd(socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) {
        throw std::runtime_error(fmt::format("socket: {}", std::strerror(errno)));
    }
    int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd.get(), found->ai_addr, found->ai_addrlen) < 0 || listen(fd.get(), 128) < 0) {
        throw std::runtime_error(fmt::format("{}: {}", address, std::strerror(errno)));
    }
    return fd;
}

}  // namespace imagebuild::forwarder
