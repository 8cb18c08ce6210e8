#include "auth/rate_limit.hpp"

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace onda::auth {
namespace {

using namespace std::chrono_literals;

SystemTime const start = SystemTime(std::chrono::seconds(1'800'000'000));

// Takes `count` times from `key`; returns how many were allowed.
int allowed_of(RateLimiter& limiter, std::string_view key, int count) {
    int allowed = 0;
    for (int i = 0; i < count; ++i) allowed += limiter.take(key).allowed ? 1 : 0;
    return allowed;
}

TEST(RateLimiter, AllowsABurstOfPerMinuteThenRefuses) {
    ManualClock clock(start);
    RateLimiter limiter(5, clock);
    EXPECT_EQ(allowed_of(limiter, "user:alice", 5), 5);
    EXPECT_FALSE(limiter.take("user:alice").allowed);
}

TEST(RateLimiter, RefusalSaysWhenATokenIsBack) {
    ManualClock clock(start);
    RateLimiter limiter(5, clock);  // one token every 12 s
    allowed_of(limiter, "user:alice", 5);
    auto decision = limiter.take("user:alice");
    EXPECT_FALSE(decision.allowed);
    EXPECT_EQ(decision.retry_after, 12s);
}

TEST(RateLimiter, RetryAfterIsAtLeastOneSecondAtHighRates) {
    ManualClock clock(start);
    RateLimiter limiter(6000, clock);  // one token every 10 ms
    allowed_of(limiter, "ip:10.0.0.1", 6000);
    auto decision = limiter.take("ip:10.0.0.1");
    EXPECT_FALSE(decision.allowed);
    EXPECT_EQ(decision.retry_after, 1s);
}

TEST(RateLimiter, RetryAfterRoundsUpAPartlyRefilledToken) {
    ManualClock clock(start);
    RateLimiter limiter(1, clock);
    EXPECT_TRUE(limiter.take("k").allowed);
    clock.advance(30500ms);  // a bit more than half a token back: 29.5 s to go
    EXPECT_EQ(limiter.take("k").retry_after, 30s);
}

TEST(RateLimiter, AllowsAgainWhenRetryAfterHasPassed) {
    ManualClock clock(start);
    RateLimiter limiter(5, clock);
    allowed_of(limiter, "user:alice", 5);
    auto refused = limiter.take("user:alice");
    ASSERT_FALSE(refused.allowed);
    clock.advance(refused.retry_after);
    EXPECT_TRUE(limiter.take("user:alice").allowed);
}

TEST(RateLimiter, RefillsContinuouslyOverTime) {
    ManualClock clock(start);
    RateLimiter limiter(60, clock);  // one token a second
    allowed_of(limiter, "user:alice", 60);
    clock.advance(999ms);
    EXPECT_FALSE(limiter.take("user:alice").allowed);
    clock.advance(1ms);
    EXPECT_TRUE(limiter.take("user:alice").allowed);
    clock.advance(10s);
    EXPECT_EQ(allowed_of(limiter, "user:alice", 20), 10);
}

TEST(RateLimiter, RefillStopsAtTheBurstSize) {
    ManualClock clock(start);
    RateLimiter limiter(10, clock);
    allowed_of(limiter, "user:alice", 10);
    clock.advance(24h);
    EXPECT_EQ(allowed_of(limiter, "user:alice", 11), 10);
}

TEST(RateLimiter, RefusedTakesDoNotSpendTokens) {
    ManualClock clock(start);
    RateLimiter limiter(60, clock);
    allowed_of(limiter, "user:alice", 60);
    EXPECT_EQ(allowed_of(limiter, "user:alice", 100), 0);
    clock.advance(1s);
    EXPECT_TRUE(limiter.take("user:alice").allowed);
}

TEST(RateLimiter, KeysAreIndependent) {
    ManualClock clock(start);
    RateLimiter limiter(3, clock);
    EXPECT_EQ(allowed_of(limiter, "user:alice", 4), 3);
    EXPECT_EQ(allowed_of(limiter, "user:bob", 4), 3);
    EXPECT_EQ(allowed_of(limiter, "ip:192.0.2.7", 4), 3);
}

TEST(RateLimiter, ZeroPerMinuteAllowsEverything) {
    ManualClock clock(start);
    RateLimiter limiter(0, clock);
    EXPECT_EQ(allowed_of(limiter, "user:alice", 10'000), 10'000);
    EXPECT_EQ(limiter.tracked_key_count(), 0u);
}

TEST(RateLimiter, SweepDropsBucketsThatAreFullAgain) {
    ManualClock clock(start);
    RateLimiter limiter(60, clock);
    limiter.take("user:alice");
    limiter.take("user:bob");
    ASSERT_EQ(limiter.tracked_key_count(), 2u);
    clock.advance(1s);  // one second refills the one token each took
    limiter.sweep();
    EXPECT_EQ(limiter.tracked_key_count(), 0u);
}

TEST(RateLimiter, SweepKeepsBucketsThatAreStillRefilling) {
    ManualClock clock(start);
    RateLimiter limiter(60, clock);
    allowed_of(limiter, "user:alice", 60);
    limiter.take("user:bob");
    clock.advance(1s);  // bob is full again, alice has 1 of 60
    limiter.sweep();
    EXPECT_EQ(limiter.tracked_key_count(), 1u);
    EXPECT_EQ(allowed_of(limiter, "user:alice", 2), 1);
}

TEST(RateLimiter, ClockSteppingBackDoesNotRefill) {
    ManualClock clock(start);
    RateLimiter limiter(60, clock);
    allowed_of(limiter, "user:alice", 60);
    clock.advance(-10s);
    EXPECT_FALSE(limiter.take("user:alice").allowed);
    clock.advance(10s);
    EXPECT_FALSE(limiter.take("user:alice").allowed);
    clock.advance(1s);
    EXPECT_TRUE(limiter.take("user:alice").allowed);
}

TEST(RateLimiter, ConcurrentTakesAllowExactlyTheBurstInTotal) {
    ManualClock clock(start);  // not advanced while the threads run
    constexpr unsigned burst = 4000;
    constexpr int thread_count = 8;
    constexpr int takes_per_thread = 1000;
    RateLimiter limiter(burst, clock);
    std::atomic<int> allowed{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < thread_count; ++t) {
        threads.emplace_back([&] {
            while (!go.load()) std::this_thread::yield();  // start together so the takes overlap
            for (int i = 0; i < takes_per_thread; ++i)
                if (limiter.take("user:alice").allowed) allowed.fetch_add(1);
        });
    }
    go.store(true);
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(allowed.load(), static_cast<int>(burst));
}

}  // namespace
}  // namespace onda::auth
