// A token bucket per key (user id or client IP): `per_minute` tokens, refilled continuously, burst
// up to `per_minute`. take() may be called from any thread.
//
// Example:
//   RateLimiter limiter(100, clock);
//   if (auto d = limiter.take("user:alice"); !d.allowed) reply 429 with Retry-After: d.retry_after
#pragma once

#include <array>
#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.hpp"

namespace onda::auth {

class RateLimiter {
public:
    // per_minute == 0 disables limiting (every take is allowed). `clock` must outlive the limiter.
    RateLimiter(unsigned per_minute, Clock const& clock);

    struct Decision {
        bool allowed;
        std::chrono::seconds retry_after;  // whole seconds until one token is back, >= 1 when refused
    };
    Decision take(std::string_view key);

    // Drops buckets that are full again (idle keys), so memory stays bounded by active keys.
    void sweep();

    // Keys that currently hold a bucket, for metrics and tests.
    std::size_t tracked_key_count() const;

private:
    struct Bucket {
        double tokens;
        SystemTime updated;
    };
    // Keys are spread over stripes, each with its own small lock held only for the arithmetic, so
    // threads rarely meet; a global lock would serialise every API request.
    struct Stripe {
        mutable std::mutex mutex;
        std::unordered_map<std::string, Bucket> buckets;
    };
    static constexpr std::size_t stripe_count = 64;

    unsigned per_minute_;
    Clock const& clock_;
    std::array<Stripe, stripe_count> stripes_;
};

}  // namespace onda::auth
