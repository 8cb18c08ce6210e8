// The hub's delivery across threads (each thread's shard hands the event to its own subscribers),
// per-room offsets, presence, and history limits per room kind and by age.
#include <chrono>
#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "io_thread.hpp"
#include "realtime/hub.hpp"

namespace onda::realtime {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using test::IoThread;

class HubDeliveryTest : public ::testing::Test {
protected:
    std::shared_ptr<Subscriber> subscribe(Hub& hub, IoThread& io, std::vector<std::string> rooms,
                                          std::string member = {}, std::string last_id = {}) {
        return io.call([&] { return hub.subscribe(io.executor(), rooms, last_id, member); });
    }
    void release(IoThread& io, std::shared_ptr<Subscriber>& subscriber) {
        io.call([&] {
            subscriber.reset();
            return 0;
        });
    }
    // Everything `subscriber` gets until it has `count` events or 20 s passed.
    std::vector<EventPtr> collect(IoThread& io, std::shared_ptr<Subscriber> const& subscriber, std::size_t count) {
        std::vector<EventPtr> events;
        auto const deadline = Clock::now() + 20s;
        while (events.size() < count && Clock::now() < deadline) {
            auto batch = io.run(subscriber->next(Clock::now() + 1s));
            if (batch.ended) break;
            events.insert(events.end(), batch.events.begin(), batch.events.end());
        }
        return events;
    }
    Hub::Joined join(Hub& hub, IoThread& io, Subscriber& subscriber, std::string room) {
        return io.call([&] { return hub.add_room(subscriber, room); });
    }

