// Hashes an upload's bytes on the blocking pool while the request reads the next piece, so the
// receiving thread does not also spend a core-second per ~1.8 GB on SHA-256.
//
// Protocol: feed(bytes) starts hashing `bytes` into the digests; the bytes must stay untouched until
// the next wait() returns. wait() returns once the last feed is done. The owner must wait() before it
// reads or destroys the digests or the buffers (a pending job holds pointers to them).
#pragma once

#include <memory>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "core/task.hpp"
#include "uploads/digest.hpp"

namespace onda::uploads::detail {

class BackgroundDigests {
public:
    // `pool` outlives this object; either digest may be null.
    BackgroundDigests(net::any_io_executor executor, net::thread_pool& pool, Digest* first, Digest* second)
        : state_(std::make_shared<State>(std::move(executor))), pool_(pool), first_(first), second_(second) {}
    BackgroundDigests(BackgroundDigests const&) = delete;
    BackgroundDigests& operator=(BackgroundDigests const&) = delete;

    void feed(std::string_view bytes) {
        if (!first_ && !second_) return;
        state_->busy = true;
        state_->done.expires_at(std::chrono::steady_clock::time_point::max());
        net::post(pool_, [state = state_, bytes, first = first_, second = second_] {
            if (first) first->update(bytes);
            if (second) second->update(bytes);
            // Back on the request's executor: the timer and the flag are only touched there.
            net::post(state->done.get_executor(), [state] {
                state->busy = false;
                state->done.cancel();
            });
        });
    }

    Task<void> wait() {
        while (state_->busy) co_await state_->done.async_wait(use_result);
    }

private:
    struct State {
        explicit State(net::any_io_executor executor) : done(std::move(executor)) {}
        bool busy = false;
        net::steady_timer done;
    };
    std::shared_ptr<State> state_;  // shared with a job in flight, so a late completion finds it
    net::thread_pool& pool_;
    Digest* first_;
    Digest* second_;
};

}  // namespace onda::uploads::detail
