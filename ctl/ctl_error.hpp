// The one exception imagebuildctl's verbs throw: a sentence for a person and
// the exit code (exit_codes.hpp) it stands for. main() prints the sentence;
// nothing else ever reaches the user as a raw what().
#pragma once

#include <stdexcept>
#include <string>

#include "common/exit_codes.hpp"

namespace imagebuild::ctl {

class CtlError : public std::runtime_error {
public:
    CtlError(int exitCode, const std::string& message)
        : std::runtime_error(message), exitCode_(exitCode) {}
    int exitCode() const { return exitCode_; }

private:
    int exitCode_;
};

}  // namespace imagebuild::ctl
