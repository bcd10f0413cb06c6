// imagebuild-end-of-build BUILD-DIR: the second ExecStopPost= of every build
// unit (after imagebuild-record-result): stages the build's artifacts and
// sends its final mail, once, without the agent. Its output lands in the
// build's own log (the unit's LogExtraFields tag it). Exits 0 unless the
// build's record cannot be read: staging and mail never change a result.
#include <unistd.h>

#include <iostream>

#include "agent/build_end.hpp"
#include "common/config.hpp"
#include "imagebuild_config.h"

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: imagebuild-end-of-build BUILD-DIR\n";
        return 2;
    }
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    try {
        auto config = imagebuild::loadConfig(std::string(IMAGEBUILD_SYSCONFDIR) +
                                             "/imagebuild/imagebuild.conf");
        auto report = imagebuild::agent::finishBuild(argv[1], config, host);
        std::cout << "imagebuild: build " << report.result << "; staged " << report.stagedFiles
                  << " files; final mail " << report.mail << "\n";
        for (const auto& problem : report.problems) {
            std::cout << "imagebuild: problem: " << problem << "\n";
        }
    } catch (const std::exception& e) {
        std::cerr << "imagebuild-end-of-build: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
