// One register function per resource; routes.cpp calls them all.
#pragma once

namespace imagebuild::forwarder {

class App;

void registerHealth(App& app);
void registerMetrics(App& app);
void registerBuilds(App& app);
void registerRetry(App& app);
void registerHosts(App& app);
void registerMonitor(App& app);
void registerArtifacts(App& app);
void registerKickstart(App& app);
void registerWeb(App& app);
void registerWhoami(App& app);
void registerStats(App& app);

}  // namespace imagebuild::forwarder
