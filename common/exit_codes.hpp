// imagebuildctl's exit codes: documented in imagebuildctl(1), stable. In
// common because the error table (error_table.hpp) names the exit code of
// every error, whichever boundary it crosses.
#pragma once

namespace imagebuild {

enum ExitCode : int {
    kExitOk = 0,
    kExitFailure = 1,  // the build failed, or a generic failure
    kExitUsage = 2,
    kExitNotFound = 3,
    kExitAccessDenied = 4,
    kExitUnreachable = 5,  // agent or host not running / not reachable
    kExitCancelled = 6,
    kExitTimedOut = 7,
    kExitNoSpace = 8,        // the host's disk is full or below min_free
    kExitConfigInvalid = 9,  // the agent's configuration file is invalid
};

}  // namespace imagebuild
