#include "realtime/sse_door.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <sstream>

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "io_thread.hpp"

namespace onda::realtime {
namespace {

using namespace std::chrono_literals;
using test::IoThread;

// One request to the door and the stream it answered with, driven on the io thread like a
// connection would.
class SseDoorTest : public ::testing::Test {
protected:
    struct Exchange {
        std::unique_ptr<http::Request> request;
        http::Response response;
        // The next chunk of the body; nullopt at its end.
        std::optional<std::string> next_chunk(IoThread& io) {
            auto* stream = std::get_if<std::unique_ptr<http::BodyStream>>(&response.body());
            if (!stream) throw std::logic_error("not a stream");
            auto chunk = io.run((*stream)->next());
            if (!chunk) throw ErrorException(chunk.error());
            return *chunk;
        }
    };

    SseDoorTest() : hub_({.epoch = "e1"}, clock_), door_(hub_, {.keepalive = 100ms}, access()) {}
    ~SseDoorTest() override {
        for (auto& exchange : exchanges_)
            io_.call([&] {
                exchange = Exchange{};  // streams (and their subscribers) end on their thread
                return 0;
            });
    }

    // The media rooms the app would allow: media:m_public to anyone, the rest to their owner alice.
    RoomAccess access() {
        return [](auth::Identity const& who, std::string_view room) -> Task<Result<void>> {
            std::string name(room);  // the coroutine keeps its own copy
            return decide(who.user, name);
        };
    }
    static Task<Result<void>> decide(std::string user, std::string room) {
        if (room == "media:m_public" || user == "alice") co_return ok();
        if (user.empty()) co_return Error(Errc::unauthenticated, "a token is required");
        co_return Error(Errc::forbidden, "not yours");
    }

    Exchange& get(std::string target, std::string user = {}, auth::Role role = auth::Role::viewer,
                  std::vector<http::Request::Header> headers = {}) {
        auto& exchange = exchanges_.emplace_back();
        exchange.request =
            std::make_unique<http::Request>("GET", std::move(target), std::move(headers), "127.0.0.1", "r1", nullptr);
        if (!user.empty()) exchange.request->context() = auth::Identity{.user = user, .role = role};
        exchange.response = io_.run(door_.events(*exchange.request));
        return exchange;
    }

    static std::string code_of(http::Response const& response) {
        auto const* text = std::get_if<std::string>(&response.body());
        if (!text) return {};
        return std::string(boost::json::parse(*text).at("error").at("code").as_string());
    }

