// Server-Sent Events against the real binary: GET /v1/events headers, keep-alive, access rules,
// resuming across a restart, and SIGTERM with a stream open. (Nothing in the server publishes yet;
// event delivery is covered by tests/realtime.)
#include <signal.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <thread>

#include <curl/curl.h>
#include <gtest/gtest.h>

#include "e2e.hpp"
#include "sse_client.hpp"
#include "support/media_fixtures.hpp"

namespace onda::test {
namespace {

using namespace std::chrono_literals;

std::string auth_header(std::string const& token) { return "Authorization: Bearer " + token; }

auto contains(std::string needle) {
    return [needle = std::move(needle)](std::string const& body) { return body.find(needle) != std::string::npos; };
}

// The value of the first `id:` line.
std::string first_id(std::string const& body) {
    auto at = body.find("id: ");
    if (at == std::string::npos) return {};
    return body.substr(at + 4, body.find('\n', at) - at - 4);
}

class Events : public ::testing::Test {
protected:
    OndaProcess onda_{{.settings = {{"realtime.sse_keepalive", "200ms"}}}};
};

TEST_F(Events, AStreamHasEventStreamHeadersAndKeepsAlive) {
    SseClient alice(onda_.url("/v1/events?rooms=user:alice"), {auth_header(onda_.token("alice"))});
    auto const started = std::chrono::steady_clock::now();
    EXPECT_EQ(alice.read(contains(": keepalive\n\n")), CURLE_WRITE_ERROR);  // we hung up after the comment
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
    EXPECT_EQ(alice.status(), 200);
    EXPECT_NE(alice.head().find("content-type: text/event-stream\r\n"), std::string::npos) << alice.head();
    EXPECT_NE(alice.head().find("cache-control: no-store\r\n"), std::string::npos);
    EXPECT_NE(alice.head().find("x-accel-buffering: no\r\n"), std::string::npos);
    EXPECT_NE(alice.head().find("transfer-encoding: chunked\r\n"), std::string::npos);
    auto body = alice.snapshot();
    EXPECT_EQ(body.rfind("retry: 3000\n\nid: ", 0), 0u) << body;
    EXPECT_FALSE(first_id(body).empty());
}

TEST_F(Events, UserRoomsAreForThatUserOnly) {
    auto bob = http_get(onda_.url("/v1/events?rooms=user:alice"), {bearer(onda_.token("bob"))});
    EXPECT_EQ(bob.status, 403);
    EXPECT_EQ(error_code(bob), "forbidden");
    auto anonymous = http_get(onda_.url("/v1/events?rooms=user:alice"));
    EXPECT_EQ(anonymous.status, 401);
    EXPECT_EQ(error_code(anonymous), "unauthenticated");

    SseClient admin(onda_.url("/v1/events?rooms=user:alice"), {auth_header(onda_.token("root", "admin"))});
    admin.read(contains("id: "));
    EXPECT_EQ(admin.status(), 200);
}

TEST_F(Events, ChatRoomsAreOpenToAnonymousReaders) {
    SseClient reader(onda_.url("/v1/events?rooms=chat:s1,stream:s1"), {});
    reader.read(contains("id: "));
    EXPECT_EQ(reader.status(), 200);
}

TEST_F(Events, BadRoomListsAre400) {
    std::string many;
    for (int i = 0; i < 33; ++i) many += "chat:r" + std::to_string(i) + ",";
    for (std::string const& query :
         std::vector<std::string>{"", "?rooms=", "?rooms=bogus:1", "?rooms=chat:a%2Fb", "?rooms=" + many}) {
        auto res = http_get(onda_.url("/v1/events" + query), {bearer(onda_.token("alice"))});
        EXPECT_EQ(res.status, 400) << query;
        EXPECT_EQ(error_code(res), "invalid_argument") << query;
    }
}

TEST_F(Events, MediaRoomsFollowTheMediaAccessRules) {
    auto alice = onda_.token("alice", "creator");
    auto up = upload_raw(onda_, alice, make_wav(0.2), "filename=a.wav");  // private by default
    ASSERT_EQ(up.response.status, 201);
    auto room = "/v1/events?rooms=media:" + up.id;
    EXPECT_EQ(http_get(onda_.url(room)).status, 401);
    EXPECT_EQ(http_get(onda_.url(room), {bearer(onda_.token("bob"))}).status, 403);
    EXPECT_EQ(http_get(onda_.url("/v1/events?rooms=media:m_nope"), {bearer(alice)}).status, 404);
    SseClient owner(onda_.url(room), {auth_header(alice)});
    owner.read(contains("id: "));
    EXPECT_EQ(owner.status(), 200);
    // Upload rooms follow the upload: an unknown one is not found (tus_test and js/ cover the rest).
    EXPECT_EQ(http_get(onda_.url("/v1/events?rooms=upload:u_1"), {bearer(alice)}).status, 404);
}

TEST_F(Events, AnIdFromBeforeARestartGetsAReset) {
    auto token = onda_.token("alice");
    SseClient before(onda_.url("/v1/events?rooms=user:alice"), {auth_header(token)});
    before.read(contains("id: "));
    auto const id = first_id(before.snapshot());
    ASSERT_FALSE(id.empty());

    SseClient same_run(onda_.url("/v1/events?rooms=user:alice"), {auth_header(token), "Last-Event-ID: " + id});
    same_run.read(contains(": keepalive"));
    EXPECT_EQ(same_run.snapshot().find("event: reset"), std::string::npos) << same_run.snapshot();

    onda_.stop();
    onda_.start();
    SseClient after(onda_.url("/v1/events?rooms=user:alice"), {auth_header(token), "Last-Event-ID: " + id});
    after.read(contains("data: {}\n\n"));
    auto body = after.snapshot();
    EXPECT_NE(body.find("event: reset\nid: "), std::string::npos) << body;
    EXPECT_NE(first_id(body.substr(body.find("event: reset"))), id);
}

TEST_F(Events, SigtermEndsAnOpenStreamPromptly) {
    SseClient alice(onda_.url("/v1/events?rooms=user:alice"), {auth_header(onda_.token("alice"))});
    std::atomic<CURLcode> outcome{CURLE_AGAIN};
    std::thread reader([&] { outcome = alice.read(nullptr, 20'000); });  // until the server ends the body
    ASSERT_TRUE(eventually([&] { return alice.snapshot().find("id: ") != std::string::npos; }));

    auto const signalled = std::chrono::steady_clock::now();
    ::kill(onda_.pid(), SIGTERM);
    reader.join();
    EXPECT_EQ(outcome.load(), CURLE_OK);  // a clean end of the chunked body, not a cut connection
    EXPECT_EQ(onda_.wait_for_exit(), 0);
    // limits.shutdown_timeout is 10 s: only ending the stream at once makes this fast.
    EXPECT_LT(std::chrono::steady_clock::now() - signalled, 3s);
}

}  // namespace
}  // namespace onda::test
