// SocketIoServer over HTTP long-polling, driven with requests the way the connection hands them over
// (no sockets; the WebSocket transport and the stock client are covered by tests/e2e/js). The
// session runs on an io thread like a server thread.
#include "realtime/socketio_server.hpp"

#include <chrono>
#include <deque>
#include <future>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "auth/jwt.hpp"
#include "io_thread.hpp"

namespace onda::realtime {
namespace {

using namespace std::chrono_literals;
using test::IoThread;
namespace json = boost::json;

constexpr std::string_view secret = "socketio-test-secret";

class StringBody final : public http::BodySource {
public:
    explicit StringBody(std::string data) : data_(std::move(data)) {}
    Task<Result<std::size_t>> read_some(std::span<char> out) override {
        std::size_t const n = std::min(out.size(), data_.size() - at_);
        std::copy_n(data_.data() + at_, n, out.data());
        at_ += n;
        co_return n;
    }
    bool is_done() const override { return at_ == data_.size(); }

private:
    std::string data_;
    std::size_t at_ = 0;
};

struct Answer {
    unsigned status = 0;
    std::string body;
    std::string content_type;
};

class SocketIoServerTest : public ::testing::Test {
protected:
    SocketIoServerTest() { use(make_server()); }
    // Sessions end on the io thread, which is destroyed first (declared last) once they have.
    ~SocketIoServerTest() override {
        for (auto& server : servers_) server->close();
    }

    std::unique_ptr<SocketIoServer> make_server() { return make_server(limiter_); }
    std::unique_ptr<SocketIoServer> make_server(auth::RateLimiter& limiter) {
        return std::make_unique<SocketIoServer>(options_, hub_, authenticator_, devices_, limiter, access(), metrics_);
    }
    // Serves with a server that `configure` registered handlers or hooks on first.
    template <class Fn>
    void serve_with(Fn configure) {
        auto server = make_server();
        configure(*server);
        use(std::move(server));
    }
    void use(std::unique_ptr<SocketIoServer> server) {
        server->set_executors({io_.executor()});
        servers_.push_back(std::move(server));
        server_ = servers_.back().get();
    }

    static RoomAccess access() {
        return [](auth::Identity const& who, std::string_view room) -> Task<Result<void>> {
            return decide(who.user, std::string(room));
        };
    }
    static Task<Result<void>> decide(std::string user, std::string room) {
        if (room == "media:m_public" || user == "alice") co_return ok();
        co_return Error(Errc::forbidden, "not yours");
    }

    std::string token(std::string sub) {
        auth::Claims claims{.sub = std::move(sub), .exp = clock_.now() + 1h};
        return auth::sign_jwt(claims, secret, clock_.now());
    }
    // The CONNECT auth of one device of a user.
    static std::string device_auth(std::string const& token, std::string const& device) {
        return R"({"token":")" + token + R"(","deviceId":")" + device + R"("})";
    }

    Answer request(std::string method, std::string target, std::string body = {},
                   std::vector<http::Request::Header> headers = {}) {
        StringBody source(body);
        if (!body.empty()) headers.emplace_back("Content-Length", std::to_string(body.size()));
        http::Request request(std::move(method), std::move(target), std::move(headers), "10.0.0.7", "r1", &source, 0);
        http::Response response = io_.run(server_->handle(request));
        Answer answer{.status = response.status(), .content_type = std::string(response.header("Content-Type"))};
        if (auto const* text = std::get_if<std::string>(&response.body())) answer.body = *text;
        return answer;
    }

    // A polling client speaking the protocol by hand.
    struct Client {
        SocketIoServerTest* test;
        std::string sid;
        std::deque<std::string> received;  // payload items not yet looked at

