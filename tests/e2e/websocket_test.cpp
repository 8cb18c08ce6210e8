// The Socket.IO WebSocket against the real binary with a client that stops reading: the server writes
// to thousands of sockets without a task each, and a socket that takes only part of a write keeps
// the rest for later. This client's receive buffer is tiny and it reads nothing while several
// megabytes are sent to it, so the server's writes are cut short mid-frame; once it reads again,
// every event must arrive whole and in order. A session closed while its WebSocket waits for the
// thread's write pass still gets its WebSocket closed; more sockets than a slice of the pass, and
// more frames than one write takes, still get every event. And at shutdown a client that never answers
// the closing handshake does not hold the server up for long.
#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "e2e.hpp"
#include "support/media_fixtures.hpp"
#include "support/raw_socket.hpp"

namespace onda::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A blocking RFC 6455 client for /socket.io/ (Engine.IO v4 over WebSocket): text messages only,
// unfragmented, Engine.IO pings answered, WebSocket pongs kept aside. `receive_buffer` > 0 sets
// SO_RCVBUF before connecting; a `sid` opens the WebSocket that upgrades that polling session.
class EngineIoClient {
public:
    EngineIoClient(std::uint16_t port, int receive_buffer = 0, std::string const& sid = {})
        : socket_(port, receive_buffer) {
        send_all("GET /socket.io/?EIO=4&transport=websocket" + (sid.empty() ? std::string() : "&sid=" + sid) +
                 " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
        while (in_.find("\r\n\r\n") == std::string::npos) read_more(Clock::now() + 10s);
        auto const end = in_.find("\r\n\r\n") + 4;
        if (!in_.starts_with("HTTP/1.1 101")) throw std::runtime_error("no 101: " + in_.substr(0, end));
        in_.erase(0, end);
    }

    // A masked text frame (mask key 0: the payload goes as it is).
    void send_text(std::string_view text) { send_all(frame('\x81', text)); }

    // Text frames, all in one send (so the server reads them at once).
    void send_texts(std::vector<std::string> const& texts) {
        std::string bytes;
        for (auto const& text : texts) bytes += frame('\x81', text);
        send_all(bytes);
    }

    // A WebSocket ping (RFC 6455 §5.5.2), whose pong next() keeps in pongs().
    void send_ping(std::string_view payload) { send_all(frame('\x89', payload)); }

    // The payloads of the pongs next() came across, in order.
    std::vector<std::string> const& pongs() const { return pongs_; }

    // The next Engine.IO message other than a ping (which is answered).
    std::string next(std::chrono::milliseconds timeout = 10s) {
        auto const deadline = Clock::now() + timeout;
        for (;;) {
            auto [opcode, message] = next_frame(deadline);
            if (opcode == pong_frame) {
                pongs_.push_back(std::move(message));
                continue;
            }
            if (opcode == close_frame) throw std::runtime_error("the server closed the WebSocket");
            if (message == "2") {
                send_text("3");
                continue;
            }
            return message;
        }
    }

    // The status code of the close frame that comes next (anything else but pings fails the test).
    int next_close(std::chrono::milliseconds timeout = 10s) {
        auto const deadline = Clock::now() + timeout;
        for (;;) {
            auto [opcode, payload] = next_frame(deadline);
            if (opcode == text_frame && payload == "2") continue;
            if (opcode != close_frame) throw std::runtime_error("not a close frame: " + payload.substr(0, 200));
            if (payload.size() < 2) return 1005;  // no status code (RFC 6455 §7.1.5)
            return (static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1]);
        }
    }

    // Opens the Socket.IO namespace "/" with `auth` (a JSON object).
    void connect_namespace(std::string const& auth) {
        if (!next().starts_with("0{")) throw std::runtime_error("no Engine.IO open packet");
        send_text("40" + auth);
        std::string const answer = next();
        if (!answer.starts_with("40{\"sid\"")) throw std::runtime_error("namespace refused: " + answer);
    }

private:
    static constexpr unsigned char text_frame = 0x81;   // the first byte of a final text frame
    static constexpr unsigned char pong_frame = 0x8a;   // and of a pong
    static constexpr unsigned char close_frame = 0x88;  // and of a close

    // One masked frame (mask key 0) with the first byte `first`.
    static std::string frame(char first, std::string_view payload) {
        std::string frame(1, first);
        if (payload.size() < 126) {
            frame += static_cast<char>(0x80 | payload.size());
        } else if (payload.size() <= 0xffff) {
            frame += '\xfe';
            frame += static_cast<char>(payload.size() >> 8);
            frame += static_cast<char>(payload.size() & 0xff);
        } else {
            frame += '\xff';
            for (int shift = 56; shift >= 0; shift -= 8) frame += static_cast<char>((payload.size() >> shift) & 0xff);
        }
        frame.append(4, '\0');
        frame += payload;
        return frame;
    }

