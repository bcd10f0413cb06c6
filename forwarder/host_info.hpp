// The forwarder's view of a build host is common's HostInfo (the JSON of
// GET /v1/hosts); nowUsec() stamps when a host last answered.
#pragma once

#include <cstdint>

#include "common/host_info.hpp"

namespace imagebuild::forwarder {

using imagebuild::HostInfo;

std::uint64_t nowUsec();

}  // namespace imagebuild::forwarder
