// The HTTP server itself, through raw sockets where a polite client would not show the behaviour:
// unknown routes and methods, oversized heads, slow senders, pipelining, malformed requests,
// graceful shutdown with a download in flight, and the metrics that count it all.
#include <signal.h>

#include <fstream>

#include <thread>

#include <gtest/gtest.h>

#include "e2e.hpp"
#include "support/media_fixtures.hpp"
#include "support/raw_socket.hpp"

namespace onda::test {
namespace {

using namespace std::chrono_literals;

TEST(HttpServer, UnknownRouteIs404Json) {
    OndaProcess onda;
    auto res = http_get(onda.url("/no/such/thing"));
    EXPECT_EQ(res.status, 404);
    EXPECT_EQ(res.header("Content-Type"), "application/json");
    EXPECT_EQ(error_code(res), "not_found");
}

TEST(HttpServer, WrongMethodIs405WithAllow) {
    OndaProcess onda;
    auto res = http_request({.method = "PUT", .url = onda.url("/v1/media"), .body = "{}"});
    EXPECT_EQ(res.status, 405);
    EXPECT_EQ(error_code(res), "method_not_allowed");
    EXPECT_EQ(res.header("Allow"), "GET, HEAD, POST");
}

TEST(HttpServer, HugeHeadersAre431) {
    OndaProcess onda;
    RawSocket socket(onda.port());
    socket.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n");
    auto answer = socket.receive_until("\r\n\r\n", 5s);
    EXPECT_NE(answer.find("HTTP/1.1 431"), std::string::npos) << answer.substr(0, 200);
    EXPECT_EQ(http_get(onda.url("/healthz")).status, 200);
}

TEST(HttpServer, MalformedRequestIs400AndTheConnectionCloses) {
    OndaProcess onda;
    RawSocket socket(onda.port());
    socket.send("GARBAGE\x01\x02 / HTTP/9.9\r\n\r\n");
    auto answer = socket.receive_until("\r\n\r\n", 5s);
    EXPECT_NE(answer.find("HTTP/1.1 400"), std::string::npos) << answer;
    EXPECT_TRUE(socket.closed_within(5s));
}

TEST(HttpServer, AnHttp11RequestWithoutOneHostIs400WithAJsonError) {
    OndaProcess onda;
    for (std::string request :
         {"GET /healthz HTTP/1.1\r\n\r\n", "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"}) {
        RawSocket socket(onda.port());
        socket.send(request);
        auto answer = socket.receive_until("}", 5s);
        EXPECT_NE(answer.find("HTTP/1.1 400"), std::string::npos) << answer;
        EXPECT_NE(answer.find("Host"), std::string::npos) << answer;  // the error says why
        EXPECT_TRUE(socket.closed_within(5s));
    }
    RawSocket socket(onda.port());
    socket.send("GET /healthz HTTP/1.0\r\n\r\n");  // HTTP/1.0 needs none
    EXPECT_NE(socket.receive_until("}", 5s).find("HTTP/1.1 200"), std::string::npos);
}

TEST(HttpServer, SlowlorisIsCutOffWhileOthersAreServed) {
    OndaProcess onda({.settings = {{"limits.header_timeout", "1s"}}});
    RawSocket slow(onda.port());
    slow.send("GET /healthz HTTP/1.1\r\nHost: x\r\n");
    auto started = std::chrono::steady_clock::now();
    bool cut = false;
    for (int i = 0; i < 40 && !cut; ++i) {
        slow.send("X-Drip-" + std::to_string(i) + ": y\r\n");   // never finishes the head
        EXPECT_EQ(http_get(onda.url("/healthz")).status, 200);  // others are unaffected
        cut = slow.closed_within(100ms);
    }
    EXPECT_TRUE(cut);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
}

TEST(HttpServer, AStalledBodyIsCutOffAfterTheBodyTimeoutWhileOthersAreServed) {
    OndaProcess onda({.settings = {{"limits.body_timeout", "1s"}}});
    auto token = onda.token("alice", "creator");
    RawSocket stalled(onda.port());
    auto const started = std::chrono::steady_clock::now();
    stalled.send("POST /v1/media?filename=a.wav HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
                 "\r\nContent-Type: audio/wav\r\nContent-Length: 100000\r\n\r\nRIFF");  // and no more
    EXPECT_EQ(http_get(onda.url("/healthz")).status, 200);
    auto answer = stalled.receive_until("}", 5s);
    EXPECT_NE(answer.find("HTTP/1.1 408"), std::string::npos) << answer;
    EXPECT_TRUE(stalled.closed_within(2s));
    auto const waited = std::chrono::steady_clock::now() - started;
    EXPECT_GE(waited, 900ms);
    EXPECT_LT(waited, 4s);
    auto listed = http_get(onda.url("/v1/media"), {{"Authorization", "Bearer " + token}});
    EXPECT_EQ(listed.status, 200);
    EXPECT_NE(listed.body.find("\"items\":[]"), std::string::npos) << listed.body;  // nothing was kept
}

TEST(HttpServer, IdleKeepAliveConnectionIsClosedAfterTheIdleTimeout) {
    OndaProcess onda({.settings = {{"limits.idle_timeout", "500ms"}}});
    RawSocket socket(onda.port());
    socket.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_NE(socket.receive_until("ok\"}", 5s).find("200 OK"), std::string::npos);
    EXPECT_TRUE(socket.closed_within(3s));
}

TEST(HttpServer, PipelinedRequestsAreAnsweredInOrder) {
    OndaProcess onda;
    RawSocket socket(onda.port());
    socket.send(
        "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
        "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    auto answers = socket.receive_until("\"ready\"", 5s);
    auto first = answers.find("HTTP/1.1 200");
    auto second = answers.find("HTTP/1.1 404");
    auto third = answers.find("HTTP/1.1 200", second);
    ASSERT_NE(first, std::string::npos) << answers;
    ASSERT_NE(second, std::string::npos) << answers;
    ASSERT_NE(third, std::string::npos) << answers;
    EXPECT_LT(first, second);
    EXPECT_TRUE(socket.closed_within(5s));
}

TEST(HttpServer, PipelinedRequestsWithBodiesKeepTheirBoundaries) {
    // Bodies of declared length are read straight into the handler's buffer: the read must stop at
    // the body's end, or the next request (sent in the same packet) would be swallowed.
    OndaProcess onda;
    auto token = onda.token("alice", "creator");
    auto up = upload_raw(onda, token, make_wav(0.5), "filename=p.wav");
    ASSERT_EQ(up.response.status, 201);
    auto patch = [&](std::string const& title) {
        std::string body = R"({"title":")" + title + "\"}";
        return "PATCH /v1/media/" + up.id + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
               "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
               body;
    };
    RawSocket socket(onda.port());
    socket.send(patch("first") + patch("second") + "GET /v1/media/" + up.id +
                " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token + "\r\nConnection: close\r\n\r\n");
    auto answers = socket.receive_for(5s);
    std::size_t oks = 0;
    for (auto at = answers.find("HTTP/1.1 200"); at != std::string::npos; at = answers.find("HTTP/1.1 200", at + 1))
        ++oks;
    EXPECT_EQ(oks, 3u) << answers;
    auto last = answers.rfind("HTTP/1.1 200");
    ASSERT_NE(last, std::string::npos) << answers;
    EXPECT_NE(answers.find(R"("title":"second")", last), std::string::npos) << answers;
}

TEST(HttpServer, ABodyAfter100ContinueInPiecesStopsAtItsEnd) {
    // The body is read from the socket (not the head's buffer) in several reads; the request that
    // follows it in the last piece must still be read as a request.
    OndaProcess onda;
    auto token = onda.token("alice", "creator");
    auto up = upload_raw(onda, token, make_wav(0.5), "filename=p.wav");
    ASSERT_EQ(up.response.status, 201);
    std::string const body = R"({"title":"after continue"})";
    RawSocket socket(onda.port());
    socket.send("PATCH /v1/media/" + up.id + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
                "\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: " +
                std::to_string(body.size()) + "\r\n\r\n");
    EXPECT_EQ(socket.receive_until("\r\n\r\n", 5s), "HTTP/1.1 100 Continue\r\n\r\n");
    socket.send(body.substr(0, 5));
    std::this_thread::sleep_for(100ms);  // the server reads what came, then waits for the rest
    socket.send(body.substr(5) + "GET /v1/media/" + up.id + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
                "\r\nConnection: close\r\n\r\n");
    auto answers = socket.receive_for(5s);
    auto first = answers.find("HTTP/1.1 200");
    ASSERT_NE(first, std::string::npos) << answers;
    auto second = answers.find("HTTP/1.1 200", first + 1);
    ASSERT_NE(second, std::string::npos) << answers;
    EXPECT_NE(answers.find(R"("title":"after continue")", second), std::string::npos) << answers;
}

TEST(HttpServer, Http10GetsAnAnswerAndAClose) {
    OndaProcess onda;
    RawSocket socket(onda.port());
    socket.send("GET /healthz HTTP/1.0\r\n\r\n");
    auto answer = socket.receive_until("ok\"}", 5s);
    EXPECT_NE(answer.find("200 OK"), std::string::npos);
    EXPECT_TRUE(socket.closed_within(5s));
}

TEST(HttpServer, ExpectContinueUploadWorks) {
    OndaProcess onda;
    auto wav = make_wav(0.5);
    RawSocket socket(onda.port());
    socket.send("POST /v1/media?filename=c.wav HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                onda.token("a", "creator") + "\r\nContent-Type: audio/wav\r\nExpect: 100-continue\r\nContent-Length: " +
                std::to_string(wav.size()) + "\r\n\r\n");
    auto interim = socket.receive_until("\r\n\r\n", 5s);
    EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
    socket.send(wav);
    auto final_answer = socket.receive_until("}}", 10s);
    EXPECT_NE(final_answer.find("HTTP/1.1 201"), std::string::npos) << final_answer.substr(0, 300);
}

TEST(HttpServer, SigtermLetsAnInFlightDownloadFinish) {
    OndaProcess onda({.settings = {{"auth.default_visibility", "public"}}});
    auto big = make_wav(120.0, 44100);  // ~10 MB
    auto up = upload_raw(onda, onda.token("alice", "creator"), big, "filename=big.wav");
    ASSERT_EQ(up.response.status, 201);
    RawSocket downloader(onda.port());
    downloader.send("GET /v1/media/" + up.id + "/stream HTTP/1.1\r\nHost: x\r\n\r\n");
    auto received = downloader.receive_until("\r\n\r\n", 5s);  // the head and a first part of the body
    ASSERT_NE(received.find("200 OK"), std::string::npos);
    ::kill(onda.pid(), SIGTERM);
    received += downloader.receive_for(20s);  // reads until the server closes
    auto body = received.substr(received.find("\r\n\r\n") + 4);
    EXPECT_EQ(body.size(), big.size());
    EXPECT_EQ(sha256_hex(body), sha256_hex(big));
    EXPECT_EQ(onda.wait_for_exit(), 0);  // the one SIGTERM ends it; a second could land after its handler is gone
}

TEST(HttpServer, SigtermWithAStalledDownloadExitsAfterTheShutdownTimeout) {
    OndaProcess onda({.settings = {{"auth.default_visibility", "public"}, {"limits.shutdown_timeout", "500ms"}}});
    auto big = make_wav(120.0, 44100);
    auto up = upload_raw(onda, onda.token("alice", "creator"), big, "filename=big.wav");
    ASSERT_EQ(up.response.status, 201);
    RawSocket stalled(onda.port());
    stalled.send("GET /v1/media/" + up.id + "/stream HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_NE(stalled.receive_until("\r\n\r\n", 5s).find("200 OK"), std::string::npos);
    // The client stops reading: the server's send buffer fills and the response cannot finish.
    auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(onda.stop(10s), 0);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

TEST(HttpServer, MetricsCountRequestsByRouteLatencyAndBytes) {
    OndaProcess onda;
    for (int i = 0; i < 3; ++i) http_get(onda.url("/v1/media"));
    http_get(onda.url("/nope"));
    auto res = http_get(onda.url("/metrics"));
    EXPECT_EQ(res.status, 200);
    EXPECT_NE(res.header("Content-Type").find("text/plain"), std::string::npos);
    EXPECT_NE(res.body.find("onda_http_requests_total{route=\"media.list\",status=\"2xx\"} 3"), std::string::npos)
        << res.body;
    EXPECT_NE(res.body.find("onda_http_requests_total{route=\"unmatched\",status=\"4xx\"} 1"), std::string::npos);
    EXPECT_NE(res.body.find("onda_http_request_duration_seconds_bucket{route=\"media.list\",le=\"+Inf\"} 3"),
              std::string::npos);
}

// onda_http_response_bytes_total counts what went out, file bodies (sendfile) included: a download
// of a known size moves it by that much, give or take the heads and the /metrics answer between.
TEST(HttpServer, MetricsCountTheBytesSent) {
    OndaProcess onda({.settings = {{"auth.default_visibility", "public"}}});
    auto const wav = make_wav(10.0);  // 160 KB
    auto const up = upload_raw(onda, onda.token("alice", "creator"), wav);
    ASSERT_EQ(up.response.status, 201);
    auto sent = [&] { return metric_value(http_get(onda.url("/metrics")).body, "onda_http_response_bytes_total"); };
    auto const before = sent();
    ASSERT_EQ(http_get(onda.url("/v1/media/" + up.id + "/stream")).body, wav);
    auto const after = sent();
    ASSERT_TRUE(before && after);
    EXPECT_GE(*after - *before, static_cast<double>(wav.size()));
    EXPECT_LT(*after - *before, static_cast<double>(wav.size() + 64 * 1024));
}

// Each answer names its request id (X-Request-Id), and the log line of that request carries the same
// id, so a client's report leads to the server's line (per-request lines are at debug level).
TEST(HttpServer, TheRequestIdOfAnAnswerIsTheOneInTheLog) {
    OndaProcess onda({.settings = {{"log.level", "debug"}}});
    auto const first = http_get(onda.url("/v1/media"));
    auto const second = http_get(onda.url("/nope"));
    auto const a = first.header("X-Request-Id");
    auto const b = second.header("X-Request-Id");
    ASSERT_FALSE(a.empty());
    ASSERT_FALSE(b.empty());
    EXPECT_NE(a, b);
    EXPECT_TRUE(eventually([&] {
        auto const log = onda.log();
        return log.find("req=" + a + " GET /v1/media 200") != std::string::npos &&
               log.find("req=" + b + " GET /nope 404") != std::string::npos;
    })) << onda.log();
}

// onda_http_open_connections follows the connections: three held open count (with the one that
// asks), and once they close the gauge comes back down.
TEST(HttpServer, MetricsCountOpenConnections) {
    OndaProcess onda;
    auto open_now = [&] { return metric_value(http_get(onda.url("/metrics")).body, "onda_http_open_connections"); };
    auto const alone = open_now();
    ASSERT_TRUE(alone);
    {
        std::vector<std::unique_ptr<RawSocket>> held;
        for (int i = 0; i < 3; ++i) {
            held.push_back(std::make_unique<RawSocket>(onda.port()));
            held.back()->send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
            ASSERT_NE(held.back()->receive_until("\r\n\r\n", 5s).find("200 OK"), std::string::npos);
        }
        // The connection of the last /metrics may still be closing: wait for exactly three more.
        EXPECT_TRUE(eventually([&] { return open_now() == *alone + 3; })) << open_now().value_or(-1) << " open";
    }
    EXPECT_TRUE(eventually([&] { return open_now() == alone; }));
}

TEST(Cli, ProbePrintsJsonForMediaAndAnErrorForText) {
    TempDir dir;
    auto wav_path = dir.path() / "a.wav";
    auto text_path = dir.path() / "a.txt";
    {
        std::ofstream(wav_path, std::ios::binary) << make_wav(1.5);
        std::ofstream(text_path) << "just some words, not audio\n";
    }
    auto media = run_command({ONDA_BINARY, "probe", wav_path.string()});
    EXPECT_EQ(media.status, 0);
    auto info = parse_json(media.output);
    EXPECT_EQ(info.at("kind").as_string(), "audio");
    EXPECT_NEAR(info.at("duration").to_number<double>(), 1.5, 0.01);
    auto text = run_command({ONDA_BINARY, "probe", text_path.string()});
    EXPECT_EQ(text.status, 1);
    EXPECT_EQ(parse_json(text.output).at("error").at("code").as_string(), "unsupported_media");
}

TEST(Cli, TokenRefusesUnknownRoles) {
    TempDir dir;
    auto res =
        run_command({ONDA_BINARY, "token", "--data-dir", dir.path().string(), "--sub", "a", "--role", "emperor"});
    EXPECT_EQ(res.status, 2);
}

}  // namespace
}  // namespace onda::test
