#include "realtime/engineio_session.hpp"
#include "realtime/heartbeats.hpp"

#include <chrono>
#include <future>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "io_thread.hpp"
#include "support/eventually.hpp"

namespace onda::realtime {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Pulled = EngineIoSession::Pulled;
using test::IoThread;

struct Recorder final : EngineIoSession::Listener {
    std::vector<EnginePacket> messages;
    std::vector<CloseReason> closes;
    void on_message(EnginePacket packet) override { messages.push_back(std::move(packet)); }
    void on_close(CloseReason reason) override { closes.push_back(reason); }
};

// A WebSocket writer that only counts how often it is told.
struct CountingWriter final : EngineIoSession::Writer {
    int told = 0;
    void frames_ready() override { ++told; }
};

std::vector<std::string> texts(Pulled const& pulled) {
    std::vector<std::string> out;
    for (auto const& frame : pulled.frames) out.push_back(*frame.bytes);
    return out;
}

// A session on an io thread, driven the way transports drive it.
class EngineIoSessionTest : public ::testing::Test {
protected:
    ~EngineIoSessionTest() override {
        io_.call([&] {
            if (session_) session_->close(CloseReason::server_shutdown);
            return 0;
        });
        for (auto& pending : pending_) pending.wait();
        io_.call([&] {
            session_.reset();
            heartbeats_.reset();
            return 0;
        });
    }

    void open(Transport transport = Transport::polling) {
        io_.call([&] {
            session_ = std::make_unique<EngineIoSession>("sid-0", transport, options_, io_.executor(), recorder_);
            return 0;
        });
    }
    void start_heartbeat() {
        io_.call([&] {
            heartbeats_ = std::make_shared<Heartbeats>(io_.executor(), options_);
            session_->start_heartbeat(*heartbeats_, nullptr);
            return 0;
        });
    }
    std::size_t heartbeat_sessions() {
        return io_.call([&] { return heartbeats_->size(); });
    }

    template <class Fn>
    auto on_session(Fn fn) {
        return io_.call([&] { return fn(*session_); });
    }
    Result<Pulled> pull_now(Transport via = Transport::polling) { return io_.run(session_->pull(via, Clock::now())); }
    // Starts a pull and returns once it waits (or ended): the io thread runs jobs in order.
    std::shared_future<Result<Pulled>> start_pull(Transport via, std::chrono::milliseconds wait) {
        auto future = io_.start(session_->pull(via, Clock::now() + wait)).share();
        pending_.push_back(future);
        io_.call([] { return 0; });
        return future;
    }
    // The open packet every session queues first.
    void drain_handshake() { ASSERT_TRUE(pull_now(session_->transport())); }
    bool send(std::string text) {
        return on_session([&](EngineIoSession& s) { return s.send(OutFrame::text(std::move(text))); });
    }
    Result<void> receive(std::string_view text) {
        return on_session([&](EngineIoSession& s) { return s.receive(*decode_engine_text(text)); });
    }
    // Waits (bounded) until `fn()` on the io thread is true.
    template <class Fn>
    bool eventually(Fn fn, std::chrono::milliseconds limit = 2s) {
        return onda::test::eventually([&] { return io_.call(fn); }, limit);
    }

