#include "forwarder/stream_pump.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>
#include <utility>

#include "forwarder/log.hpp"

namespace imagebuild::forwarder {

namespace {

// What a worker asks of the source at once, into a buffer on its stack.
constexpr std::size_t kPumpReadBytes = 32 * 1024;

// Shared by the loop's reader and the worker reading ahead (which keeps it
// alive while it reads, after the reader is gone).
class Pump : public std::enable_shared_from_this<Pump> {
public:
    Pump(BodyStream source, std::shared_ptr<StreamParking> parking, PumpWorkers workers,
         std::size_t capacity)
        : source_(std::move(source)),
          parking_(std::move(parking)),
          workers_(std::move(workers)),
          capacity_(capacity) {}

    long read(char* buffer, std::size_t max);
    // The reader is gone: the worker stops at its next look.
    void cancel();

private:
    enum class Source { Open, Ended, Broken };

    void fill();
    long take(char* buffer, std::size_t max);  // under mutex_
    std::size_t buffered() const { return bytes_.size() - head_; }

    BodyStream source_;  // the worker's only
    std::shared_ptr<StreamParking> parking_;
    PumpWorkers workers_;
    std::size_t capacity_;
    std::mutex mutex_;
    std::string bytes_;  // read ahead; taken from head_ on
    std::size_t head_ = 0;
    Source state_ = Source::Open;  // of the source
    bool filling_ = false;         // a worker reads ahead, or is posted to
    bool cancelled_ = false;
};

long Pump::take(char* buffer, std::size_t max) {
    std::size_t n = std::min(max, buffered());
    std::memcpy(buffer, bytes_.data() + head_, n);
    head_ += n;
    if (head_ == bytes_.size()) {
        bytes_.clear();
        head_ = 0;
    }
    return static_cast<long>(n);
}

// Parks under the lock, and the worker unparks after adding under it: bytes
// added after the look find the connection parked, and unpark it.
long Pump::read(char* buffer, std::size_t max) {
    long n = 0;
    bool post = false;
    {
        std::lock_guard lock(mutex_);
        if (buffered() > 0) {
            n = take(buffer, max);
        } else if (state_ == Source::Ended) {
            return kStreamEnd;
        } else if (state_ == Source::Broken) {
            return kStreamBroken;
        } else {
            parking_->park();
        }
        // Half empty: read on while the loop sends the rest.
        post = state_ == Source::Open && !filling_ && buffered() <= capacity_ / 2;
        filling_ = filling_ || post;
    }
    if (post && !workers_.post([pump = shared_from_this()] { pump->fill(); })) {
        {
            std::lock_guard lock(mutex_);
            state_ = Source::Broken;
            filling_ = false;
        }
        parking_->unpark();
    }
    return n;
}

void Pump::cancel() {
    std::lock_guard lock(mutex_);
    cancelled_ = true;
    std::string().swap(bytes_);
    head_ = 0;
}

// On a worker: reads until the buffer is full, the source ends or the
// reader is gone, then gives the thread back (the reader posts again).
void Pump::fill() {
    std::array<char, kPumpReadBytes> chunk;
    for (;;) {
        std::size_t room = 0;
        {
            std::lock_guard lock(mutex_);
            room = cancelled_ ? 0 : capacity_ - std::min(capacity_, buffered());
            if (room == 0) {
                filling_ = false;
                return;
            }
        }
        long n = kStreamBroken;
        if (!workers_.stopping()) {
            try {
                n = source_(chunk.data(), std::min(room, chunk.size()));
            } catch (const std::exception& e) {
                log::error("a streamed answer broke: {}", e.what());
            }
        }
        auto next = n == kStreamEnd ? Source::Ended : n < 0 ? Source::Broken : Source::Open;
        {
            std::lock_guard lock(mutex_);
            if (n > 0 && !cancelled_) {
                if (head_ > 0 && bytes_.size() + n > capacity_) {
                    bytes_.erase(0, head_);
                    head_ = 0;
                }
                bytes_.append(chunk.data(), n);
            }
            state_ = next;
            filling_ = next == Source::Open;
        }
        parking_->unpark();
        if (next != Source::Open) {
            return;
        }
    }
}

// Cancels the pump when the last copy of the stream is gone.
struct PumpReader {
    std::shared_ptr<Pump> pump;
    explicit PumpReader(std::shared_ptr<Pump> p) : pump(std::move(p)) {}
    ~PumpReader() { pump->cancel(); }
    PumpReader(const PumpReader&) = delete;
    PumpReader& operator=(const PumpReader&) = delete;
};

}  // namespace

BodyStream pumpedStream(BodyStream source, std::shared_ptr<StreamParking> parking,
                        PumpWorkers workers, std::size_t bufferBytes) {
    auto reader = std::make_shared<PumpReader>(std::make_shared<Pump>(
        std::move(source), std::move(parking), std::move(workers), bufferBytes));
    return [reader](char* buffer, std::size_t max) {
        return reader->pump->read(buffer, max);
    };
}

}  // namespace imagebuild::forwarder
