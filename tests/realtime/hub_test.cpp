#include "realtime/hub.hpp"

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include "io_thread.hpp"

namespace onda::realtime {
namespace {

using namespace std::chrono_literals;
using Batch = Subscriber::Batch;
using Clock = std::chrono::steady_clock;
using test::IoThread;

std::vector<std::uint64_t> seqs(std::vector<EventPtr> const& events) {
    std::vector<std::uint64_t> out;
    for (auto const& event : events) out.push_back(event->seq);
    return out;
}

class HubTest : public ::testing::Test {
protected:
    // Takes what is queued now (next() with a deadline already past), on the io thread.
    Batch take(std::shared_ptr<Subscriber> const& subscriber) { return io_.run(subscriber->next(Clock::now())); }

    // Subscribes on the io thread and releases the subscriber there too, as a connection does.
    std::shared_ptr<Subscriber> subscribe(Hub& hub, std::vector<std::string> rooms, std::string last_id = {}) {
        return io_.call([&] { return hub.subscribe(io_.executor(), rooms, last_id); });
    }
    // Waits until what was posted to the io thread so far has run (the hub delivers there).
    void settle() {
        io_.call([] { return 0; });
    }
    void release(std::shared_ptr<Subscriber>& subscriber) {
        io_.call([&] {
            subscriber.reset();
            return 0;
        });
    }

