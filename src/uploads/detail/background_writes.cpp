#include "uploads/detail/background_writes.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <mutex>
#include <new>
#include <string_view>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

namespace onda::uploads::detail {
namespace {

constexpr std::size_t block = storage::UploadWriter::uncached_alignment;
static_assert(BackgroundWrites::buffer_bytes % block == 0);

// Buffers of the uploads that ended, kept for the next ones: a fresh 1 MiB block is fresh pages
// (glibc maps and unmaps blocks this large), and faulting them in again on every PATCH cost more
// CPU than the bytes' copy into them (perf during a tus upload, 2026-12-06: a third of onda's CPU in
// page faults). A few are kept; any thread may give one back (the last job may end on the pool).
class SpareBuffers {
public:
    static constexpr std::size_t max_kept = 4;

    char* take() {
        {
            std::lock_guard lock(mutex_);
            if (count_ > 0) return kept_[--count_];
        }
        void* bytes = std::aligned_alloc(block, BackgroundWrites::buffer_bytes);
        if (!bytes) throw std::bad_alloc();
        return static_cast<char*>(bytes);
    }

    void give(char* bytes) {
        {
            std::lock_guard lock(mutex_);
            if (count_ < max_kept) {
                kept_[count_++] = bytes;
                return;
            }
        }
        std::free(bytes);
    }

private:
    std::mutex mutex_;
    std::array<char*, max_kept> kept_{};
    std::size_t count_ = 0;
};

SpareBuffers& spare_buffers() {
    static SpareBuffers spares;  // never destroyed before the uploads that use it
    return spares;
}

struct GiveBack {
    void operator()(char* bytes) const { spare_buffers().give(bytes); }
};
using AlignedBuffer = std::unique_ptr<char, GiveBack>;

AlignedBuffer aligned_buffer() { return AlignedBuffer(spare_buffers().take()); }

}  // namespace

// Positions count the body's bytes from the start of the first buffer ("virtual": the first byte
// is at `lead`); position p is in buffer (p / buffer_bytes) % 2 at p % buffer_bytes. Writing and
// hashing are two lanes that go at their own pace; a buffer is reused once both are past it. Only
// the request's executor touches the state; a job reads its range and the pointers it was given.
struct BackgroundWrites::State {
    struct Lane {
        std::uint64_t fed;   // handed to the pool up to here
        std::uint64_t done;  // finished up to here
        bool busy = false;   // a job is at work
    };

    State(net::any_io_executor executor, net::thread_pool& pool, storage::UploadWriter& writer, Digest* first,
          Digest* second, WrittenFn on_written)
        : wake(std::move(executor)),
          pool(pool),
          writer(writer),
          first(first),
          second(second),
          on_written(std::move(on_written)),
          lead(writer.buffer_offset()),
          received(lead),
          writing{lead, lead},
          hashing{lead, lead} {}

    char* at(std::uint64_t position) { return buffers[(position / buffer_bytes) % 2].get() + position % buffer_bytes; }
    bool hashes() const { return first || second; }
    // Everything before this is written and hashed: its buffer is free.
    std::uint64_t settled() const { return hashes() ? std::min(writing.done, hashing.done) : writing.done; }

    net::steady_timer wake;  // waiters sleep on it; cancelled when a job ends
    net::thread_pool& pool;
    storage::UploadWriter& writer;
    Digest* first;
    Digest* second;
    WrittenFn on_written;
    std::array<AlignedBuffer, 2> buffers{aligned_buffer(), aligned_buffer()};
    std::uint64_t lead;
    std::uint64_t received;  // read into the buffers up to here
    Lane writing;
    Lane hashing;
    std::optional<Error> failure;
};

namespace {

using State = BackgroundWrites::State;
constexpr std::size_t buffer_bytes = BackgroundWrites::buffer_bytes;

// The next range of `lane`: what arrived since its last job, up to the end of that buffer. Empty
// while a job of the lane is at work, after a failure, or when it has caught up.
std::string_view next_range(State& state, State::Lane& lane) {
    if (lane.busy || state.failure || lane.fed == state.received) return {};
    std::uint64_t const buffer_end = (lane.fed / buffer_bytes + 1) * buffer_bytes;
    std::uint64_t const end = std::min(state.received, buffer_end);
    std::string_view const bytes(state.at(lane.fed), static_cast<std::size_t>(end - lane.fed));
    lane.fed = end;
    lane.busy = true;
    return bytes;
}

void pump(std::shared_ptr<State> const& state);

// Back on the request's executor after a job of `lane`.
void job_done(std::shared_ptr<State> const& state, State::Lane State::*lane, std::optional<Error> failure) {
    net::post(state->wake.get_executor(), [state, lane, failure = std::move(failure)]() mutable {
        auto& finished = (*state).*lane;
        finished.busy = false;
        if (failure) {
            if (!state->failure) state->failure = std::move(failure);
        } else {
            finished.done = finished.fed;
            if (lane == &State::writing && state->on_written) state->on_written(finished.done - state->lead);
            pump(state);
        }
        state->wake.cancel();
    });
}

// Starts a job in each lane that is free and has bytes waiting.
void pump(std::shared_ptr<State> const& state) {
    if (auto bytes = next_range(*state, state->writing); !bytes.empty()) {
        net::post(state->pool, [state, bytes] {
            auto written = state->writer.write(bytes);
            job_done(state, &State::writing, written ? std::nullopt : std::optional<Error>(written.error()));
        });
    }
    if (!state->hashes()) return;
    if (auto bytes = next_range(*state, state->hashing); !bytes.empty()) {
        net::post(state->pool, [state, bytes] {
            if (state->first) state->first->update(bytes);
            if (state->second) state->second->update(bytes);
            job_done(state, &State::hashing, std::nullopt);
        });
    }
}

}  // namespace

BackgroundWrites::BackgroundWrites(net::any_io_executor executor, net::thread_pool& pool, storage::UploadWriter& writer,
                                   Digest* first, Digest* second, WrittenFn on_written)
    : state_(std::make_shared<State>(std::move(executor), pool, writer, first, second, std::move(on_written))) {}

Task<std::span<char>> BackgroundWrites::space() {
    auto& state = *state_;
    // The buffer `received` is in last held the bytes two buffers back: those must be in the file.
    std::uint64_t const index = state.received / buffer_bytes;
    while (!state.failure && index >= 2 && state.settled() < (index - 1) * buffer_bytes) {
        state.wake.expires_at(std::chrono::steady_clock::time_point::max());
        co_await state.wake.async_wait(use_result);
    }
    if (state.failure) co_return std::span<char>();
    co_return std::span<char>(state.at(state.received), (index + 1) * buffer_bytes - state.received);
}

void BackgroundWrites::commit(std::size_t n) {
    state_->received += n;
    pump(state_);
}

Task<std::optional<Error>> BackgroundWrites::finish() {
    auto& state = *state_;
    while (state.writing.busy || state.hashing.busy) {
        state.wake.expires_at(std::chrono::steady_clock::time_point::max());
        co_await state.wake.async_wait(use_result);
    }
    co_return state.failure;
}

std::optional<Error> const& BackgroundWrites::failure() const { return state_->failure; }

}  // namespace onda::uploads::detail
