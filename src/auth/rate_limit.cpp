// Token bucket: a bucket holds at most `per_minute` tokens and gains per_minute / 60 tokens per
// second of elapsed time. A request takes one token; with none left it is refused and told how
// long until one is back. A new key starts with a full bucket, so a client may burst.
#include "auth/rate_limit.hpp"

#include <algorithm>
#include <cmath>
#include <functional>

namespace onda::auth {
namespace {

// Tokens in a bucket that held `tokens` at `updated`, refilled up to `now`. A clock that stepped
// back (NTP) adds nothing rather than a negative amount.
double refill(double tokens, SystemTime updated, SystemTime now, unsigned per_minute) {
    if (now <= updated) return tokens;
    auto const elapsed_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now - updated).count();
    double const gained = static_cast<double>(elapsed_ns) * per_minute / 60e9;
    return std::min(static_cast<double>(per_minute), tokens + gained);
}

}  // namespace

RateLimiter::RateLimiter(unsigned per_minute, Clock const& clock) : per_minute_(per_minute), clock_(clock) {}

RateLimiter::Decision RateLimiter::take(std::string_view key) {
    if (per_minute_ == 0) return Decision{.allowed = true, .retry_after = std::chrono::seconds(0)};

    Stripe& stripe = stripes_[std::hash<std::string_view>{}(key) % stripe_count];
    SystemTime const now = clock_.now();
    std::lock_guard lock(stripe.mutex);
    Bucket const full{.tokens = static_cast<double>(per_minute_), .updated = now};  // new keys may burst
    Bucket& bucket = stripe.buckets.try_emplace(std::string(key), full).first->second;
    bucket.tokens = refill(bucket.tokens, bucket.updated, now, per_minute_);
    bucket.updated = std::max(bucket.updated, now);

    if (bucket.tokens >= 1.0) {
        bucket.tokens -= 1.0;
        return Decision{.allowed = true, .retry_after = std::chrono::seconds(0)};
    }
    // Time for the missing fraction of a token to flow back, rounded up to whole seconds because
    // Retry-After (RFC 9110 §10.2.3) carries whole seconds, and never 0 so clients do wait.
    double const wait_seconds = std::ceil((1.0 - bucket.tokens) * 60.0 / per_minute_);
    auto const retry_after = std::max<std::int64_t>(1, static_cast<std::int64_t>(wait_seconds));
    return Decision{.allowed = false, .retry_after = std::chrono::seconds(retry_after)};
}

void RateLimiter::sweep() {
    SystemTime const now = clock_.now();
    for (Stripe& stripe : stripes_) {
        std::lock_guard lock(stripe.mutex);
        std::erase_if(stripe.buckets, [&](auto const& entry) {
            Bucket const& bucket = entry.second;
            // A full bucket is indistinguishable from a missing one: take() recreates it full.
            return refill(bucket.tokens, bucket.updated, now, per_minute_) >= static_cast<double>(per_minute_);
        });
    }
}

std::size_t RateLimiter::tracked_key_count() const {
    std::size_t count = 0;
    for (Stripe const& stripe : stripes_) {
        std::lock_guard lock(stripe.mutex);
        count += stripe.buckets.size();
    }
    return count;
}

}  // namespace onda::auth
