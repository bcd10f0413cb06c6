#include "forwarder/list_source.hpp"

namespace imagebuild::forwarder {

namespace {

bool isPage(const BuildListFilter& filter) {
    return filter.limit || filter.before.index() != 0 || filter.after.index() != 0;
}

}  // namespace

ListSource sourceBeforeCheck(const BuildListFilter& filter, bool holdsRows) {
    return isPage(filter) && !holdsRows ? ListSource::AgentPage : ListSource::CheckKeptRows;
}

ListSource sourceWithRows(const BuildListFilter& filter, bool rowsTrue) {
    if (rowsTrue) {
        return ListSource::KeptRows;
    }
    return filter.empty() ? ListSource::ReadAllAndKeep : ListSource::AgentFiltered;
}

}  // namespace imagebuild::forwarder