    void send_all(std::string_view bytes) {
        if (!socket_.send(bytes)) throw std::runtime_error("send failed");
    }

    void read_more(Clock::time_point deadline) {
        auto const left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        std::string const bytes = socket_.receive_some(left);
        if (bytes.empty()) throw std::runtime_error("timed out, or the server closed the connection");
        in_ += bytes;
    }

    // One whole server frame, its first byte and payload: unmasked, unfragmented text, a pong or a
    // close (anything else fails the test).
    std::pair<unsigned char, std::string> next_frame(Clock::time_point deadline) {
        for (;;) {
            if (in_.size() >= 2) {
                auto const first = static_cast<unsigned char>(in_[0]);
                auto const second = static_cast<unsigned char>(in_[1]);
                if (first != text_frame && first != pong_frame && first != close_frame)
                    throw std::runtime_error("not a final text frame, a pong or a close: " + std::to_string(first));
                if (second & 0x80) throw std::runtime_error("a masked server frame");
                std::size_t head = 2;
                std::uint64_t length = second & 0x7f;
                if (length == 126 && in_.size() >= 4) {
                    length = (static_cast<unsigned char>(in_[2]) << 8) | static_cast<unsigned char>(in_[3]);
                    head = 4;
                } else if (length == 127 && in_.size() >= 10) {
                    length = 0;
                    for (int i = 2; i < 10; ++i) length = (length << 8) | static_cast<unsigned char>(in_[i]);
                    head = 10;
                }
                if ((second & 0x7f) < 126 || head > 2) {
                    if (in_.size() >= head + length) {
                        std::string payload = in_.substr(head, length);
                        in_.erase(0, head + length);
                        return {first, std::move(payload)};
                    }
                }
            }
            read_more(deadline);
        }
    }

    RawSocket socket_;
    std::string in_;
    std::vector<std::string> pongs_;
};

// A server where one user may connect any number of devices and send events at will.
OndaProcess::Options const unlimited_devices_and_events{.settings = {{"auth.rate_limit_per_minute", "0"},
                                                                     {"realtime.events_per_minute", "0"},
                                                                     {"realtime.max_devices", "0"}}};

// The Socket.IO CONNECT payload of device `device` of the user whose token is `token`.
std::string device_auth(std::string const& token, std::string const& device) {
    return R"({"token":")" + token + R"(","deviceId":")" + device + R"("})";
}

// Text frames of `events` playback events `volume_change {volume: n / 100}`, with ack ids n = 1…events.
std::vector<std::string> volume_changes(int events) {
    std::vector<std::string> frames;
    for (int n = 1; n <= events; ++n)
        frames.push_back("42" + std::to_string(n) + R"(["volume_change",{"volume":0.)" + (n < 10 ? "0" : "") +
                         std::to_string(n) + "}]");
    return frames;
}

// The n of the next `sync_state {action: "volume"}` the client gets (other messages are skipped).
long next_volume(EngineIoClient& client, std::chrono::milliseconds timeout = 10s) {
    std::string message = client.next(timeout);
    while (!message.starts_with(R"(42["sync_state",{"action":"volume")")) message = client.next(timeout);
    auto const event = parse_json(message.substr(2)).as_array().at(1).as_object();
    return std::lround(event.at("payload").as_object().at("volume").to_number<double>() * 100);
}

