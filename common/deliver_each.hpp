// Handing a loop's finished work to its callbacks, none lost to one that
// throws: the exception goes on to the loop's caller, and what came after
// it waits for the next delivery. HttpLoopClient and the forwarder's
// AgentOnLoop deliver their answers (and the agent's signals) this way.
#pragma once

#include <cstddef>
#include <iterator>
#include <vector>

namespace imagebuild {

// Calls `call` on each of `items` in order. If one throws, the items after
// it go to the front of `rest` (ahead of whatever came meanwhile), and the
// exception goes on.
template <class T, class Call>
void deliverEach(std::vector<T>& items, std::vector<T>& rest, Call&& call) {
    for (std::size_t i = 0; i < items.size(); ++i) {
        try {
            call(items[i]);
        } catch (...) {
            rest.insert(rest.begin(), std::make_move_iterator(items.begin() + i + 1),
                        std::make_move_iterator(items.end()));
            throw;
        }
    }
}

}  // namespace imagebuild
