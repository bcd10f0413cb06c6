// libmicrohttpd 0.9.75 sets TCP_CORK on a connection's socket while it
// sends a file with sendfile() and lifts it after the last piece. Measured
// here, that cork is what held an artifact download under nginx's (which
// does not cork: tcp_nopush off): the same installed forwarder, with and
// without it, took turns against nginx in one sandbox host (2026-12-04):
// 0.59x, 0.74x corked; 0.76x, 0.94x, 1.08x, 0.99x not. libmicrohttpd has
// no option for it, so the forwarder's executable defines setsockopt(),
// which the dynamic linker binds libmicrohttpd's calls to (a symbol a
// shared library uses and the executable defines is the executable's): a
// request for TCP_CORK is reported done and not made; every other option
// goes to the kernel as asked. Linked into the executable only (a static
// library's member would be linked only if something needed it first).
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

extern "C" int setsockopt(int fd, int level, int name, const void* value,
                          socklen_t length) noexcept {
    if (level == IPPROTO_TCP && name == TCP_CORK) {
        return 0;
    }
    return static_cast<int>(syscall(SYS_setsockopt, fd, level, name, value, length));
}
