#include "forwarder/routes.hpp"

#include "forwarder/app.hpp"

namespace imagebuild::forwarder {

void registerRoutes(App& app) {
    registerHealth(app);
    registerMetrics(app);
    registerBuilds(app);
    registerRetry(app);
    registerHosts(app);
    registerStats(app);
    registerMonitor(app);
    registerArtifacts(app);
    registerKickstart(app);
    registerWeb(app);
    registerWhoami(app);
}

}  // namespace imagebuild::forwarder
