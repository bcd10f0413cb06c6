#include "forwarder/stats.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>

namespace imagebuild::forwarder {

namespace {

using json = nlohmann::json;

// The value at rank ceil(percent/100 * n) of sorted-in-place `values`.
std::uint64_t nearestRank(std::vector<std::uint64_t>& values, std::size_t percent) {
    auto rank = (percent * values.size() + 99) / 100;
    auto at = values.begin() + static_cast<std::ptrdiff_t>(std::max<std::size_t>(rank, 1) - 1);
    std::nth_element(values.begin(), at, values.end());
    return *at;
}

void addCounts(json& out, const std::map<std::string, std::uint64_t>& counts) {
    out = json::object();
    for (const auto& [key, n] : counts) {
        out[key] = n;
    }
}

// {"<key>": summary} for every key, samples grouped by `keyOf`.
template <typename KeyOf, typename Member>
json summariesBy(const auto& samples, KeyOf keyOf, Member member) {
    std::map<std::string, std::vector<std::uint64_t>> grouped;
    for (const auto& [hostType, s] : samples) {
        auto& into = grouped[keyOf(hostType)];
        const auto& from = s.*member;
        into.insert(into.end(), from.begin(), from.end());
    }
    json out = json::object();
    for (auto& [key, values] : grouped) {
        out[key] = summaryJson(summarize(std::move(values)));
    }
    return out;
}

bool isCountMap(const json& j) {
    return j.is_object() &&
           std::all_of(j.begin(), j.end(), [](const json& n) { return n.is_number_unsigned(); });
}

bool isSampleList(const json& j) {
    return j.is_array() &&
           std::all_of(j.begin(), j.end(), [](const json& n) { return n.is_number_unsigned(); });
}

bool validDay(const json& day) {
    return day.is_object() && day.contains("day") && day["day"].is_string() &&
           day.value("total", json()).is_number_unsigned() &&
           isCountMap(day.value("states", json())) &&
           isCountMap(day.value("failure_classes", json())) &&
           isCountMap(day.value("outcomes", json()));
}

bool validSample(const json& s) {
    return s.is_object() && s.value("host", json()).is_string() &&
           s.value("type", json()).is_string() &&
           isSampleList(s.value("queue_wait_usec", json())) &&
           isSampleList(s.value("duration_usec", json()));
}

void addNames(std::vector<std::string>& into, const json& names) {
    if (!names.is_array()) {
        return;
    }
    for (const auto& name : names) {
        if (name.is_string() &&
            std::find(into.begin(), into.end(), name.get<std::string>()) == into.end()) {
            into.push_back(name.get<std::string>());
        }
    }
}

}  // namespace

StatsWindow statsWindow(unsigned days, std::uint64_t nowUsec) {
    StatsWindow w;
    w.days = std::clamp(days, 1u, kMaxStatsDays);
    w.nowUsec = nowUsec;
    auto today = nowUsec / kUsecPerDay;
    w.fromUsec = (today >= w.days - 1 ? today - (w.days - 1) : 0) * kUsecPerDay;
    return w;
}

std::string utcDay(std::uint64_t usec) {
    auto seconds = static_cast<std::time_t>(usec / 1'000'000);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    return fmt::format("{:04}-{:02}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

Summary summarize(std::vector<std::uint64_t> values) {
    Summary s;
    s.count = values.size();
    if (values.empty()) {
        return s;
    }
    s.max = *std::max_element(values.begin(), values.end());
    s.p90 = nearestRank(values, 90);
    s.median = nearestRank(values, 50);
    return s;
}

json summaryJson(const Summary& summary) {
    if (summary.count == 0) {
        return json{
            {"count", 0}, {"median_usec", nullptr}, {"p90_usec", nullptr}, {"max_usec", nullptr}};
    }
    return json{{"count", summary.count},
                {"median_usec", summary.median},
                {"p90_usec", summary.p90},
                {"max_usec", summary.max}};
}

StatsPart::StatsPart(const StatsWindow& window) : window_(window) {
    for (unsigned i = 0; i < window_.days; ++i) {
        dayNames_.push_back(utcDay(window_.fromUsec + i * kUsecPerDay));
        days_[dayNames_.back()];
    }
}

void StatsPart::add(const BuildInfo& build) {
    if (!window_.contains(build.submittedAt)) {
        return;
    }
    auto day = days_.find(utcDay(build.submittedAt));
    if (day == days_.end()) {
        return;  // submitted after today (a clock ahead of ours)
    }
    auto& counts = day->second;
    ++counts.total;
    ++counts.states[build.state];
    if (!build.failureClass.empty()) {
        ++counts.failureClasses[build.failureClass];
    }
    ++counts.outcomes[build.failureClass.empty() ? build.state
                                                 : build.state + ":" + build.failureClass];
    auto& samples = samples_[{build.host, build.type}];
    if (build.startedAt != 0 && build.startedAt >= build.submittedAt) {
        samples.queueWait.push_back(build.startedAt - build.submittedAt);
    }
    if (build.startedAt != 0 && build.finishedAt >= build.startedAt) {
        samples.duration.push_back(build.finishedAt - build.startedAt);
    }
}

void StatsPart::answered(const std::string& host) {
    addNames(hosts_, json::array({host}));
}

void StatsPart::unreachable(const std::string& host) {
    addNames(unreachable_, json::array({host}));
}

bool StatsPart::merge(const json& part) {
    if (!part.is_object() || !part.contains("per_day") || !part["per_day"].is_array() ||
        !part.contains("samples") || !part["samples"].is_array() ||
        !std::all_of(part["per_day"].begin(), part["per_day"].end(), validDay) ||
        !std::all_of(part["samples"].begin(), part["samples"].end(), validSample)) {
        return false;
    }
    for (const auto& day : part["per_day"]) {
        auto mine = days_.find(day["day"].get<std::string>());
        if (mine == days_.end()) {
            continue;  // the peer's day, not ours (its clock, or another window)
        }
        mine->second.total += day["total"].get<std::uint64_t>();
        for (const auto& [key, n] : day["states"].items()) {
            mine->second.states[key] += n.get<std::uint64_t>();
        }
        for (const auto& [key, n] : day["failure_classes"].items()) {
            mine->second.failureClasses[key] += n.get<std::uint64_t>();
        }
        for (const auto& [key, n] : day["outcomes"].items()) {
            mine->second.outcomes[key] += n.get<std::uint64_t>();
        }
    }
    for (const auto& s : part["samples"]) {
        auto& into = samples_[{s["host"].get<std::string>(), s["type"].get<std::string>()}];
        for (const auto& v : s["queue_wait_usec"]) {
            into.queueWait.push_back(v.get<std::uint64_t>());
        }
        for (const auto& v : s["duration_usec"]) {
            into.duration.push_back(v.get<std::uint64_t>());
        }
    }
    addNames(hosts_, part.value("hosts", json()));
    addNames(unreachable_, part.value("unreachable", json()));
    return true;
}

json StatsPart::answerJson() const {
    json perDay = json::array();
    for (const auto& name : dayNames_) {
        const auto& counts = days_.at(name);
        json day{{"day", name}, {"total", counts.total}};
        addCounts(day["states"], counts.states);
        addCounts(day["failure_classes"], counts.failureClasses);
        addCounts(day["outcomes"], counts.outcomes);
        perDay.push_back(std::move(day));
    }
    auto host = [](const HostType& k) {
        return k.first;
    };
    auto type = [](const HostType& k) {
        return k.second;
    };
    return json{
        {"days", window_.days},
        {"from", window_.fromUsec},
        {"to", window_.nowUsec},
        {"per_day", std::move(perDay)},
        {"queue_wait",
         {{"per_type", summariesBy(samples_, type, &Samples::queueWait)},
          {"per_host", summariesBy(samples_, host, &Samples::queueWait)}}},
        {"duration",
         {{"per_type", summariesBy(samples_, type, &Samples::duration)},
          {"per_host", summariesBy(samples_, host, &Samples::duration)}}},
        {"hosts", hosts_},
        {"unreachable", unreachable_},
    };
}

json StatsPart::partJson() const {
    auto out = answerJson();
    json samples = json::array();
    for (const auto& [hostType, s] : samples_) {
        samples.push_back({{"host", hostType.first},
                           {"type", hostType.second},
                           {"queue_wait_usec", s.queueWait},
                           {"duration_usec", s.duration}});
    }
    out["samples"] = std::move(samples);
    return out;
}

}  // namespace imagebuild::forwarder
