// The forwarder's view of a build host is common's HostInfo (the JSON of
// GET /v1/hosts).
#pragma once

#include "common/host_info.hpp"

namespace imagebuild::forwarder {

using imagebuild::HostInfo;

}  // namespace imagebuild::forwarder