    EngineOptions options_{.ping_interval = 25s, .ping_timeout = 20s, .max_payload = 1000};
    Recorder recorder_;
    IoThread io_;
    std::unique_ptr<EngineIoSession> session_;
    std::vector<std::shared_future<Result<Pulled>>> pending_;
    std::shared_ptr<Heartbeats> heartbeats_;
};

TEST_F(EngineIoSessionTest, TheFirstPullIsTheOpenPacketWithTheHandshakeValues) {
    open(Transport::polling);
    auto pulled = pull_now();
    ASSERT_TRUE(pulled);
    ASSERT_EQ(pulled->frames.size(), 1u);
    auto const& text = *pulled->frames[0].bytes;
    ASSERT_EQ(text.front(), '0');
    auto handshake = boost::json::parse(text.substr(1)).as_object();
    EXPECT_EQ(handshake.at("sid"), "sid-0");
    EXPECT_EQ(handshake.at("upgrades"), boost::json::array{"websocket"});
    EXPECT_EQ(handshake.at("pingInterval"), 25000);
    EXPECT_EQ(handshake.at("pingTimeout"), 20000);
    EXPECT_EQ(handshake.at("maxPayload"), 1000);
    EXPECT_FALSE(pulled->closed);
}

TEST_F(EngineIoSessionTest, AWebSocketSessionOffersNoUpgrade) {
    open(Transport::websocket);
    auto pulled = pull_now(Transport::websocket);
    ASSERT_TRUE(pulled);
    auto handshake = boost::json::parse(pulled->frames[0].bytes->substr(1)).as_object();
    EXPECT_TRUE(handshake.at("upgrades").as_array().empty());
}

TEST_F(EngineIoSessionTest, APullTakesEverythingQueuedInOrder) {
    open();
    drain_handshake();
    EXPECT_TRUE(send("4a"));
    EXPECT_TRUE(send("4b"));
    auto pulled = pull_now();
    ASSERT_TRUE(pulled);
    EXPECT_EQ(texts(*pulled), (std::vector<std::string>{"4a", "4b"}));
    EXPECT_EQ(on_session([](EngineIoSession& s) { return s.queued_bytes(); }), 0u);
}

TEST_F(EngineIoSessionTest, AHeldPullEndsAsSoonAsSomethingIsSent) {
    open();
    drain_handshake();
    auto const started = Clock::now();
    auto pulled = start_pull(Transport::polling, 10s);
    EXPECT_NE(pulled.wait_for(0s), std::future_status::ready);
    EXPECT_TRUE(send("4late"));
    ASSERT_EQ(pulled.wait_for(5s), std::future_status::ready);
    EXPECT_LT(Clock::now() - started, 5s);
    EXPECT_EQ(texts(*pulled.get()), std::vector<std::string>{"4late"});
}

TEST_F(EngineIoSessionTest, AHeldPullEndsEmptyAtItsDeadline) {
    open();
    drain_handshake();
    auto pulled = start_pull(Transport::polling, 30ms);
    ASSERT_EQ(pulled.wait_for(5s), std::future_status::ready);
    ASSERT_TRUE(pulled.get());
    EXPECT_TRUE(pulled.get()->frames.empty());
    EXPECT_FALSE(pulled.get()->closed);
}

TEST_F(EngineIoSessionTest, TwoPollsAtOnceEndTheSession) {
    open();
    drain_handshake();
    auto first = start_pull(Transport::polling, 10s);
    auto second = pull_now();
    EXPECT_FALSE(second);
    ASSERT_EQ(first.wait_for(5s), std::future_status::ready);
    EXPECT_TRUE(first.get()->closed);
    EXPECT_EQ(recorder_.closes, std::vector<CloseReason>{CloseReason::protocol_error});
}

TEST_F(EngineIoSessionTest, TooManyQueuedFramesEndTheSessionAsASlowConsumer) {
    options_.max_queued_frames = 3;  // the open packet and two more
    open();
    EXPECT_TRUE(send("4a"));
    EXPECT_TRUE(send("4b"));
    EXPECT_FALSE(send("4c"));
    EXPECT_TRUE(on_session([](EngineIoSession& s) { return s.is_closed(); }));
    EXPECT_EQ(recorder_.closes, std::vector<CloseReason>{CloseReason::slow_consumer});
    EXPECT_EQ(on_session([](EngineIoSession& s) { return s.queued_frames(); }), 0u);  // the memory is freed
    EXPECT_FALSE(send("4d"));
}

TEST_F(EngineIoSessionTest, TooManyQueuedBytesEndTheSessionAsASlowConsumer) {
    options_.max_queued_bytes = 300;
    open();
    drain_handshake();
    EXPECT_TRUE(send(std::string(200, 'x')));
    EXPECT_FALSE(send(std::string(101, 'x')));
    EXPECT_EQ(recorder_.closes, std::vector<CloseReason>{CloseReason::slow_consumer});
}

TEST_F(EngineIoSessionTest, PingsComeEveryIntervalAndPongsKeepTheSessionOpen) {
    options_.ping_interval = 20ms;
    options_.ping_timeout = 200ms;
    open();
    drain_handshake();
    start_heartbeat();
    for (int i = 0; i < 3; ++i) {
        auto pulled = io_.run(session_->pull(Transport::polling, Clock::now() + 5s));
        ASSERT_TRUE(pulled);
        EXPECT_EQ(texts(*pulled), std::vector<std::string>{"2"});
        EXPECT_TRUE(receive("3"));
    }
    EXPECT_FALSE(on_session([](EngineIoSession& s) { return s.is_closed(); }));
}

TEST_F(EngineIoSessionTest, TheNextPingIsAnIntervalAfterThePongNotAfterTheTimeout) {
    options_.ping_interval = 50ms;
    options_.ping_timeout = 10s;  // a client waits at most interval + timeout between pings
    open();
    drain_handshake();
    start_heartbeat();
    auto first = io_.run(session_->pull(Transport::polling, Clock::now() + 5s));
    ASSERT_EQ(texts(*first), std::vector<std::string>{"2"});
    EXPECT_TRUE(receive("3"));
    auto const ponged = Clock::now();
    auto second = io_.run(session_->pull(Transport::polling, Clock::now() + 5s));
    ASSERT_EQ(texts(*second), std::vector<std::string>{"2"});
    EXPECT_LT(Clock::now() - ponged, 2s);
}

TEST_F(EngineIoSessionTest, ALatePongEndsTheSession) {
    options_.ping_interval = 10ms;
    options_.ping_timeout = 20ms;
    open();
    start_heartbeat();
    ASSERT_TRUE(eventually([&] { return session_->is_closed(); }));
    EXPECT_EQ(recorder_.closes, std::vector<CloseReason>{CloseReason::ping_timeout});
    EXPECT_EQ(heartbeat_sessions(), 0u);  // a closed session leaves the thread's heartbeats
}

// One Heartbeats keeps the time for many sessions of a thread: each is pinged on its own schedule,
// a pong keeps only its own session, and the one that does not answer is closed alone.
TEST(Heartbeats, OneTimerPingsEverySessionAndClosesOnlyTheSilentOne) {
    EngineOptions options{.ping_interval = 20ms, .ping_timeout = 150ms};
    IoThread io;
    Recorder answering_recorder, silent_recorder;
    std::shared_ptr<Heartbeats> heartbeats;
    std::unique_ptr<EngineIoSession> answering, silent;
    io.call([&] {
        heartbeats = std::make_shared<Heartbeats>(io.executor(), options);
        answering =
            std::make_unique<EngineIoSession>("a-0", Transport::polling, options, io.executor(), answering_recorder);
        silent = std::make_unique<EngineIoSession>("s-0", Transport::polling, options, io.executor(), silent_recorder);
        answering->start_heartbeat(*heartbeats, nullptr);
        silent->start_heartbeat(*heartbeats, nullptr);
        return heartbeats->size();
    });
    ASSERT_TRUE(io.run(answering->pull(Transport::polling, Clock::now())));  // the open packets
    ASSERT_TRUE(io.run(silent->pull(Transport::polling, Clock::now())));
    int pings = 0;
    auto const until = Clock::now() + 5s;
    while (Clock::now() < until && io.call([&] { return silent_recorder.closes.empty(); })) {
        auto pulled = io.run(answering->pull(Transport::polling, Clock::now() + 50ms));
        ASSERT_TRUE(pulled);
        for (auto const& text : texts(*pulled)) {
            ASSERT_EQ(text, "2");
            ++pings;
            ASSERT_TRUE(io.call([&] { return answering->receive(*decode_engine_text("3")); }));
        }
    }
    EXPECT_EQ(silent_recorder.closes, std::vector<CloseReason>{CloseReason::ping_timeout});
    EXPECT_GE(pings, 2);  // pinged again after each pong, while the other session waited out its timeout
    EXPECT_TRUE(answering_recorder.closes.empty());
    EXPECT_EQ(io.call([&] { return heartbeats->size(); }), 1u);
    io.call([&] {
        answering->close(CloseReason::server_shutdown);
        auto const left = heartbeats->size();
        answering.reset();
        silent.reset();
        heartbeats.reset();  // its wait was cancelled with the last session: the thread can end
        return left;
    });
}

TEST_F(EngineIoSessionTest, MessagesGoToTheListenerInOrder) {
    open();
    EXPECT_TRUE(receive("4first"));
    EXPECT_TRUE(on_session([](EngineIoSession& s) { return s.receive(engine_binary("\x01")); }));
    EXPECT_TRUE(receive("6"));
    ASSERT_EQ(recorder_.messages.size(), 2u);
    EXPECT_EQ(recorder_.messages[0].data, "first");
    EXPECT_TRUE(recorder_.messages[1].binary);
}

TEST_F(EngineIoSessionTest, ACloseFromTheClientEndsTheSession) {
    open();
    EXPECT_TRUE(receive("1"));
    EXPECT_EQ(recorder_.closes, std::vector<CloseReason>{CloseReason::client_closed});
    EXPECT_FALSE(receive("4late"));
    EXPECT_TRUE(recorder_.messages.empty());
}

TEST_F(EngineIoSessionTest, OpenAndUpgradePacketsFromTheClientAreProtocolErrors) {
    for (std::string_view text : {"0", "5"}) {
        open();
        EXPECT_FALSE(receive(text)) << text;
        EXPECT_TRUE(on_session([](EngineIoSession& s) { return s.is_closed(); })) << text;
    }
    EXPECT_EQ(recorder_.closes, (std::vector<CloseReason>{CloseReason::protocol_error, CloseReason::protocol_error}));
}

TEST_F(EngineIoSessionTest, AnOldStyleClientPingIsAnswered) {
    open();
    drain_handshake();
    EXPECT_TRUE(receive("2"));
    EXPECT_EQ(texts(*pull_now()), std::vector<std::string>{"3"});
}

TEST_F(EngineIoSessionTest, TheUpgradeEndsTheHeldPollWithANoopAndMovesTheQueueToTheWebSocket) {
    open();
    drain_handshake();
    auto held = start_pull(Transport::polling, 10s);
    ASSERT_TRUE(on_session([](EngineIoSession& s) { return s.begin_probe(); }));
    EXPECT_FALSE(on_session([](EngineIoSession& s) { return s.begin_probe(); }));  // one probe at a time
    on_session([](EngineIoSession& s) {
        s.probe_received();
        return 0;
    });
    ASSERT_EQ(held.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(texts(*held.get()), std::vector<std::string>{"6"});

    // While the probe lasts, polls are answered at once so the client can pause polling.
    EXPECT_EQ(texts(*pull_now()), std::vector<std::string>{"6"});
    EXPECT_TRUE(send("4during"));
    EXPECT_EQ(texts(*pull_now()), std::vector<std::string>{"4during"});

    EXPECT_TRUE(send("4queued"));
    ASSERT_TRUE(on_session([](EngineIoSession& s) { return s.complete_upgrade(); }));
    EXPECT_EQ(on_session([](EngineIoSession& s) { return s.transport(); }), Transport::websocket);
    EXPECT_FALSE(pull_now(Transport::polling));
    EXPECT_EQ(texts(*pull_now(Transport::websocket)), std::vector<std::string>{"4queued"});
    EXPECT_TRUE(recorder_.closes.empty());
}

TEST_F(EngineIoSessionTest, APollHeldDuringTheProbeStillCarriesWhatIsQueued) {
    open();
    drain_handshake();
    auto held = start_pull(Transport::polling, 10s);
    ASSERT_TRUE(on_session([](EngineIoSession& s) { return s.begin_probe(); }));
    EXPECT_TRUE(send("4x"));
    ASSERT_EQ(held.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(texts(*held.get()), std::vector<std::string>{"4x"});
    EXPECT_EQ(texts(*pull_now()), std::vector<std::string>{"6"});  // probing: answered at once
    ASSERT_TRUE(on_session([](EngineIoSession& s) { return s.complete_upgrade(); }));
    EXPECT_FALSE(pull_now(Transport::polling));
}

TEST_F(EngineIoSessionTest, TheGetHeldWhenTheUpgradeCompletesEndsWithANoop) {
    open();
    drain_handshake();
    auto held = start_pull(Transport::polling, 10s);
    ASSERT_TRUE(on_session([](EngineIoSession& s) { return s.begin_probe(); }));
    ASSERT_TRUE(on_session([](EngineIoSession& s) { return s.complete_upgrade(); }));
    ASSERT_EQ(held.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(texts(*held.get()), std::vector<std::string>{"6"});
    EXPECT_TRUE(send("4x"));
    EXPECT_EQ(texts(*pull_now(Transport::websocket)), std::vector<std::string>{"4x"});
    EXPECT_FALSE(pull_now(Transport::polling));
}

TEST_F(EngineIoSessionTest, AnAbortedProbeLeavesPollingAsItWas) {
    open();
    drain_handshake();
    ASSERT_TRUE(on_session([](EngineIoSession& s) { return s.begin_probe(); }));
    on_session([](EngineIoSession& s) {
        s.abort_probe();
        return 0;
    });
    auto held = start_pull(Transport::polling, 40ms);  // held again, to its deadline
    ASSERT_EQ(held.wait_for(5s), std::future_status::ready);
    EXPECT_TRUE(held.get()->frames.empty());
    EXPECT_FALSE(on_session([](EngineIoSession& s) { return s.complete_upgrade(); }));
}

TEST_F(EngineIoSessionTest, OnlyAPollingSessionCanBeProbed) {
    open(Transport::websocket);
    EXPECT_FALSE(on_session([](EngineIoSession& s) { return s.begin_probe(); }));
}

TEST_F(EngineIoSessionTest, ClosingWakesAHeldPullWithTheEnd) {
    open();
    drain_handshake();
    auto held = start_pull(Transport::polling, 10s);
    EXPECT_TRUE(send("4x"));
    held.wait();
    auto again = start_pull(Transport::polling, 10s);
    on_session([](EngineIoSession& s) {
        s.close(CloseReason::ping_timeout);
        return 0;
    });
    ASSERT_EQ(again.wait_for(5s), std::future_status::ready);
    EXPECT_TRUE(again.get()->closed);
    EXPECT_EQ(recorder_.closes, std::vector<CloseReason>{CloseReason::ping_timeout});
}

TEST_F(EngineIoSessionTest, TheLastPullSaysWhyTheSessionEnded) {
    open(Transport::websocket);
    on_session([](EngineIoSession& s) {
        s.close(CloseReason::slow_consumer);
        return 0;
    });
    auto pulled = pull_now(Transport::websocket);
    ASSERT_TRUE(pulled);
    EXPECT_TRUE(pulled->closed);
    EXPECT_EQ(pulled->reason, CloseReason::slow_consumer);
    EXPECT_EQ(close_code_for(pulled->reason), 1013);
    EXPECT_EQ(close_code_for(CloseReason::protocol_error), 1002);
    EXPECT_EQ(close_code_for(CloseReason::server_shutdown), 1001);
    EXPECT_EQ(close_code_for(CloseReason::client_closed), 1000);
}

TEST_F(EngineIoSessionTest, AServerDisconnectStillSendsWhatWasQueued) {
    open();
    drain_handshake();
    EXPECT_TRUE(send("41"));
    on_session([](EngineIoSession& s) {
        s.close(CloseReason::server_disconnect);
        s.close(CloseReason::ping_timeout);  // once closed, stays closed for the first reason
        return 0;
    });
    auto pulled = pull_now();
    ASSERT_TRUE(pulled);
    EXPECT_EQ(texts(*pulled), std::vector<std::string>{"41"});
    EXPECT_TRUE(pulled->closed);
    EXPECT_EQ(recorder_.closes, std::vector<CloseReason>{CloseReason::server_disconnect});
}

TEST_F(EngineIoSessionTest, AWriterIsToldOnceUntilItIsIdleWhetherItTakesOrSendsAtOnce) {
    open(Transport::websocket);
    CountingWriter writer;
    on_session([&](EngineIoSession& session) {
        session.set_writer(&writer);  // the open packet is queued: told at once
        EXPECT_EQ(writer.told, 1);
        EXPECT_EQ(session.queued().size(), 1u);
        session.send(OutFrame::text("4a"));
        EXPECT_EQ(writer.told, 1);  // busy: not told again
        EXPECT_EQ(session.queued().size(), 2u);
        session.sent(2, true);  // sent at once, and the writer carries on (bytes owed)
        EXPECT_EQ(session.queued_frames(), 0u);
        EXPECT_EQ(session.queued_bytes(), 0u);
        session.send(OutFrame::text("4b"));
        EXPECT_EQ(writer.told, 1);  // still busy
        EXPECT_EQ(texts(session.take()), std::vector<std::string>{"4b"});
        EXPECT_TRUE(session.take().frames.empty());  // nothing left: idle
        session.send(OutFrame::text("4c"));
        EXPECT_EQ(writer.told, 2);
        session.send(OutFrame::text("4cc"));
        session.sent(1, true);  // the first sent; the writer carries on with the rest
        EXPECT_EQ(session.queued_frames(), 1u);
        if (session.queued_frames() == 1) {
            EXPECT_EQ(*session.queued().front().bytes, "4cc");
        }
        EXPECT_EQ(session.queued_bytes(), 3u);
        session.send(OutFrame::text("4c3"));
        EXPECT_EQ(writer.told, 2);  // still busy
        session.sent(2, false);     // all sent: idle at once
        session.send(OutFrame::text("4d"));
        EXPECT_EQ(writer.told, 3);
        session.set_writer(nullptr);
        return 0;
    });
}

}  // namespace
}  // namespace onda::realtime
