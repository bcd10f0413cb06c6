#include "agent/build_registry.hpp"

#include <algorithm>

namespace imagebuild::agent {

void BuildRegistry::load(const StateStore::CorruptHandler& onCorrupt) {
    records_.clear();
    order_.clear();
    for (auto& record : store_.loadAll(onCorrupt)) {
        auto id = record.id;
        auto& kept = records_.emplace(id, std::move(record)).first->second;
        order_.push_back(&kept);
    }
}

BuildRecord& BuildRegistry::create(BuildRecord record, const std::string& kickstart) {
    store_.create(record, kickstart);
    auto id = record.id;
    auto& kept = records_.insert_or_assign(id, std::move(record)).first->second;
    order_.push_back(&kept);
    return kept;
}

void BuildRegistry::remove(const std::string& id) {
    auto it = records_.find(id);
    if (it == records_.end()) {
        return;
    }
    store_.remove(id);
    order_.erase(std::remove(order_.begin(), order_.end(), &it->second), order_.end());
    records_.erase(it);
}

BuildRecord* BuildRegistry::find(const std::string& id) {
    auto it = records_.find(id);
    return it == records_.end() ? nullptr : &it->second;
}

const BuildRecord* BuildRegistry::find(const std::string& id) const {
    auto it = records_.find(id);
    return it == records_.end() ? nullptr : &it->second;
}

BuildRecord* BuildRegistry::findByUnit(const std::string& unit) {
    const std::string prefix = "imagebuild-", suffix = ".service";
    if (unit.size() <= prefix.size() + suffix.size() || unit.rfind(prefix, 0) != 0 ||
        unit.compare(unit.size() - suffix.size(), suffix.size(), suffix) != 0) {
        return nullptr;
    }
    return find(unit.substr(prefix.size(), unit.size() - prefix.size() - suffix.size()));
}

}  // namespace imagebuild::agent
