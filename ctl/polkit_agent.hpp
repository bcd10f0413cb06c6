// polkit authentication on a terminal, as systemctl offers it: while alive,
// a pkttyagent answers polkit's questions for this process on the tty.
#pragma once

#include <sys/types.h>

namespace imagebuild::ctl {

class PolkitTtyAgent {
public:
    // Starts pkttyagent only when it can help: stdin is a terminal, we are
    // not root (root is always allowed), and pkttyagent is installed.
    PolkitTtyAgent();
    ~PolkitTtyAgent();
    PolkitTtyAgent(const PolkitTtyAgent&) = delete;
    PolkitTtyAgent& operator=(const PolkitTtyAgent&) = delete;

private:
    pid_t pid_ = -1;
};

}  // namespace imagebuild::ctl
