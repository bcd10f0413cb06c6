#include "ctl/suggest.hpp"

#include <algorithm>

namespace imagebuild::ctl {

std::size_t editDistance(const std::string& a, const std::string& b) {
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); ++i) {
        d[i][0] = i;
    }
    for (std::size_t j = 0; j <= b.size(); ++j) {
        d[0][j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
            }
        }
    }
    return d[a.size()][b.size()];
}

std::optional<std::string> closestMatch(const std::string& word,
                                        const std::vector<std::string>& candidates) {
    std::vector<std::string> prefixed;
    std::copy_if(candidates.begin(), candidates.end(), std::back_inserter(prefixed),
                 [&](const std::string& c) { return word.size() >= 2 && c.rfind(word, 0) == 0; });
    if (prefixed.size() == 1) {
        return prefixed.front();
    }
    // Leading dashes are not letters a person mistyped: measure the names.
    auto bare = [](const std::string& s) {
        return s.substr(s.find_first_not_of('-') == std::string::npos ? s.size()
                                                                      : s.find_first_not_of('-'));
    };
    std::size_t limit = bare(word).size() <= 4 ? 1 : 2;
    std::optional<std::string> best;
    std::size_t bestDistance = limit + 1;
    for (const auto& c : candidates) {
        auto distance = editDistance(bare(word), bare(c));
        if (distance < bestDistance) {
            best = c;
            bestDistance = distance;
        }
    }
    return best;
}

}  // namespace imagebuild::ctl