// Also: a ping the client sends while the server still owes it the rest of a frame is answered
// after that rest, not in the middle of it.
TEST(WebSocket, AClientThatStopsReadingGetsEveryEventWholeAndInOrderOnceItReadsAgain) {
    // The paused client answers no pings meanwhile: the heartbeat must not end it first.
    OndaProcess onda({.settings = {{"auth.rate_limit_per_minute", "0"},
                                   {"realtime.events_per_minute", "0"},
                                   {"realtime.send_queue_bytes", "64MiB"},
                                   {"realtime.ping_interval", "5m"},
                                   {"realtime.ping_timeout", "5m"}}});
    std::string const token = onda.token("alice", "creator");
    auto up = upload_raw(onda, token, make_wav(0.2), "filename=a.wav");
    ASSERT_EQ(up.response.status, 201u) << up.response.body;

    // A queue of 500 entries makes each sync_state ~13 KB; 700 of them (~9 MB) are more than the
    // kernel holds for a reader this slow (SO_SNDBUF grows to 4 MiB at most, its receive buffer is
    // 4 KiB), so the server's writes to it must stop part-way.
    std::string ids;
    for (int i = 0; i < 500; ++i) ids += (i ? ",\"" : "\"") + up.id + "\"";
    constexpr int events = 700;

    EngineIoClient paused(onda.port(), 4096);
    paused.connect_namespace(device_auth(token, "paused"));
    EngineIoClient sender(onda.port());
    sender.connect_namespace(device_auth(token, "sender"));

    for (int i = 0; i < events; ++i) {
        std::string const ack_id = std::to_string(i);
        sender.send_text("42" + ack_id + R"(["queue_set",{"trackIds":[)" + ids +
                         "],\"index\":" + std::to_string(i % 500) + "}]");
        std::string answer = sender.next();
        while (answer.starts_with(R"(42["sync_state",{"action":"connect")")) answer = sender.next();  // on connect
        ASSERT_TRUE(answer.starts_with("43" + ack_id + "[")) << answer.substr(0, 200);
        auto const reply = parse_json(answer.substr(2 + ack_id.size())).as_array().at(0).as_object();
        ASSERT_TRUE(reply.at("ok").as_bool()) << answer.substr(0, 200);
    }

    paused.send_ping("still there?");
    for (int i = 0; i < events; ++i) {
        std::string message = paused.next(30s);
        if (i == 0 && message.starts_with(R"(42["sync_state",{"action":"connect")")) message = paused.next(30s);
        ASSERT_TRUE(message.starts_with(R"(42["sync_state",)")) << i << ": " << message.substr(0, 200);
        auto const event = parse_json(message.substr(2)).as_array().at(1).as_object();
        auto const& payload = event.at("payload").as_object();
        ASSERT_EQ(payload.at("index").as_int64(), i % 500) << "event " << i << " out of order";
        ASSERT_EQ(payload.at("trackIds").as_array().size(), 500u);
    }
    // Both are still connected and served.
    paused.send_text(R"(421["get_state"])");
    std::string const state = paused.next();
    EXPECT_TRUE(state.starts_with("431[")) << state.substr(0, 200);
    EXPECT_EQ(paused.pongs(), std::vector<std::string>{"still there?"});
    EXPECT_EQ(onda.log().find("slow consumer"), std::string::npos);
}

// A WebSocket that upgrades a polling session is accepted by whichever server thread the kernel
// picks. When that is not the session's thread, its writes go through a task that hops between the
// two. Six upgrades meet both cases (but for a 1-in-64 chance) and each must get its answers over
// the WebSocket.
TEST(WebSocket, UpgradedPollingSessionsAnswerOverTheirWebSocketFromEitherThread) {
    OndaProcess onda(unlimited_devices_and_events);
    std::string const token = onda.token("alice", "creator");
    for (int i = 0; i < 6; ++i) {
        auto const open = http_get(onda.url("/socket.io/?EIO=4&transport=polling"));
        ASSERT_EQ(open.status, 200) << open.body;
        ASSERT_TRUE(open.body.starts_with("0{")) << open.body;
        std::string const sid(parse_json(open.body.substr(1)).as_object().at("sid").as_string());
        std::string const polling = onda.url("/socket.io/?EIO=4&transport=polling&sid=" + sid);
        auto const connect =
            http_request({.method = "POST", .url = polling, .body = R"(40{"token":")" + token + R"("})"});
        ASSERT_EQ(connect.status, 200) << connect.body;
        auto const connected = http_get(polling);
        ASSERT_NE(connected.body.find(R"(40{"sid")"), std::string::npos) << connected.body;

        EngineIoClient ws(onda.port(), 0, sid);
        ws.send_text("2probe");
        ASSERT_EQ(ws.next(), "3probe");
        ws.send_text("5");
        ws.send_text(R"(421["get_state"])");
        std::string answer = ws.next();
        while (answer.starts_with(R"(42["sync_state")")) answer = ws.next();  // the one on connect, if it came here
        EXPECT_TRUE(answer.starts_with("431[")) << i << ": " << answer.substr(0, 200);
    }
}

// A session whose frames wait for its thread's write pass can be closed before the pass comes: the
// pass lets the thread's other handlers run first. Here the pong to a client's ping (an old-style
// one, still answered) is queued, which puts the session's WebSocket on the pass's list, and in the
// same read the client's Engine.IO close ends the session (dropping the pong: the client is
// leaving). The server must still answer with its close frame at once. Before the list held the
// session, the session was gone when the pass came, nothing closed the WebSocket, and it stayed
// open until the idle timeout (45 s).
TEST(WebSocket, ASessionClosedWhileWaitingForTheWritePassStillClosesItsWebSocket) {
    OndaProcess onda;
    for (int i = 0; i < 3; ++i) {
        EngineIoClient client(onda.port());
        ASSERT_TRUE(client.next().starts_with("0{"));
        client.send_texts({"2ping", "1"});
        EXPECT_EQ(client.next_close(5s), 1000) << i;
    }
    EXPECT_EQ(http_get(onda.url("/healthz")).status, 200);
}

