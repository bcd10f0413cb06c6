#include "forwarder/app.hpp"
#include "forwarder/routes.hpp"

namespace imagebuild::forwarder {
void registerArtifacts(App&) {}
}  // namespace imagebuild::forwarder