        std::string url() const { return "/socket.io/?EIO=4&transport=polling&sid=" + sid; }
        Answer post(std::string payload) { return test->request("POST", url(), std::move(payload)); }
        Answer get() { return test->request("GET", url()); }
        // The next packet other than a ping (pings are answered) or a noop.
        std::string next() {
            for (int polls = 0; polls < 20; ++polls) {
                while (!received.empty()) {
                    std::string item = std::move(received.front());
                    received.pop_front();
                    if (item == "2") {
                        post("3");
                        continue;
                    }
                    if (item != "6") return item;
                }
                auto answer = get();
                if (answer.status != 200) return "HTTP " + std::to_string(answer.status);
                std::string_view body = answer.body;
                for (;;) {
                    auto const end = body.find('\x1e');
                    received.emplace_back(body.substr(0, end));
                    if (end == std::string_view::npos) break;
                    body.remove_prefix(end + 1);
                }
            }
            return "nothing";
        }
        // Sends a packet and returns the next packet back.
        std::string exchange(std::string packet) {
            auto answer = post(std::move(packet));
            if (answer.status != 200) return "HTTP " + std::to_string(answer.status) + " " + answer.body;
            return next();
        }
    };

    Client open(std::string query = {}) {
        auto answer = request("GET", "/socket.io/?EIO=4&transport=polling" + query);
        EXPECT_EQ(answer.status, 200u);
        EXPECT_EQ(answer.content_type, "text/plain; charset=UTF-8");
        EXPECT_EQ(answer.body.substr(0, 1), "0");
        auto handshake = json::parse(answer.body.substr(1)).as_object();
        return Client{this, std::string(handshake.at("sid").as_string()), {}};
    }

    // Opens a session and connects it; the CONNECT answer.
    std::pair<Client, std::string> connect(std::string auth = {}) {
        Client client = open();
        std::string answer = client.exchange("40" + auth);
        return {std::move(client), answer};
    }

    static json::value ack_of(std::string_view packet, std::string_view id) {
        std::string const prefix = "43" + std::string(id);
        if (packet.substr(0, prefix.size()) != prefix)
            throw std::runtime_error("not an ack " + std::string(id) + ": " + std::string(packet));
        return json::parse(packet.substr(prefix.size())).as_array().at(0);
    }