    ManualClock clock_{SystemTime{} + std::chrono::hours(24 * 365 * 50)};
    MetricsRegistry metrics_;
    // Three server threads.
    IoThread a_, b_, c_;
};

TEST_F(HubDeliveryTest, SubscribersOnSeveralThreadsGetEveryEventOnceInOrderWithMonotonicOffsets) {
    constexpr int publishers = 4;
    constexpr int per_publisher = 300;
    constexpr std::size_t total = publishers * per_publisher;
    Hub hub({.max_backlog = total}, clock_, &metrics_);
    std::vector<std::pair<IoThread*, std::shared_ptr<Subscriber>>> subscribers;
    for (IoThread* io : {&a_, &a_, &b_, &c_}) subscribers.emplace_back(io, subscribe(hub, *io, {"chat:a", "chat:b"}));

    std::vector<std::thread> threads;
    for (int p = 0; p < publishers; ++p)
        threads.emplace_back([&hub, p] {
            for (int i = 0; i < per_publisher; ++i) hub.publish(i % 2 ? "chat:a" : "chat:b", "n", {{"p", p}});
        });
    for (auto& thread : threads) thread.join();

    for (auto& [io, subscriber] : subscribers) {
        auto events = collect(*io, subscriber, total);
        ASSERT_EQ(events.size(), total);
        std::map<std::string, std::uint64_t> last_offset;
        std::uint64_t last_seq = 0;
        for (auto const& event : events) {
            EXPECT_GT(event->seq, last_seq);  // publication order across both rooms, nothing twice
            last_seq = event->seq;
            EXPECT_EQ(event->offset, last_offset[event->room] + 1) << event->room;  // no gap, no repeat
            last_offset[event->room] = event->offset;
        }
        EXPECT_EQ(last_offset["chat:a"] + last_offset["chat:b"], total);
    }
    for (auto& [io, subscriber] : subscribers) release(*io, subscriber);
}

TEST_F(HubDeliveryTest, TheEncodingsAreMadeOnceAndSharedByEveryThread) {
    Hub hub({}, clock_, &metrics_);
    auto on_a = subscribe(hub, a_, {"chat:a"});
    auto on_b = subscribe(hub, b_, {"chat:a"});
    hub.publish("chat:a", "chat_message", {{"message", "hi"}});
    auto from_a = collect(a_, on_a, 1);
    auto from_b = collect(b_, on_b, 1);
    ASSERT_EQ(from_a.size(), 1u);
    ASSERT_EQ(from_b.size(), 1u);
    EXPECT_EQ(from_a[0], from_b[0]);  // one event object, not a copy per thread
    EXPECT_EQ(from_a[0]->socketio_frame(), R"(42["chat_message",{"message":"hi"}])");
    EXPECT_EQ(&from_a[0]->socketio_frame(), &from_b[0]->socketio_frame());
    EXPECT_EQ(from_a[0]->sse_text(), "event: chat_message\nid: " + from_a[0]->id + "\ndata: {\"message\":\"hi\"}\n\n");
    release(a_, on_a);
    release(b_, on_b);
}

TEST_F(HubDeliveryTest, AJoinSeesEachEventEitherInItsHistoryOrLiveNeverBoth) {
    Hub hub({.max_backlog = 10'000}, clock_, &metrics_);
    // Already in the room on the same thread: events for it are posted there while the other joins.
    auto watcher = subscribe(hub, a_, {"chat:a"});
    auto joiner = subscribe(hub, a_, {});
    std::thread publisher([&] {
        for (int i = 0; i < 2000; ++i) hub.publish("chat:a", "n", {{"i", i}});
    });
    std::this_thread::sleep_for(2ms);  // join while events are on their way to the thread
    auto joined = join(hub, a_, *joiner, "chat:a");
    publisher.join();
    std::uint64_t const seen = joined.history.empty() ? 0 : joined.history.back()->offset;
    auto live = collect(a_, joiner, 2000 - seen);
    std::vector<std::uint64_t> offsets;
    for (auto const& event : joined.history) offsets.push_back(event->offset);
    for (auto const& event : live) offsets.push_back(event->offset);
    // History holds the last 100 before the join: from its first offset on, every offset exactly once.
    ASSERT_FALSE(offsets.empty());
    for (std::size_t i = 1; i < offsets.size(); ++i) ASSERT_EQ(offsets[i], offsets[i - 1] + 1) << i;
    EXPECT_EQ(offsets.back(), 2000u);
    release(a_, watcher);
    release(a_, joiner);
}

TEST_F(HubDeliveryTest, PresenceCountsSubscribersAndDistinctMembers) {
    Hub hub({}, clock_, &metrics_);
    auto alice_phone = subscribe(hub, a_, {"chat:s1"}, "alice");
    auto alice_laptop = subscribe(hub, b_, {"chat:s1"}, "alice");
    auto anonymous = subscribe(hub, a_, {"chat:s1"});
    auto bob = subscribe(hub, c_, {}, "bob");
    auto joined = join(hub, c_, *bob, "chat:s1");
    EXPECT_EQ(joined.subscribers, 4u);
    EXPECT_EQ(joined.members, 2u);
    auto presence = hub.presence("chat:s1");
    EXPECT_EQ(presence.subscribers, 4u);
    EXPECT_EQ(presence.members, (std::vector<std::string>{"alice", "bob"}));

    release(b_, alice_laptop);  // alice is still there on her phone
    EXPECT_EQ(hub.presence("chat:s1").members, (std::vector<std::string>{"alice", "bob"}));
    release(a_, alice_phone);
    c_.call([&] {
        hub.remove_room(*bob, "chat:s1");
        return 0;
    });
    presence = hub.presence("chat:s1");
    EXPECT_EQ(presence.subscribers, 1u);
    EXPECT_TRUE(presence.members.empty());
    EXPECT_EQ(hub.presence("chat:nobody").subscribers, 0u);
    release(a_, anonymous);
    release(c_, bob);
}

TEST_F(HubDeliveryTest, HistoryLimitsFollowTheRoomKind) {
    HubOptions options;  // named: GCC 12 misjudges a braced one holding a map as uninitialised
    options.history.fallback = {.size = 2, .max_age = 0ms};
    options.history.by_kind.emplace_back("chat", HistoryLimit{.size = 5, .max_age = 0ms});
    Hub hub(options, clock_, &metrics_);
    for (int i = 0; i < 8; ++i) {
        hub.publish("chat:s1", "n", {});
        hub.publish("user:alice", "n", {});
    }
    auto subscriber = subscribe(hub, a_, {}, "alice");
    EXPECT_EQ(join(hub, a_, *subscriber, "chat:s1").history.size(), 5u);
    EXPECT_EQ(join(hub, a_, *subscriber, "user:alice").history.size(), 2u);
    release(a_, subscriber);
}

TEST_F(HubDeliveryTest, AgedEventsLeaveTheHistoryAndAnIdBeforeThemResets) {
    HubOptions options;
    options.history.fallback = {.size = 100, .max_age = 300s};
    Hub hub(options, clock_, &metrics_);
    hub.publish("chat:s1", "n", {});  // seq 1
    clock_.advance(200s);
    hub.publish("chat:s1", "n", {});  // seq 2
    clock_.advance(150s);             // seq 1 is 350 s old now, seq 2 150 s
    auto subscriber = subscribe(hub, a_, {});
    auto joined = join(hub, a_, *subscriber, "chat:s1");
    ASSERT_EQ(joined.history.size(), 1u);
    EXPECT_EQ(joined.history[0]->seq, 2u);
    release(a_, subscriber);

    auto too_old = subscribe(hub, a_, {"chat:s1"}, {}, hub.epoch() + "-0");  // would need seq 1
    EXPECT_EQ(too_old->start(), Subscriber::Start::reset);
    release(a_, too_old);
    auto resumed = subscribe(hub, a_, {"chat:s1"}, {}, hub.epoch() + "-1");
    EXPECT_EQ(resumed->start(), Subscriber::Start::resumed);
    EXPECT_EQ(collect(a_, resumed, 1).size(), 1u);
    release(a_, resumed);
}

TEST_F(HubDeliveryTest, AnOverflowingSubscriberIsEndedWhileTheOthersGetEverything) {
    Hub hub({.max_backlog = 10}, clock_, &metrics_);
    auto slow = subscribe(hub, a_, {"chat:a"});
    auto fast = subscribe(hub, b_, {"chat:a"});
    std::size_t received = 0;
    for (int i = 0; i < 50; ++i) {
        hub.publish("chat:a", "n", {{"i", i}});
        received += collect(b_, fast, 1).size();  // keeps up; `slow` never reads
    }
    EXPECT_EQ(received, 50u);
    EXPECT_EQ(fast->end_reason(), Subscriber::End::none);
    a_.call([] { return 0; });  // the deliveries to a_ have run
    EXPECT_EQ(slow->end_reason(), Subscriber::End::overflow);
    release(a_, slow);
    release(b_, fast);
}

}  // namespace
}  // namespace onda::realtime
