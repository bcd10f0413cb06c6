#include "forwarder/log_budget.hpp"

#include <fmt/format.h>

namespace imagebuild::forwarder {

bool LogBudget::take(std::uint64_t& notLogged, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    if (now - second_ >= std::chrono::seconds(1)) {
        second_ = now;
        used_ = 0;
    }
    if (used_ >= perSecond_) {
        ++notLogged_;
        return false;
    }
    ++used_;
    notLogged = notLogged_;
    notLogged_ = 0;
    return true;
}

std::string notLoggedSuffix(std::uint64_t notLogged) {
    return notLogged == 0 ? std::string()
                          : fmt::format(" ({} more like it were not logged)", notLogged);
}

}  // namespace imagebuild::forwarder
