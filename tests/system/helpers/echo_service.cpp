// A minimal bus-activatable service: the sandbox smoke test installs it into
// a host and proves that the host's real bus starts it on the first call.
#include <sdbus-c++/sdbus-c++.h>

#include <string>

int main() {
    auto connection = sdbus::createSystemBusConnection();
    auto object = sdbus::createObject(*connection, "/org/imagebuild/TestEcho");
    object->registerMethod("Echo")
        .onInterface("org.imagebuild.TestEcho")
        .implementedAs([](const std::string& text) { return text; });
    object->finishRegistration();
    // The name last: once the bus sees it, calls may arrive.
    connection->requestName("org.imagebuild.TestEcho");
    connection->enterEventLoop();
}
