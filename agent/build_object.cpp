#include "agent/build_object.hpp"

#include "common/build_id.hpp"

namespace imagebuild::agent {

BuildObject::BuildObject(sdbus::IConnection& connection, const BuildRecord& record,
                         BuildOwner& owner, bool announce)
    : AdaptorInterfaces(connection, buildObjectPath(record.id)), record_(record), owner_(owner) {
    registerAdaptor();
    if (announce) {
        emitInterfacesAddedSignal({org::imagebuild::Build1_adaptor::INTERFACE_NAME});
    }
}

BuildObject::~BuildObject() {
    unregisterAdaptor();
}

void BuildObject::changed(const std::vector<std::string>& properties) {
    emitPropertiesChangedSignal(org::imagebuild::Build1_adaptor::INTERFACE_NAME, properties);
}

void BuildObject::Cancel(sdbus::Result<>&& result) {
    owner_.cancelBuild(record_.id, std::move(result), *getObject().getCurrentlyProcessedMessage());
}

void BuildObject::SetPinned(sdbus::Result<>&& result, bool pinned) {
    owner_.setPinned(record_.id, pinned, std::move(result),
                     *getObject().getCurrentlyProcessedMessage());
}

void BuildObject::GetKickstart(sdbus::Result<std::string>&& result) {
    owner_.readKickstart(record_.id, std::move(result),
                         *getObject().getCurrentlyProcessedMessage());
}

std::vector<sdbus::Struct<std::string, std::string, uint64_t, std::string>>
BuildObject::Artifacts() {
    std::vector<sdbus::Struct<std::string, std::string, uint64_t, std::string>> out;
    for (const auto& a : record_.artifacts) {
        out.emplace_back(a.name, a.path, a.size, a.sha256);
    }
    return out;
}

std::vector<sdbus::Struct<uint32_t, std::string, std::string, std::string, uint64_t, uint64_t>>
BuildObject::Attempts() {
    std::vector<BuildAttemptTuple> out;
    for (const auto& a : record_.attempts) {
        out.push_back(toTuple(a));
    }
    return out;
}

}  // namespace imagebuild::agent
