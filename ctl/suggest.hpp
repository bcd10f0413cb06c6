// "Did you mean ...?" for mistyped verbs and options.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace imagebuild::ctl {

// Edit distance with adjacent transpositions (optimal string alignment), so
// "lsit" is one edit from "list".
std::size_t editDistance(const std::string& a, const std::string& b);

// The candidate closest to word, if it is close enough to be what was meant:
// a unique prefix, or at most 1 edit for short words, 2 for longer ones.
std::optional<std::string> closestMatch(const std::string& word,
                                        const std::vector<std::string>& candidates);

}  // namespace imagebuild::ctl
