#include "forwarder/log_budget.hpp"

#include <fmt/format.h>

#include <utility>

namespace imagebuild::forwarder {

std::optional<std::string> LogBudget::take(Clock::time_point now) {
    std::uint64_t notLogged = 0;
    {
        std::lock_guard lock(mutex_);
        if (now - second_ >= std::chrono::seconds(1)) {
            second_ = now;
            used_ = 0;
        }
        if (used_ >= perSecond_) {
            ++notLogged_;
            return std::nullopt;
        }
        ++used_;
        notLogged = std::exchange(notLogged_, 0);
    }
    return notLoggedSuffix(notLogged);
}

std::string notLoggedSuffix(std::uint64_t notLogged) {
    return notLogged == 0 ? std::string()
                          : fmt::format(" ({} more like it were not logged)", notLogged);
}

}  // namespace imagebuild::forwarder