    ManualClock clock_{SystemTime{} + std::chrono::hours(24 * 365 * 56)};
    SocketIoOptions options_{.engine = {.ping_interval = 25s, .ping_timeout = 20s, .max_payload = 4096},
                             .max_refused_events = 3};
    MetricsRegistry metrics_;
    Hub hub_{HubOptions{}, clock_, &metrics_};
    std::string const secret_{secret};
    auth::Authenticator authenticator_{secret_, clock_};
    auth::DeviceLimiter devices_{2};
    auth::RateLimiter limiter_{100, clock_};
    auth::RateLimiter strict_limiter_{5, clock_};
    std::vector<std::unique_ptr<SocketIoServer>> servers_;
    SocketIoServer* server_ = nullptr;
    IoThread io_;
};

TEST_F(SocketIoServerTest, TheHandshakeOpensAPollingSession) {
    auto answer = request("GET", "/socket.io/?EIO=4&transport=polling&t=N8hyd6w");
    ASSERT_EQ(answer.status, 200u);
    auto handshake = json::parse(answer.body.substr(1)).as_object();
    EXPECT_EQ(handshake.at("upgrades"), json::array{"websocket"});
    EXPECT_EQ(handshake.at("pingInterval"), 25000);
    EXPECT_EQ(handshake.at("maxPayload"), 4096);
    EXPECT_NE(std::string(handshake.at("sid").as_string()).find('-'), std::string::npos);
}

TEST_F(SocketIoServerTest, RefusesRequestsOutsideTheProtocol) {
    EXPECT_EQ(request("GET", "/socket.io/?transport=polling").status, 400u);
    EXPECT_EQ(request("GET", "/socket.io/?EIO=3&transport=polling").status, 400u);
    EXPECT_EQ(request("GET", "/socket.io/?EIO=4").status, 400u);
    EXPECT_EQ(request("GET", "/socket.io/?EIO=4&transport=carrier-pigeon").status, 400u);
    EXPECT_EQ(request("POST", "/socket.io/?EIO=4&transport=polling", "40").status, 400u);
    EXPECT_EQ(request("GET", "/socket.io/?EIO=4&transport=polling&sid=nope").status, 400u);
    EXPECT_EQ(request("GET", "/socket.io/?EIO=4&transport=polling&sid=abc-7").status, 400u);
    EXPECT_EQ(request("GET", "/socket.io/?EIO=4&transport=websocket").status, 400u);  // no Upgrade header
}

TEST_F(SocketIoServerTest, AnAnonymousViewerConnectsAndJoinsAChatRoom) {
    auto [client, answer] = connect();
    ASSERT_EQ(answer.substr(0, 2), "40");
    EXPECT_TRUE(json::parse(answer.substr(2)).as_object().at("sid").is_string());
    auto ack = ack_of(client.exchange(R"(420["join",{"room":"chat:s1"}])"), "0");
    EXPECT_EQ(ack.at("ok"), true);
    EXPECT_EQ(ack.at("room"), "chat:s1");
    EXPECT_EQ(ack.at("viewers"), 1);
    EXPECT_EQ(ack.at("history"), json::array{});
}

TEST_F(SocketIoServerTest, JoiningAnswersWithTheRoomsHistoryAndThenItsEvents) {
    hub_.publish("chat:s1", "chat_message", {{"message", "earlier"}});
    auto [client, answer] = connect();
    auto ack = ack_of(client.exchange(R"(421["join",{"room":"chat:s1"}])"), "1");
    auto const& history = ack.at("history").as_array();
    ASSERT_EQ(history.size(), 1u);
    EXPECT_EQ(history[0].at("event"), "chat_message");
    EXPECT_EQ(history[0].at("data").at("message"), "earlier");
    hub_.publish("chat:s1", "chat_message", {{"message", "later"}});
    EXPECT_EQ(client.next(), R"(42["chat_message",{"message":"later"}])");
}

TEST_F(SocketIoServerTest, AUserIsInItsOwnRoomFromTheStart) {
    auto [client, answer] = connect(R"({"token":")" + token("alice") + R"("})");
    ASSERT_EQ(answer.substr(0, 2), "40");
    hub_.publish("user:alice", "upload_progress", {{"percentage", 42}});
    hub_.publish("user:bob", "upload_progress", {{"percentage", 1}});
    EXPECT_EQ(client.next(), R"(42["upload_progress",{"percentage":42}])");
}

TEST_F(SocketIoServerTest, AnEventPublishedExceptOneSocketReachesOnlyTheOthers) {
    std::string const alice = token("alice");
    auto [phone, a] = connect(device_auth(alice, "phone"));
    auto [laptop, b] = connect(device_auth(alice, "laptop"));
    ASSERT_EQ(a.substr(0, 2), "40");
    ASSERT_EQ(b.substr(0, 2), "40");
    std::string const phone_id(json::parse(a.substr(2)).at("sid").as_string());
    hub_.publish_except("user:alice", "sync_state", {{"n", 1}}, phone_id);
    hub_.publish("user:alice", "upload_progress", {{"n", 2}});
    EXPECT_EQ(laptop.next(), R"(42["sync_state",{"n":1}])");
    EXPECT_EQ(laptop.next(), R"(42["upload_progress",{"n":2}])");
    EXPECT_EQ(phone.next(), R"(42["upload_progress",{"n":2}])");  // the sync_state never came
}

TEST_F(SocketIoServerTest, TheTokenMayComeWithTheOpeningRequest) {
    auto client = open("&token=" + token("alice"));
    ASSERT_EQ(client.exchange("40").substr(0, 2), "40");
    auto ack = ack_of(client.exchange(R"(427["join",{"room":"user:alice"}])"), "7");
    EXPECT_EQ(ack.at("ok"), true);
}

TEST_F(SocketIoServerTest, TheTokenMayComeFromTheCookieAndAuthTokenWins) {
    std::vector<http::Request::Header> cookie{{"Cookie", "theme=dark; onda_token=" + token("alice")}};
    auto answer = request("GET", "/socket.io/?EIO=4&transport=polling", {}, cookie);
    Client client{this, std::string(json::parse(answer.body.substr(1)).at("sid").as_string()), {}};
    ASSERT_EQ(client.exchange("40").substr(0, 2), "40");
    EXPECT_EQ(ack_of(client.exchange(R"(421["join",{"room":"user:alice"}])"), "1").at("ok"), true);

    auto second = request("GET", "/socket.io/?EIO=4&transport=polling", {}, cookie);
    Client bob{this, std::string(json::parse(second.body.substr(1)).at("sid").as_string()), {}};
    ASSERT_EQ(bob.exchange(R"(40{"token":")" + token("bob") + R"("})").substr(0, 2), "40");
    EXPECT_EQ(ack_of(bob.exchange(R"(422["join",{"room":"user:alice"}])"), "2").at("error").at("code"), "forbidden");
}

TEST_F(SocketIoServerTest, ABadTokenIsRefusedAsInvalidToken) {
    for (std::string auth : {R"({"token":"garbage"})", R"({"token":42})"}) {
        auto [client, answer] = connect(auth);
        ASSERT_EQ(answer.substr(0, 2), "44") << answer;
        auto refusal = json::parse(answer.substr(2));
        EXPECT_EQ(refusal.at("message"), "invalid_token");
        EXPECT_EQ(refusal.at("data").at("code"), "unauthenticated");
        // Refused, not connected: events are a protocol error now.
        EXPECT_EQ(client.post(R"(42["join",{"room":"chat:s1"}])").status, 200u);
        EXPECT_EQ(client.get().status, 400u);
    }
}

TEST_F(SocketIoServerTest, AUsersDevicesPastTheLimitAreRefused) {
    std::string const alice = token("alice");
    auto device = [&](std::string const& id) { return device_auth(alice, id); };
    auto [phone, a] = connect(device("phone"));
    auto [laptop, b] = connect(device("laptop"));
    ASSERT_EQ(a.substr(0, 2), "40");
    ASSERT_EQ(b.substr(0, 2), "40");
    auto [tv, c] = connect(device("tv"));
    ASSERT_EQ(c.substr(0, 2), "44");
    EXPECT_EQ(json::parse(c.substr(2)).at("message"), "device_limit");
    auto [phone_again, d] = connect(device("phone"));  // the same device is fine
    EXPECT_EQ(d.substr(0, 2), "40");
    // A device that leaves makes room.
    EXPECT_EQ(laptop.post("41").status, 200u);
    auto [tv_again, e] = connect(device("tv"));
    EXPECT_EQ(e.substr(0, 2), "40");
}

TEST_F(SocketIoServerTest, AnonymousViewersHaveNoDeviceLimit) {
    std::vector<Client> clients;
    for (int i = 0; i < 4; ++i) {
        auto [client, answer] = connect(R"({"deviceId":"same"})");
        EXPECT_EQ(answer.substr(0, 2), "40");
        clients.push_back(client);
    }
}

TEST_F(SocketIoServerTest, EventsPastTheRateAreRefusedThenAFloodIsCutOff) {
    use(make_server(strict_limiter_));  // 5 a minute
    auto [client, answer] = connect(R"({"token":")" + token("alice") + R"("})");
    for (int i = 0; i < 5; ++i)
        EXPECT_EQ(
            ack_of(client.exchange("42" + std::to_string(i) + R"(["join",{"room":"chat:s1"}])"), std::to_string(i))
                .at("ok"),
            true);
    auto refused = ack_of(client.exchange(R"(429["join",{"room":"chat:s1"}])"), "9");
    EXPECT_EQ(refused.at("ok"), false);
    EXPECT_EQ(refused.at("error").at("code"), "rate_limited");
    // max_refused_events (3) refusals in a row are tolerated; the next one ends the client.
    client.post(R"(42["join",{"room":"chat:s1"}])");
    client.post(R"(42["join",{"room":"chat:s1"}])");
    client.post(R"(42["join",{"room":"chat:s1"}])");
    EXPECT_EQ(client.get().status, 400u);
}

TEST_F(SocketIoServerTest, AnUnknownEventIsAckedNotFound) {
    auto [client, answer] = connect();
    auto ack = ack_of(client.exchange(R"(423["no_such_event",1])"), "3");
    EXPECT_EQ(ack.at("ok"), false);
    EXPECT_EQ(ack.at("error").at("code"), "not_found");
}

TEST_F(SocketIoServerTest, RoomsAreJoinedOnlyWithAccess) {
    auto [client, answer] = connect(R"({"token":")" + token("bob") + R"("})");
    EXPECT_EQ(ack_of(client.exchange(R"(420["join",{"room":"user:alice"}])"), "0").at("error").at("code"), "forbidden");
    EXPECT_EQ(ack_of(client.exchange(R"(421["join",{"room":"media:m_private"}])"), "1").at("error").at("code"),
              "forbidden");
    EXPECT_EQ(ack_of(client.exchange(R"(422["join",{"room":"media:m_public"}])"), "2").at("ok"), true);
    EXPECT_EQ(ack_of(client.exchange(R"(423["join",{"room":"bogus"}])"), "3").at("error").at("code"),
              "invalid_argument");
    EXPECT_EQ(ack_of(client.exchange(R"(424["join","chat:s1"])"), "4").at("error").at("code"), "invalid_argument");
    EXPECT_EQ(ack_of(client.exchange(R"(425["leave",{"room":"user:bob"}])"), "5").at("error").at("code"),
              "invalid_argument");
}

TEST_F(SocketIoServerTest, LeavingARoomStopsItsEvents) {
    auto [client, answer] = connect();
    ack_of(client.exchange(R"(420["join",{"room":"chat:a"}])"), "0");
    ack_of(client.exchange(R"(421["join",{"room":"chat:b"}])"), "1");
    EXPECT_EQ(ack_of(client.exchange(R"(422["leave",{"room":"chat:a"}])"), "2").at("ok"), true);
    hub_.publish("chat:a", "chat_message", {{"n", 1}});
    hub_.publish("chat:b", "chat_message", {{"n", 2}});
    EXPECT_EQ(client.next(), R"(42["chat_message",{"n":2}])");
}

TEST_F(SocketIoServerTest, ASlowConsumerIsDisconnectedWithoutHoldingUpTheOthers) {
    options_.engine.max_queued_frames = 8;
    use(make_server());
    auto [slow, slow_answer] = connect();
    auto [fast, fast_answer] = connect();
    ack_of(slow.exchange(R"(420["join",{"room":"chat:s1"}])"), "0");
    ack_of(fast.exchange(R"(420["join",{"room":"chat:s1"}])"), "0");
    for (int i = 0; i < 20; ++i) {
        hub_.publish("chat:s1", "chat_message", {{"n", i}});
        EXPECT_EQ(fast.next(), R"(42["chat_message",{"n":)" + std::to_string(i) + "}]");
    }
    // `slow` never polled: the ninth event overflowed its queue and ended its session.
    EXPECT_EQ(slow.get().status, 400u);  // Session ID unknown
    EXPECT_EQ(metrics_.counter("onda_socketio_disconnects_total", "", {{"reason", "slow_consumer"}}).value(), 1u);
    EXPECT_EQ(hub_.presence("chat:s1").subscribers, 1u);
}

Task<> store(std::vector<std::string>& seen, ClientEvent event, Ack ack) {
    auto bytes = event.attachment(event.arg(0).at("data"));
    seen.push_back(bytes ? std::string(*bytes) : "none");
    ack.reply(json::object{{"ok", true}, {"echo", make_placeholder(0)}}, {seen.back() + "!"});
    co_return;
}

TEST_F(SocketIoServerTest, ABinaryEventReachesItsHandlerAndABinaryAckComesBack) {
    std::vector<std::string> seen;
    serve_with([&seen](SocketIoServer& server) {
        server.on("store", [&seen](std::shared_ptr<SocketIoClient>, ClientEvent event, Ack ack) {
            return store(seen, std::move(event), std::move(ack));
        });
    });
    auto [client, answer] = connect();
    ASSERT_EQ(answer.substr(0, 2), "40");
    EXPECT_EQ(client
                  .post("451-8[\"store\",{\"data\":{\"_placeholder\":true,\"num\":0}}]\x1e"
                        "bAQID")
                  .status,
              200u);
    EXPECT_EQ(client.next(), "461-8[{\"ok\":true,\"echo\":{\"_placeholder\":true,\"num\":0}}]");
    EXPECT_EQ(client.next(), "bAQIDIQ==");
    EXPECT_EQ(seen, std::vector<std::string>{"\x01\x02\x03"});
}

Task<> fail_loudly(std::shared_ptr<SocketIoClient>, ClientEvent, Ack) {
    throw std::runtime_error("handler bug");
    co_return;
}

TEST_F(SocketIoServerTest, AHandlerThatThrowsIsAckedInternalAndTheClientStays) {
    serve_with([](SocketIoServer& server) { server.on("explode", fail_loudly); });
    auto [client, answer] = connect();
    auto ack = ack_of(client.exchange(R"(421["explode"])"), "1");
    EXPECT_EQ(ack.at("error").at("code"), "internal");
    EXPECT_EQ(ack_of(client.exchange(R"(422["join",{"room":"chat:s1"}])"), "2").at("ok"), true);
}

Task<> greet(std::shared_ptr<SocketIoClient> client) {
    client->emit("sync_state", json::object{{"user", client->identity().user}, {"device", client->device()}});
    co_return;
}

TEST_F(SocketIoServerTest, ConnectHooksRunBeforeTheFirstEventAndMayEmit) {
    serve_with([](SocketIoServer& server) { server.on_connect(greet); });
    auto [client, answer] = connect(R"({"token":")" + token("alice") + R"(","deviceId":"phone"})");
    ASSERT_EQ(answer.substr(0, 2), "40");
    EXPECT_EQ(client.next(), R"(42["sync_state",{"user":"alice","device":"phone"}])");
}

TEST_F(SocketIoServerTest, MalformedPacketsEndTheSession) {
    for (std::string payload : {"4garbage", R"(42["join")",
                                "42[\"join\"]\x1e"
                                "9",
                                "b!!!",
                                R"(451-["a",{"_placeholder":true,"num":0}])"
                                "\x1e"
                                "42[\"x\"]"}) {
        auto [client, answer] = connect();
        auto posted = client.post(payload);
        auto polled = client.get();
        EXPECT_TRUE(posted.status == 400u || polled.status == 400u || polled.body.find('1') != std::string::npos)
            << testing::PrintToString(payload) << " " << posted.status << " " << polled.status << " " << polled.body;
        EXPECT_EQ(client.get().status, 400u) << testing::PrintToString(payload);
    }
}

TEST_F(SocketIoServerTest, AnEventBeforeConnectEndsTheSession) {
    auto client = open();
    EXPECT_EQ(client.post(R"(42["join",{"room":"chat:s1"}])").status, 200u);
    EXPECT_EQ(client.get().status, 400u);  // Session ID unknown: the client starts over
}

TEST_F(SocketIoServerTest, ASessionThatNeverConnectsIsClosedAfterTheConnectTimeout) {
    options_.connect_timeout = 50ms;
    use(make_server());
    auto client = open();
    auto held = client.get();  // held until the session ends
    EXPECT_EQ(held.body, "1");
    EXPECT_EQ(client.get().status, 400u);
}

TEST_F(SocketIoServerTest, NewSessionsFromOneAddressAreRateLimited) {
    use(make_server(strict_limiter_));  // 5 a minute
    for (int i = 0; i < 5; ++i) EXPECT_EQ(request("GET", "/socket.io/?EIO=4&transport=polling").status, 200u);
    auto refused = request("GET", "/socket.io/?EIO=4&transport=polling");
    EXPECT_EQ(refused.status, 429u);
    EXPECT_NE(refused.body.find("rate_limited"), std::string::npos);
}

TEST_F(SocketIoServerTest, AnOversizedPostIs413AndEndsTheSession) {
    auto [client, answer] = connect();
    auto posted = client.post("4" + std::string(5000, 'x'));
    EXPECT_EQ(posted.status, 413u);
    EXPECT_EQ(client.get().status, 400u);
}

TEST_F(SocketIoServerTest, ShutdownEndsAHeldPollWithACloseAndRefusesNewSessions) {
    Client client = connect().first;
    auto held = std::async(std::launch::async, [&client] { return client.get(); });
    std::this_thread::sleep_for(50ms);
    server_->close();
    ASSERT_EQ(held.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(held.get().body, "1");
    EXPECT_EQ(request("GET", "/socket.io/?EIO=4&transport=polling").status, 503u);
}

TEST_F(SocketIoServerTest, AConnectionsAreCountedByTransport) {
    auto [client, answer] = connect();
    EXPECT_NE(metrics_.render().find("onda_socketio_connections{transport=\"polling\"} 1"), std::string::npos);
    client.post("1");
    EXPECT_NE(metrics_.render().find("onda_socketio_connections{transport=\"polling\"} 0"), std::string::npos);
    EXPECT_NE(metrics_.render().find("onda_socketio_disconnects_total{reason=\"client_closed\"} 1"), std::string::npos);
}

}  // namespace
}  // namespace onda::realtime
