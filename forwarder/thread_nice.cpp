#include "forwarder/thread_nice.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "forwarder/log.hpp"

namespace imagebuild::forwarder {

void lowerThisThreadForStreams() {
    // On Linux, PRIO_PROCESS with a thread id sets that thread's nice only.
    if (setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), kStreamThreadNice) == 0) {
        return;
    }
    static std::atomic<bool> said{false};
    if (!said.exchange(true)) {
        log::warning("cannot lower the priority of the stream threads: {}", std::strerror(errno));
    }
}

}  // namespace imagebuild::forwarder