// More sockets than one slice of a thread's write pass (256), each sent many events that arrive while
// the pass is under way: writers written in one slice are told again and join its end, and the
// written part of the list is dropped. Every socket must still get every event, once and in order.
TEST(WebSocket, SixHundredSocketsGetEveryEventOnceAndInOrder) {
    OndaProcess onda(unlimited_devices_and_events);
    std::string const token = onda.token("alice", "creator");
    constexpr int sockets = 600;
    constexpr int events = 40;
    std::vector<std::unique_ptr<EngineIoClient>> clients;
    for (int i = 0; i < sockets; ++i) {
        clients.push_back(std::make_unique<EngineIoClient>(onda.port()));
        clients.back()->connect_namespace(device_auth(token, "d" + std::to_string(i)));
    }
    EngineIoClient publisher(onda.port());
    publisher.connect_namespace(device_auth(token, "publisher"));
    publisher.send_texts(volume_changes(events));  // all at once: the server handles them one after another

    for (int i = 0; i < sockets; ++i)
        for (int n = 1; n <= events; ++n)
            ASSERT_EQ(next_volume(*clients[i], 30s), n) << "socket " << i << ": event " << n << " out of order or lost";
    EXPECT_EQ(onda.log().find("slow consumer"), std::string::npos);
}

// A polling session that is being upgraded queues what the hub sends it until the client sends "5";
// the WebSocket then finds all of it at once, more than one non-blocking write takes (32 frames).
// On the session's thread the writer sends the first 32 and goes back on the pass's list for the
// rest; on another thread a task writes them. Six upgrades meet the first case but for a 1-in-64
// chance, and every event must arrive once and in order.
TEST(WebSocket, EventsQueuedDuringAnUpgradeAllGoOutOverTheWebSocketInOrder) {
    OndaProcess onda(unlimited_devices_and_events);
    std::string const token = onda.token("alice", "creator");
    constexpr int upgrades = 6;
    constexpr int events = 40;
    std::vector<std::unique_ptr<EngineIoClient>> probing;
    for (int i = 0; i < upgrades; ++i) {
        auto const open = http_get(onda.url("/socket.io/?EIO=4&transport=polling"));
        ASSERT_EQ(open.status, 200) << open.body;
        std::string const sid(parse_json(open.body.substr(1)).as_object().at("sid").as_string());
        std::string const polling = onda.url("/socket.io/?EIO=4&transport=polling&sid=" + sid);
        auto const connect = http_request(
            {.method = "POST", .url = polling, .body = "40" + device_auth(token, "p" + std::to_string(i))});
        ASSERT_EQ(connect.status, 200) << connect.body;
        auto const connected = http_get(polling);
        ASSERT_NE(connected.body.find(R"(40{"sid")"), std::string::npos) << connected.body;
        probing.push_back(std::make_unique<EngineIoClient>(onda.port(), 0, sid));
        probing.back()->send_text("2probe");
        ASSERT_EQ(probing.back()->next(), "3probe");
    }

    EngineIoClient publisher(onda.port());
    publisher.connect_namespace(device_auth(token, "publisher"));
    publisher.send_texts(volume_changes(events));
    for (int acked = 0; acked < events;)
        if (publisher.next().starts_with("43")) ++acked;
    std::this_thread::sleep_for(200ms);  // the hub's deliveries to the other thread, after the acks

    for (int i = 0; i < upgrades; ++i) {
        probing[i]->send_text("5");
        for (int n = 1; n <= events; ++n)
            ASSERT_EQ(next_volume(*probing[i]), n) << "upgrade " << i << ": event " << n << " out of order or lost";
    }
}

TEST(WebSocket, SigtermDoesNotWaitLongForAPeerThatNeverAnswersTheClose) {
    OndaProcess onda;
    std::string const token = onda.token("alice", "creator");
    EngineIoClient silent(onda.port());  // from here on it reads nothing, so it never answers a close
    silent.connect_namespace(device_auth(token, "silent"));
    auto const started = Clock::now();
    EXPECT_EQ(onda.stop(), 0);
    // The closing handshake gets a second at shutdown, not the 10 s it gets otherwise.
    EXPECT_LT(Clock::now() - started, 6s);  // 10 s and more before
}

}  // namespace
}  // namespace onda::test
