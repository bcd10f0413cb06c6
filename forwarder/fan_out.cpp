#include "forwarder/fan_out.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

namespace imagebuild::forwarder {

void forEachConcurrently(std::size_t count, std::size_t maxThreads,
                         const std::function<void(std::size_t)>& task) {
    std::atomic<std::size_t> next{0};
    std::mutex failureMutex;
    std::exception_ptr failure;
    // Each thread takes the next index until none is left, so a slow peer
    // holds up one thread, not a batch.
    auto work = [&] {
        for (auto i = next++; i < count; i = next++) {
            try {
                task(i);
            } catch (...) {
                std::lock_guard lock(failureMutex);
                if (!failure) {
                    failure = std::current_exception();
                }
            }
        }
    };
    std::vector<std::jthread> helpers;
    auto extra = std::min(count, std::max<std::size_t>(maxThreads, 1)) - (count > 0 ? 1 : 0);
    helpers.reserve(extra);
    for (std::size_t t = 0; t < extra; ++t) {
        try {
            helpers.emplace_back(work);
        } catch (const std::system_error&) {
            break;  // no thread to be had (TasksMax): the caller's does the rest
        }
    }
    work();
    helpers.clear();  // joins
    if (failure) {
        std::rethrow_exception(failure);
    }
}

}  // namespace imagebuild::forwarder