    ManualClock clock_{SystemTime{} + std::chrono::hours(24 * 365 * 50)};
    MetricsRegistry metrics_;
    IoThread io_;
};

TEST_F(HubTest, PublishReachesSubscribersOfThatRoomOnly) {
    Hub hub({}, clock_, &metrics_);
    auto alice = subscribe(hub, {"user:alice"});
    auto bob = subscribe(hub, {"user:bob"});
    hub.publish("user:alice", "upload_progress", {{"percentage", 42}});

    auto batch = take(alice);
    ASSERT_EQ(batch.events.size(), 1u);
    EXPECT_EQ(batch.events[0]->room, "user:alice");
    EXPECT_EQ(batch.events[0]->name, "upload_progress");
    EXPECT_EQ(batch.events[0]->data, R"({"percentage":42})");
    EXPECT_EQ(batch.events[0]->id, hub.epoch() + "-1");
    EXPECT_FALSE(batch.ended);
    EXPECT_TRUE(take(bob).events.empty());
    release(alice);
    release(bob);
}

TEST_F(HubTest, AnEventForAllButOneSocketIsNeitherQueuedNorKept) {
    // For Socket.IO sinks only (SocketIoServerTest.AnEventPublishedExceptOneSocketReachesOnlyTheOthers):
    // a queue subscriber (an SSE stream) does not take it, and the room's history does not keep it.
    Hub hub({}, clock_, &metrics_);
    auto live = subscribe(hub, {"user:alice"});
    hub.publish("user:alice", "upload_progress", {{"n", 1}});
    hub.publish_except("user:alice", "sync_state", {{"n", 2}}, "socket-1");
    hub.publish("user:alice", "upload_progress", {{"n", 3}});
    settle();
    auto batch = take(live);
    ASSERT_EQ(batch.events.size(), 2u);
    EXPECT_EQ(batch.events[0]->data, R"({"n":1})");
    EXPECT_EQ(batch.events[1]->data, R"({"n":3})");
    auto resumed = subscribe(hub, {"user:alice"}, hub.epoch() + "-0");
    auto replay = take(resumed);
    ASSERT_EQ(replay.events.size(), 2u);
    EXPECT_EQ(replay.events[1]->data, R"({"n":3})");
    release(live);
    release(resumed);
}

TEST_F(HubTest, NextReturnsNothingAtTheDeadline) {
    Hub hub({}, clock_, &metrics_);
    auto subscriber = subscribe(hub, {"chat:s1"});
    auto const started = Clock::now();
    auto batch = io_.run(subscriber->next(started + 50ms));
    EXPECT_TRUE(batch.events.empty());
    EXPECT_FALSE(batch.ended);
    EXPECT_GE(Clock::now() - started, 50ms);
    release(subscriber);
}

TEST_F(HubTest, AWaitingSubscriberIsWokenByAPublishOnAnotherThread) {
    Hub hub({}, clock_, &metrics_);
    auto subscriber = subscribe(hub, {"chat:s1"});
    auto const started = Clock::now();
    auto pending = io_.start(subscriber->next(started + 30s));
    std::thread publisher([&] {
        std::this_thread::sleep_for(20ms);  // let next() start waiting; a publish before that works too
        hub.publish("chat:s1", "chat_message", {{"message", "hi"}});
    });
    ASSERT_EQ(pending.wait_for(10s), std::future_status::ready);
    auto batch = pending.get();
    publisher.join();
    ASSERT_EQ(batch.events.size(), 1u);
    EXPECT_LT(Clock::now() - started, 10s);
    release(subscriber);
}

TEST_F(HubTest, EventsFromManyThreadsArriveOnceAndInPublicationOrder) {
    constexpr int threads = 4;
    constexpr int per_thread = 500;
    Hub hub({.max_backlog = threads * per_thread}, clock_, &metrics_);
    auto subscriber = subscribe(hub, {"chat:a", "chat:b"});
    std::vector<std::thread> publishers;
    for (int t = 0; t < threads; ++t)
        publishers.emplace_back([&hub, t] {
            for (int i = 0; i < per_thread; ++i)
                hub.publish(t % 2 ? "chat:a" : "chat:b", "n", {{"thread", t}, {"i", i}});
        });
    hub.publish("chat:other", "n", {});  // not subscribed

    std::vector<std::uint64_t> received;
    auto const deadline = Clock::now() + 20s;
    while (received.size() < threads * per_thread && Clock::now() < deadline) {
        auto batch = io_.run(subscriber->next(Clock::now() + 1s));
        ASSERT_FALSE(batch.ended);
        auto more = seqs(batch.events);
        received.insert(received.end(), more.begin(), more.end());
    }
    for (auto& p : publishers) p.join();
    ASSERT_EQ(received.size(), std::size_t{threads * per_thread});
    EXPECT_TRUE(std::is_sorted(received.begin(), received.end()));
    EXPECT_EQ(std::adjacent_find(received.begin(), received.end()), received.end());  // no duplicates
    release(subscriber);
}

TEST_F(HubTest, ResumeIsExactAcrossSeveralRooms) {
    Hub hub({}, clock_, &metrics_);
    for (int i = 0; i < 9; ++i) hub.publish(i % 3 == 0 ? "chat:a" : i % 3 == 1 ? "chat:b" : "chat:c", "n", {{"i", i}});
    // seq 1..9: a=1,4,7 b=2,5,8 c=3,6,9. The client saw up to seq 4.
    auto subscriber = subscribe(hub, {"chat:b", "chat:a"}, hub.epoch() + "-4");
    EXPECT_EQ(subscriber->start(), Subscriber::Start::resumed);
    auto replay = take(subscriber);
    EXPECT_EQ(seqs(replay.events), (std::vector<std::uint64_t>{5, 7, 8}));

    hub.publish("chat:a", "n", {});  // seq 10, live after the replay
    hub.publish("chat:c", "n", {});  // seq 11, not subscribed
    EXPECT_EQ(seqs(take(subscriber).events), (std::vector<std::uint64_t>{10}));
    release(subscriber);
}

TEST_F(HubTest, ResumeWithNothingNewIsResumedAndQuiet) {
    Hub hub({}, clock_, &metrics_);
    hub.publish("chat:a", "n", {});
    auto subscriber = subscribe(hub, {"chat:a"}, hub.position());
    EXPECT_EQ(subscriber->start(), Subscriber::Start::resumed);
    EXPECT_TRUE(take(subscriber).events.empty());
    release(subscriber);
}

TEST_F(HubTest, FreshSubscriptionReportsThePositionToResumeFrom) {
    Hub hub({}, clock_, &metrics_);
    hub.publish("chat:a", "n", {});
    hub.publish("chat:a", "n", {});
    auto first = subscribe(hub, {"chat:a"});
    EXPECT_EQ(first->start(), Subscriber::Start::fresh);
    EXPECT_EQ(first->position(), hub.epoch() + "-2");
    EXPECT_TRUE(take(first).events.empty());  // no replay without a Last-Event-ID
    release(first);

    hub.publish("chat:a", "n", {});  // while the client was away
    auto again = subscribe(hub, {"chat:a"}, hub.epoch() + "-2");
    EXPECT_EQ(seqs(take(again).events), (std::vector<std::uint64_t>{3}));
    release(again);
}

TEST_F(HubTest, AnIdFromAnotherEpochResets) {
    Hub before_restart({.epoch = "aaaa"}, clock_, &metrics_);
    for (int i = 0; i < 5; ++i) before_restart.publish("chat:a", "n", {});
    Hub after_restart({.epoch = "bbbb"}, clock_, &metrics_);
    after_restart.publish("chat:a", "n", {});
    auto subscriber = subscribe(after_restart, {"chat:a"}, "aaaa-1");  // seq 1 exists here, but is another event
    EXPECT_EQ(subscriber->start(), Subscriber::Start::reset);
    EXPECT_TRUE(take(subscriber).events.empty());
    EXPECT_EQ(subscriber->position(), "bbbb-1");
    release(subscriber);
}

TEST_F(HubTest, MalformedOrFutureIdsReset) {
    Hub hub({.epoch = "e1"}, clock_, &metrics_);
    hub.publish("chat:a", "n", {});
    for (std::string id : {"garbage", "e1-", "e1-x", "e1-2", "e1-99999"}) {
        auto subscriber = subscribe(hub, {"chat:a"}, id);
        EXPECT_EQ(subscriber->start(), Subscriber::Start::reset) << id;
        EXPECT_TRUE(take(subscriber).events.empty()) << id;
        release(subscriber);
    }
}

TEST_F(HubTest, AnIdOlderThanTheKeptHistoryResets) {
    HubOptions options;  // named: GCC 12 misjudges a braced one holding a map as uninitialised
    options.history.fallback.size = 3;
    Hub hub(options, clock_, &metrics_);
    for (int i = 0; i < 5; ++i) hub.publish("chat:a", "n", {});     // keeps 3, 4, 5
    auto too_old = subscribe(hub, {"chat:a"}, hub.epoch() + "-1");  // 2 is gone
    EXPECT_EQ(too_old->start(), Subscriber::Start::reset);
    release(too_old);
    auto just_kept = subscribe(hub, {"chat:a"}, hub.epoch() + "-2");
    EXPECT_EQ(just_kept->start(), Subscriber::Start::resumed);
    EXPECT_EQ(seqs(take(just_kept).events), (std::vector<std::uint64_t>{3, 4, 5}));
    release(just_kept);
}

TEST_F(HubTest, OneRoomTooOldResetsTheWholeSubscription) {
    HubOptions options;  // named: GCC 12 misjudges a braced one holding a map as uninitialised
    options.history.fallback.size = 1;
    Hub hub(options, clock_, &metrics_);
    hub.publish("chat:a", "n", {});  // 1
    hub.publish("chat:a", "n", {});  // 2: a keeps only 2
    hub.publish("chat:b", "n", {});  // 3
    auto subscriber = subscribe(hub, {"chat:a", "chat:b"}, hub.epoch() + "-0");
    EXPECT_EQ(subscriber->start(), Subscriber::Start::reset);
    EXPECT_TRUE(take(subscriber).events.empty());
    release(subscriber);
}

TEST_F(HubTest, IdleUnwatchedRoomsAreSweptAndForgetOlderIds) {
    Hub hub({.room_ttl = std::chrono::seconds(60)}, clock_, &metrics_);
    auto& rooms = metrics_.gauge("onda_realtime_rooms", "", {});
    hub.publish("chat:old", "n", {});  // 1
    auto watcher = subscribe(hub, {"chat:watched"});
    clock_.advance(30s);
    hub.publish("chat:recent", "n", {});  // 2
    clock_.advance(45s);
    EXPECT_EQ(hub.sweep(), 1u);  // chat:old only: chat:watched has a subscriber, chat:recent is recent
    EXPECT_EQ(rooms.value(), 2);

    // chat:old is gone with its history: an id before its last event cannot be served exactly...
    auto stale = subscribe(hub, {"chat:old"}, hub.epoch() + "-0");
    EXPECT_EQ(stale->start(), Subscriber::Start::reset);
    release(stale);
    // ...but one at or after it can: nothing was published there since.
    auto current = subscribe(hub, {"chat:old"}, hub.epoch() + "-1");
    EXPECT_EQ(current->start(), Subscriber::Start::resumed);
    EXPECT_TRUE(take(current).events.empty());
    release(current);
    // A room never seen before resumes from any id the hub gave out.
    auto unseen = subscribe(hub, {"chat:new"}, hub.epoch() + "-1");
    EXPECT_EQ(unseen->start(), Subscriber::Start::resumed);
    release(unseen);
    release(watcher);
}

TEST_F(HubTest, OverflowEndsTheSlowSubscriberOnly) {
    Hub hub({.max_backlog = 4}, clock_, &metrics_);
    auto slow = subscribe(hub, {"chat:a"});
    auto fast = subscribe(hub, {"chat:a"});
    for (int i = 0; i < 4; ++i) hub.publish("chat:a", "n", {});
    EXPECT_EQ(take(fast).events.size(), 4u);
    hub.publish("chat:a", "n", {});  // the fifth waiting event for `slow`
    settle();
    EXPECT_EQ(slow->end_reason(), Subscriber::End::overflow);
    auto batch = take(slow);
    EXPECT_TRUE(batch.ended);
    EXPECT_TRUE(batch.events.empty());  // its queue was dropped
    EXPECT_EQ(take(fast).events.size(), 1u);
    EXPECT_EQ(fast->end_reason(), Subscriber::End::none);
    EXPECT_EQ(metrics_.counter("onda_realtime_overflows_total", "", {}).value(), 1u);

    // It resumes from the history on reconnect.
    auto again = subscribe(hub, {"chat:a"}, hub.epoch() + "-0");
    EXPECT_EQ(take(again).events.size(), 5u);
    release(again);
    release(slow);
    release(fast);
}

TEST_F(HubTest, TheReplayDoesNotCountAgainstTheBacklog) {
    Hub hub({.max_backlog = 2}, clock_, &metrics_);
    for (int i = 0; i < 5; ++i) hub.publish("chat:a", "n", {});
    auto subscriber = subscribe(hub, {"chat:a"}, hub.epoch() + "-0");
    hub.publish("chat:a", "n", {});
    hub.publish("chat:a", "n", {});
    settle();
    EXPECT_EQ(subscriber->end_reason(), Subscriber::End::none);
    EXPECT_EQ(take(subscriber).events.size(), 7u);
    release(subscriber);
}

TEST_F(HubTest, CloseEndsEveryWaitingSubscriberPromptly) {
    Hub hub({}, clock_, &metrics_);
    auto a = subscribe(hub, {"chat:a"});
    auto b = subscribe(hub, {"user:bob", "chat:a"});
    auto const started = Clock::now();
    auto pending_a = io_.start(a->next(started + 30s));
    auto pending_b = io_.start(b->next(started + 30s));
    hub.close();
    ASSERT_EQ(pending_a.wait_for(10s), std::future_status::ready);
    ASSERT_EQ(pending_b.wait_for(10s), std::future_status::ready);
    EXPECT_TRUE(pending_a.get().ended);
    EXPECT_TRUE(pending_b.get().ended);
    EXPECT_LT(Clock::now() - started, 10s);
    EXPECT_EQ(a->end_reason(), Subscriber::End::closed);
    EXPECT_TRUE(hub.is_closed());

    auto late = subscribe(hub, {"chat:a"});
    EXPECT_TRUE(take(late).ended);
    release(late);
    release(a);
    release(b);
}

TEST_F(HubTest, CloseStillHandsOutWhatWasQueued) {
    Hub hub({}, clock_, &metrics_);
    auto subscriber = subscribe(hub, {"chat:a"});
    hub.publish("chat:a", "n", {});
    hub.close();
    auto first = take(subscriber);
    EXPECT_EQ(first.events.size(), 1u);
    EXPECT_FALSE(first.ended);
    EXPECT_TRUE(take(subscriber).ended);
    release(subscriber);
}

TEST_F(HubTest, SubscribersLeaveTheirRoomsWhenReleased) {
    Hub hub({}, clock_, &metrics_);
    auto& subscribers = metrics_.gauge("onda_realtime_subscribers", "", {});
    auto& queued = metrics_.gauge("onda_realtime_queued_events", "", {});
    auto subscriber = subscribe(hub, {"chat:a", "chat:a", "chat:b"});
    EXPECT_EQ(subscriber->rooms(), (std::vector<std::string>{"chat:a", "chat:b"}));
    hub.publish("chat:a", "n", {});
    hub.publish("chat:b", "n", {});
    settle();
    EXPECT_EQ(subscribers.value(), 1);
    EXPECT_EQ(queued.value(), 2);
    release(subscriber);
    EXPECT_EQ(subscribers.value(), 0);
    EXPECT_EQ(queued.value(), 0);
    hub.publish("chat:a", "n", {});  // no one left to offer it to
}

// As a connection's coroutine does: the frame owns the subscriber.
Task<Batch> hold_and_wait(std::shared_ptr<Subscriber> subscriber, Clock::time_point deadline) {
    co_return co_await subscriber->next(deadline);
}

TEST_F(HubTest, AServerThreadEndingMidWaitLeavesNothingBehind) {
    Hub hub({}, clock_, &metrics_);
    {
        net::io_context context{1};
        auto subscriber = hub.subscribe(context.get_executor(), {"chat:a"});
        auto pending = net::co_spawn(context, hold_and_wait(subscriber, Clock::now() + 30s), net::use_future);
        subscriber.reset();
        context.poll();                  // next() is now waiting on its timer
        hub.publish("chat:a", "n", {});  // posts a wake-up that will never run
    }  // the context goes with the suspended frame and the queued wake-up: ASan checks the rest
    EXPECT_EQ(metrics_.gauge("onda_realtime_subscribers", "", {}).value(), 0);
    EXPECT_EQ(metrics_.gauge("onda_realtime_queued_events", "", {}).value(), 0);
    hub.publish("chat:a", "n", {});
}

}  // namespace
}  // namespace onda::realtime
