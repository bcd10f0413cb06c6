#include "forwarder/wait_groups.hpp"

#include <utility>

namespace imagebuild::forwarder {

void WaitGroups::run(const WaitGroup& group, std::function<void()> job, const Post& post) {
    if (group.name.empty() || group.cap == 0) {
        post(std::move(job));
        return;
    }
    {
        std::lock_guard lock(mutex_);
        auto& state = groups_[group.name];
        if (state.running >= group.cap) {
            state.waiting.push_back(std::move(job));
            return;
        }
        ++state.running;
    }
    auto wrapped = counted(group.name, std::move(job));
    if (!post(wrapped)) {
        wrapped();
    }
}

std::size_t WaitGroups::waiting(const std::string& name) {
    std::lock_guard lock(mutex_);
    auto it = groups_.find(name);
    return it == groups_.end() ? 0 : it->second.waiting.size();
}

std::function<void()> WaitGroups::counted(const std::string& name, std::function<void()> job) {
    return [this, name, job = std::move(job)] {
        job();
        ended(name);
    };
}

// A job of the group ended: the next waiting takes its place (the count
// stays), or the group has one running fewer. When the server stops, the
// jobs waiting run here one after the other (each answers at once).
void WaitGroups::ended(const std::string& name) {
    for (;;) {
        std::function<void()> next;
        {
            std::lock_guard lock(mutex_);
            auto it = groups_.find(name);
            if (it->second.waiting.empty()) {
                if (--it->second.running == 0) {
                    groups_.erase(it);
                }
                return;
            }
            next = std::move(it->second.waiting.front());
            it->second.waiting.pop_front();
        }
        if (post_(counted(name, next))) {
            return;
        }
        next();
    }
}

}  // namespace imagebuild::forwarder
