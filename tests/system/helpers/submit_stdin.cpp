// Submit with a kickstart read from stdin: busctl and gdbus take every
// argument on their command line, where one string may not exceed 128 KiB,
// so a kickstart over the agent's 1 MiB limit cannot reach it through them.
// Prints the id, or the D-Bus error as "NAME: message" (exit 1).
//
// usage: ib-test-submit-stdin TYPE ARCH RELEASE < KICKSTART
#include <sdbus-c++/sdbus-c++.h>

#include <iostream>
#include <iterator>
#include <map>
#include <string>

int main(int argc, char** argv) {
    if (argc != 4) {
        std::cerr << "usage: ib-test-submit-stdin TYPE ARCH RELEASE < KICKSTART\n";
        return 2;
    }
    std::string kickstart{std::istreambuf_iterator<char>(std::cin),
                          std::istreambuf_iterator<char>()};
    std::map<std::string, sdbus::Variant> spec = {{"type", sdbus::Variant(std::string(argv[1]))},
                                                  {"arch", sdbus::Variant(std::string(argv[2]))},
                                                  {"release", sdbus::Variant(std::string(argv[3]))},
                                                  {"kickstart", sdbus::Variant(kickstart)}};
    auto connection = sdbus::createSystemBusConnection();
    auto proxy = sdbus::createProxy(*connection, "org.imagebuild.Agent1", "/org/imagebuild/Agent1");
    proxy->finishRegistration();
    try {
        std::string id;
        sdbus::ObjectPath path;
        proxy->callMethod("Submit")
            .onInterface("org.imagebuild.BuildManager1")
            .withArguments(spec)
            .storeResultsTo(id, path);
        std::cout << id << "\n";
        return 0;
    } catch (const sdbus::Error& e) {
        std::cout << e.getName() << ": " << e.getMessage() << "\n";
        return 1;
    }
}