    ManualClock clock_{SystemTime{}};
    IoThread io_;
    Hub hub_;
    SseDoor door_;
    std::deque<Exchange> exchanges_;
};

TEST_F(SseDoorTest, AFreshStreamStartsWithRetryAndThePosition) {
    hub_.publish("chat:s1", "chat_message", {});
    auto& stream = get("/v1/events?rooms=chat:s1");
    EXPECT_EQ(stream.response.status(), 200u);
    EXPECT_EQ(stream.response.header("Content-Type"), "text/event-stream");
    EXPECT_EQ(stream.response.header("Cache-Control"), "no-store");
    EXPECT_EQ(stream.next_chunk(io_), "retry: 3000\n\nid: e1-1\n\n");
}

TEST_F(SseDoorTest, PublishedEventsAreWrittenAsTheyArrive) {
    auto& stream = get("/v1/events?rooms=chat:s1,stream:s1");
    stream.next_chunk(io_);
    hub_.publish("chat:s1", "chat_message", {{"message", "hi"}});
    hub_.publish("stream:s1", "stream_status", {{"status", "live"}});
    std::string text;
    while (text.find("stream_status") == std::string::npos) text += stream.next_chunk(io_).value();
    EXPECT_EQ(text,
              "event: chat_message\nid: e1-1\ndata: {\"message\":\"hi\"}\n\n"
              "event: stream_status\nid: e1-2\ndata: {\"status\":\"live\"}\n\n");
}

TEST_F(SseDoorTest, SilenceIsBrokenByAKeepaliveComment) {
    auto& stream = get("/v1/events?rooms=chat:s1");
    stream.next_chunk(io_);
    auto const started = std::chrono::steady_clock::now();
    EXPECT_EQ(stream.next_chunk(io_), ": keepalive\n\n");
    EXPECT_GE(std::chrono::steady_clock::now() - started, 100ms);
}

TEST_F(SseDoorTest, LastEventIdResumesFromTheHistory) {
    for (int i = 0; i < 3; ++i) hub_.publish("chat:s1", "n", {{"i", i}});
    auto& stream = get("/v1/events?rooms=chat:s1", {}, auth::Role::viewer, {{"Last-Event-ID", "e1-1"}});
    EXPECT_EQ(stream.next_chunk(io_), "retry: 3000\n\n");
    EXPECT_EQ(stream.next_chunk(io_), "event: n\nid: e1-2\ndata: {\"i\":1}\n\nevent: n\nid: e1-3\ndata: {\"i\":2}\n\n");
}

TEST_F(SseDoorTest, TheLastEventIdQueryParameterWorksToo) {
    for (int i = 0; i < 3; ++i) hub_.publish("chat:s1", "n", {{"i", i}});
    auto& stream = get("/v1/events?rooms=chat:s1&lastEventId=e1-2");
    stream.next_chunk(io_);
    EXPECT_EQ(stream.next_chunk(io_), "event: n\nid: e1-3\ndata: {\"i\":2}\n\n");
}

TEST_F(SseDoorTest, AnUnknownIdGetsAResetWithTheCurrentPosition) {
    hub_.publish("chat:s1", "n", {});
    auto& stream = get("/v1/events?rooms=chat:s1", {}, auth::Role::viewer, {{"Last-Event-ID", "0ld3p0ch-5"}});
    EXPECT_EQ(stream.next_chunk(io_), "retry: 3000\n\nevent: reset\nid: e1-1\ndata: {}\n\n");
}

TEST_F(SseDoorTest, TheStreamEndsWhenTheHubCloses) {
    auto& stream = get("/v1/events?rooms=chat:s1");
    stream.next_chunk(io_);
    auto* body = std::get_if<std::unique_ptr<http::BodyStream>>(&stream.response.body());
    auto pending = io_.start((*body)->next());
    hub_.close();
    ASSERT_EQ(pending.wait_for(10s), std::future_status::ready);
    auto end = pending.get();
    ASSERT_TRUE(end);
    EXPECT_FALSE(*end);
    EXPECT_EQ(get("/v1/events?rooms=chat:s1").response.status(), 503u);
}

// spdlog's default logger writes to a string for as long as this lives.
class CapturedLog {
public:
    CapturedLog() : previous_(spdlog::default_logger()) {
        spdlog::set_default_logger(
            std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(lines_)));
    }
    ~CapturedLog() { spdlog::set_default_logger(previous_); }
    CapturedLog(CapturedLog const&) = delete;
    CapturedLog& operator=(CapturedLog const&) = delete;
    std::string text() const { return lines_.str(); }

private:
    std::ostringstream lines_;
    std::shared_ptr<spdlog::logger> previous_;
};

// A stream whose reader falls behind ends (the client resumes with Last-Event-ID), and the log says
// which request and why, as for a Socket.IO slow consumer.
TEST_F(SseDoorTest, AStreamThatFallsBehindEndsAndTheLogSaysWhy) {
    CapturedLog log;
    Hub small({.max_backlog = 2, .epoch = "e2"}, clock_);
    SseDoor door(small, {.keepalive = 100ms}, access());
    Exchange exchange;
    struct EndOnItsThread {  // the stream and its subscriber end on their thread, before the hub
        IoThread& io;
        Exchange& exchange;
        ~EndOnItsThread() {
            io.call([this] {
                exchange = Exchange{};
                return 0;
            });
        }
    } ending{io_, exchange};
    exchange.request = std::make_unique<http::Request>(
        "GET", "/v1/events?rooms=chat:s1", std::vector<http::Request::Header>{}, "127.0.0.1", "r7", nullptr);
    exchange.response = io_.run(door.events(*exchange.request));
    exchange.next_chunk(io_);                                               // the opening
    for (int i = 0; i < 3; ++i) small.publish("chat:s1", "n", {{"i", i}});  // one more than it may hold
    EXPECT_EQ(exchange.next_chunk(io_), std::nullopt);
    EXPECT_NE(log.text().find("req=r7 sse stream ended: slow consumer"), std::string::npos) << log.text();
    EXPECT_NE(log.text().find("rooms=chat:s1"), std::string::npos) << log.text();
}

TEST_F(SseDoorTest, UserRoomsAreForThatUserOrAnAdmin) {
    EXPECT_EQ(get("/v1/events?rooms=user:alice", "alice").response.status(), 200u);
    EXPECT_EQ(get("/v1/events?rooms=user:alice", "root", auth::Role::admin).response.status(), 200u);
    auto& bob = get("/v1/events?rooms=user:alice", "bob");
    EXPECT_EQ(bob.response.status(), 403u);
    EXPECT_EQ(code_of(bob.response), "forbidden");
    auto& anonymous = get("/v1/events?rooms=user:alice");
    EXPECT_EQ(anonymous.response.status(), 401u);
    EXPECT_EQ(code_of(anonymous.response), "unauthenticated");
}

TEST_F(SseDoorTest, ChatAndStreamRoomsAreOpenToAnyone) {
    EXPECT_EQ(get("/v1/events?rooms=chat:s1,stream:s1").response.status(), 200u);
}

TEST_F(SseDoorTest, MediaAndUploadRoomsAreDecidedByTheCallback) {
    EXPECT_EQ(get("/v1/events?rooms=media:m_public").response.status(), 200u);
    EXPECT_EQ(get("/v1/events?rooms=media:m_private").response.status(), 401u);
    EXPECT_EQ(get("/v1/events?rooms=media:m_private", "bob").response.status(), 403u);
    EXPECT_EQ(get("/v1/events?rooms=media:m_private,upload:u_1", "alice").response.status(), 200u);
    // One room the caller may not read refuses the whole stream.
    EXPECT_EQ(get("/v1/events?rooms=chat:s1,upload:u_1", "bob").response.status(), 403u);
}

TEST_F(SseDoorTest, WithoutACallbackThoseRoomsAreForbidden) {
    SseDoor strict(hub_, {}, nullptr);
    http::Request request("GET", "/v1/events?rooms=media:m_1", {}, "127.0.0.1", "r1", nullptr);
    request.context() = auth::Identity{.user = "alice"};
    auto response = io_.run(strict.events(request));
    EXPECT_EQ(response.status(), 403u);
}

TEST_F(SseDoorTest, BadRoomListsAre400) {
    for (std::string target : {"/v1/events", "/v1/events?rooms=", "/v1/events?rooms=,,", "/v1/events?rooms=nope:1",
                               "/v1/events?rooms=chat:", "/v1/events?rooms=chat:a%20b", "/v1/events?rooms=chat"}) {
        auto& exchange = get(target, "alice");
        EXPECT_EQ(exchange.response.status(), 400u) << target;
        EXPECT_EQ(code_of(exchange.response), "invalid_argument") << target;
    }
}

TEST_F(SseDoorTest, AtMost32Rooms) {
    std::string rooms;
    for (int i = 0; i < 32; ++i) rooms += "chat:r" + std::to_string(i) + ",";
    EXPECT_EQ(get("/v1/events?rooms=" + rooms).response.status(), 200u);
    EXPECT_EQ(get("/v1/events?rooms=" + rooms + "chat:one-more").response.status(), 400u);
}

}  // namespace
}  // namespace onda::realtime
