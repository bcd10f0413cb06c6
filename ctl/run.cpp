// Everything main() does: parse, choose the transport, run the verb, and
// turn every failure into one sentence on stderr and an exit code.
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "ctl/ctl_error.hpp"
#include "ctl/terminal.hpp"
#include "ctl/verbs.hpp"

namespace imagebuild::ctl {

namespace {

std::string trim(std::string s) {
    auto end = s.find_last_not_of(" \t\r\n");
    s.erase(end == std::string::npos ? 0 : end + 1);
    return s;
}

// --token-file wins over $IMAGEBUILD_TOKEN; a named file that cannot be read
// is an error, never a silent unauthenticated request.
std::string bearerToken(const GlobalOptions& global) {
    if (!global.tokenFile.empty()) {
        std::ifstream in(global.tokenFile);
        if (!in) {
            throw CtlError(kExitUsage, fmt::format("{}: cannot read the token file: {}",
                                                   global.tokenFile, std::strerror(errno)));
        }
        std::ostringstream text;
        text << in.rdbuf();
        return trim(text.str());
    }
    const char* env = std::getenv("IMAGEBUILD_TOKEN");
    return env ? trim(env) : std::string();
}

int dispatch(Session& session, const Invocation& inv) {
    switch (inv.verb) {
        case Verb::kBuild:
            return verbBuild(session, inv.build);
        case Verb::kList:
            return verbList(session, inv.list);
        case Verb::kStatus:
            return verbStatus(session, inv.statusId);
        case Verb::kLog:
            return verbLog(session, inv.log);
        case Verb::kCancel:
            return verbCancel(session, inv.ids);
        case Verb::kRetry:
            return verbRetry(session, inv.retry);
        case Verb::kPin:
            return verbPin(session, inv.ids, true);
        case Verb::kUnpin:
            return verbPin(session, inv.ids, false);
        case Verb::kWait:
            return verbWait(session, inv.ids);
        case Verb::kShow:
            return verbShow(session, inv.show);
        case Verb::kArtifacts:
            return verbArtifacts(session, inv.artifacts);
        case Verb::kHosts:
            return verbHosts(session);
        case Verb::kKsflatten: {
            auto options = inv.ksflatten;
            options.json = inv.global.json;
            return runKsflatten(options);
        }
        case Verb::kToken:
            return runTokenNew(inv.token);
    }
    throw CtlError(kExitUsage, "This verb is not available in this build of imagebuildctl");
}

}  // namespace

Session::Session(const GlobalOptions& global) : global_(global) {
    output_.json = global.json;
    output_.legend = !global.noLegend;
    output_.quiet = global.quiet;
    output_.colors = colorsEnabled();
}

Backend& Session::backend() {
    if (!backend_) {
        if (remote()) {
            backend_ = makeHttpBackend(global_.host, bearerToken(global_));
        } else {
            bool interactive = !global_.noAskPassword && isatty(STDIN_FILENO) == 1;
            backend_ = makeDbusBackend(interactive);
        }
    }
    return *backend_;
}

int run(const std::vector<std::string>& args) {
    auto parsed = parseArguments(args);
    std::cout << parsed.out << std::flush;
    std::cerr << parsed.err << std::flush;
    if (!parsed.invocation) {
        return parsed.exitCode;
    }
    try {
        Session session(parsed.invocation->global);
        int code = dispatch(session, *parsed.invocation);
        std::fflush(stdout);
        return code;
    } catch (const CtlError& e) {
        std::fflush(stdout);
        fmt::print(stderr, "{}\n", e.what());
        return e.exitCode();
    } catch (const std::exception& e) {
        // A bug, not a user error: say so, with what we know.
        std::fflush(stdout);
        fmt::print(stderr, "imagebuildctl failed unexpectedly: {}\n", e.what());
        return kExitFailure;
    }
}

}  // namespace imagebuild::ctl
