#include "agent/config_invalid_manager.hpp"

#include "common/dbus_names.hpp"
#include "imagebuild_config.h"

namespace imagebuild::agent {

ConfigInvalidManager::ConfigInvalidManager(sdbus::IConnection& connection, std::string hostname,
                                           std::string problem)
    : AdaptorInterfaces(connection, dbus_names::kManagerPath),
      hostname_(std::move(hostname)),
      problem_(std::move(problem)) {
    registerAdaptor();
}

ConfigInvalidManager::~ConfigInvalidManager() {
    unregisterAdaptor();
}

sdbus::Error ConfigInvalidManager::error() const {
    return sdbus::Error(dbus_names::error::kConfigInvalid,
                        "the imagebuild agent's configuration is invalid: " + problem_ +
                            " (fix it and check with imagebuild-agent --check-config)");
}

void ConfigInvalidManager::refuse() {
    lastActivity_ = std::chrono::steady_clock::now();
    throw error();
}

std::string ConfigInvalidManager::Version() {
    return IMAGEBUILD_VERSION;
}

void ConfigInvalidManager::Submit(SubmitReply&& result, std::map<std::string, sdbus::Variant>) {
    refuse(result);
}

std::vector<BuildListRow> ConfigInvalidManager::ListBuilds(
    const std::map<std::string, sdbus::Variant>&) {
    refuse();
}

sdbus::ObjectPath ConfigInvalidManager::GetBuild(const std::string&) {
    refuse();
}

void ConfigInvalidManager::Retry(SubmitReply&& result, std::string,
                                 std::map<std::string, sdbus::Variant>) {
    refuse(result);
}

void ConfigInvalidManager::CancelBuild(sdbus::Result<>&& result, std::string) {
    refuse(result);
}

void ConfigInvalidManager::Cleanup(sdbus::Result<std::vector<std::string>>&& result) {
    refuse(result);
}

}  // namespace imagebuild::agent
