// Where a local build list comes from (local_agent.cpp's listEach): the
// agent, or the list the forwarder keeps (agent_list_cache.hpp). Decided in
// two steps, as the knowledge comes: before the kept list's one round trip
// to the agent, then with its answer. Pure, so that every case is tested
// without a bus.
#pragma once

#include "common/list_builds.hpp"

namespace imagebuild::forwarder {

enum class ListSource {
    AgentPage,       // ask the agent for the page: it walks only to it
    CheckKeptRows,   // make the round trip, then sourceWithRows() decides
    KeptRows,        // the kept list is true: answer from it
    ReadAllAndKeep,  // no true kept list; the whole list asked: read it, keep it
    AgentFiltered,   // no true kept list; a filtered list asked: ask the agent, keep nothing
};

// Before the round trip. Without a kept list a page is asked at once:
// checking whether a list is still true would cost a call for nothing.
ListSource sourceBeforeCheck(const BuildListFilter& filter, bool holdsRows);

// After it: `rowsTrue` when the kept list is still what the agent holds.
ListSource sourceWithRows(const BuildListFilter& filter, bool rowsTrue);

}  // namespace imagebuild::forwarder
