#include "forwarder/app.hpp"
#include "forwarder/routes.hpp"

namespace imagebuild::forwarder {
void registerMonitor(App&) {}
}  // namespace imagebuild::forwarder
