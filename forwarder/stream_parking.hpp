// A streamed answer served from an event loop never blocks: when it has
// nothing to send it parks its connection (the loop then leaves it alone and
// holds no thread for it) and returns 0; whoever has more for it later
// unparks it, and the loop asks the stream again. Both loops give every
// request one; a request without one (a route's unit test) may block.
#pragma once

namespace imagebuild::forwarder {

class StreamParking {
public:
    virtual ~StreamParking() = default;
    // From the stream's own read, before it returns 0.
    virtual void park() = 0;
    // From any thread; nothing if the connection is not parked (or gone).
    virtual void unpark() = 0;
};

}  // namespace imagebuild::forwarder
