#include "auth/device_limit.hpp"

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace onda::auth {
namespace {

TEST(DeviceLimiter, AllowsUpToTheLimitOfDistinctDevices) {
    DeviceLimiter devices(3);
    auto phone = devices.acquire("alice", "phone");
    auto laptop = devices.acquire("alice", "laptop");
    auto tv = devices.acquire("alice", "tv");
    ASSERT_TRUE(phone && laptop && tv);
    auto fourth = devices.acquire("alice", "watch");
    ASSERT_FALSE(fourth);
    EXPECT_EQ(fourth.error().code(), Errc::device_limit);
    EXPECT_EQ(devices.device_count("alice"), 3u);
}

TEST(DeviceLimiter, TheSameDeviceAgainSharesItsPlace) {
    DeviceLimiter devices(1);
    auto first = devices.acquire("alice", "phone");
    auto second = devices.acquire("alice", "phone");  // a second tab, or a reconnect racing the old one
    ASSERT_TRUE(first && second);
    EXPECT_FALSE(devices.acquire("alice", "laptop"));
    first->release();
    EXPECT_FALSE(devices.acquire("alice", "laptop"));  // the phone is still connected once
    second->release();
    EXPECT_TRUE(devices.acquire("alice", "laptop"));
}

TEST(DeviceLimiter, UsersAreCountedApart) {
    DeviceLimiter devices(1);
    auto alice = devices.acquire("alice", "phone");
    auto bob = devices.acquire("bob", "phone");
    EXPECT_TRUE(alice && bob);
}

TEST(DeviceLimiter, ALeaseReleasesItsPlaceWhenDestroyedOrMoved) {
    DeviceLimiter devices(1);
    {
        auto lease = devices.acquire("alice", "phone");
        ASSERT_TRUE(lease);
        DeviceLimiter::Lease moved = std::move(*lease);
        EXPECT_TRUE(moved.held());
        EXPECT_FALSE(lease->held());
        EXPECT_EQ(devices.device_count("alice"), 1u);
    }
    EXPECT_EQ(devices.device_count("alice"), 0u);
    DeviceLimiter::Lease kept;
    kept = std::move(*devices.acquire("alice", "laptop"));
    kept = std::move(*devices.acquire("alice", "laptop"));  // assignment releases what it held
    EXPECT_EQ(devices.device_count("alice"), 1u);
    kept.release();
    kept.release();  // twice is harmless
    EXPECT_EQ(devices.device_count("alice"), 0u);
}

TEST(DeviceLimiter, ZeroMeansNoLimit) {
    DeviceLimiter devices(0);
    std::vector<DeviceLimiter::Lease> leases;
    for (int i = 0; i < 50; ++i) leases.push_back(std::move(*devices.acquire("alice", std::to_string(i))));
    EXPECT_EQ(devices.device_count("alice"), 50u);
}

TEST(DeviceLimiter, NeverExceedsTheLimitUnderContention) {
    DeviceLimiter devices(3);
    std::vector<std::thread> threads;
    std::atomic<int> granted{0};
    std::vector<DeviceLimiter::Lease> kept(8);
    for (int i = 0; i < 8; ++i)
        threads.emplace_back([&, i] {
            if (auto lease = devices.acquire("alice", "device-" + std::to_string(i))) {
                ++granted;
                kept[i] = std::move(*lease);
            }
        });
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(granted.load(), 3);
    EXPECT_EQ(devices.device_count("alice"), 3u);
}

}  // namespace
}  // namespace onda::auth
