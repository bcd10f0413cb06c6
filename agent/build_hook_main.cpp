// imagebuild-build-hook VERB BUILD-DIR: the work systemd runs around a
// build, agent or no agent (agent/build_end.hpp):
//   submitted  send the submission mail, once (a transient unit the agent
//              starts right after Submit, so a slow mail server never holds
//              up the bus)
//   finished   stage the artifacts, send the final mail and post the final
//              record to the build's webhook, once each (the second
//              ExecStopPost= of the build unit, after the outcome recorder)
// Output lands in the build's own log. Exits 0 unless the build's record
// cannot be read: staging and mail never change a build's result.
#include <iostream>
#include <string_view>

#include "agent/build_end.hpp"
#include "common/build_id.hpp"
#include "common/build_log.hpp"
#include "common/config.hpp"

namespace {

int usage() {
    std::cerr << "usage: imagebuild-build-hook submitted|finished BUILD-DIR\n";
    return 2;
}

void printFinished(const imagebuild::agent::BuildEndReport& report) {
    std::cout << "imagebuild: build " << report.result << "; staged " << report.stagedFiles
              << " files; final mail " << report.mail << "; webhook " << report.webhook << "\n";
    for (const auto& problem : report.problems) {
        std::cout << "imagebuild: problem: " << problem << "\n";
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        return usage();
    }
    std::string_view verb = argv[1];
    if (verb != "submitted" && verb != "finished") {
        return usage();
    }
    try {
        auto config = imagebuild::loadConfig(imagebuild::defaultConfigPath());
        auto host = imagebuild::localHostName();
        if (verb == "submitted") {
            std::cout << "imagebuild: submission mail "
                      << imagebuild::agent::mailSubmitted(argv[2], config, host) << "\n";
        } else {
            printFinished(
                imagebuild::agent::finishBuild(argv[2], config, host, imagebuild::markLogEnd));
        }
    } catch (const std::exception& e) {
        std::cerr << "imagebuild-build-hook: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
