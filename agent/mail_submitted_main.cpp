// imagebuild-mail-submitted BUILD-DIR: sends a build's submission mail,
// once. The agent runs it as a transient unit right after Submit, so a slow
// mail server never holds up the bus.
#include <unistd.h>

#include <iostream>

#include "agent/build_end.hpp"
#include "common/config.hpp"
#include "imagebuild_config.h"

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: imagebuild-mail-submitted BUILD-DIR\n";
        return 2;
    }
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    try {
        auto config = imagebuild::loadConfig(std::string(IMAGEBUILD_SYSCONFDIR) +
                                             "/imagebuild/imagebuild.conf");
        std::cout << "imagebuild: submission mail "
                  << imagebuild::agent::mailSubmitted(argv[1], config, host) << "\n";
    } catch (const std::exception& e) {
        std::cerr << "imagebuild-mail-submitted: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
