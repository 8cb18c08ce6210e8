// Who may read what: private media, tokens from header/query/cookie, bad tokens, presigned links,
// the API rate limit and CORS.
#include <thread>

#include <gtest/gtest.h>

#include "e2e.hpp"
#include "support/media_fixtures.hpp"
#include "support/raw_socket.hpp"

namespace onda::test {
namespace {

using namespace std::chrono_literals;

std::string query_value(std::string const& url, std::string const& name) {
    auto at = url.find(name + "=");
    if (at == std::string::npos) return {};
    auto end = url.find('&', at);
    return url.substr(at + name.size() + 1, end == std::string::npos ? std::string::npos : end - at - name.size() - 1);
}

class Access : public ::testing::Test {
protected:
    void SetUp() override {
        alice_ = onda_.token("alice", "creator");
        auto up = upload_raw(onda_, alice_, wav_, "filename=p.wav");
        ASSERT_EQ(up.response.status, 201);
        id_ = up.id;
    }
    std::string stream_path() const { return "/v1/media/" + id_ + "/stream"; }

    OndaProcess onda_;
    std::string alice_;
    std::string wav_ = make_wav(0.5);
    std::string id_;
};

TEST_F(Access, PrivateMediaNeedsTheOwnerOrAnAdmin) {
    auto anonymous = http_get(onda_.url(stream_path()));
    EXPECT_EQ(anonymous.status, 401);
    EXPECT_EQ(error_code(anonymous), "unauthenticated");
    auto bob = http_get(onda_.url(stream_path()), {bearer(onda_.token("bob", "creator"))});
    EXPECT_EQ(bob.status, 403);
    EXPECT_EQ(error_code(bob), "forbidden");
    EXPECT_EQ(http_get(onda_.url(stream_path()), {bearer(alice_)}).body, wav_);
    EXPECT_EQ(http_get(onda_.url(stream_path()), {bearer(onda_.token("root", "admin"))}).status, 200);
    EXPECT_EQ(http_get(onda_.url("/v1/media/" + id_)).status, 401);
}

TEST_F(Access, TokenIsReadFromQueryAndCookieToo) {
    EXPECT_EQ(http_get(onda_.url(stream_path() + "?token=" + alice_)).status, 200);
    EXPECT_EQ(http_get(onda_.url(stream_path()), {{"Cookie", "theme=dark; onda_token=" + alice_}}).status, 200);
}

TEST_F(Access, BadTokensAre401WithAReason) {
    auto parts = alice_;
    auto first_dot = parts.find('.');
    auto last_dot = parts.rfind('.');
    std::string payload = parts.substr(first_dot + 1, last_dot - first_dot - 1);
    // {"alg":"none","typ":"JWT"} with alice's payload and no signature
    std::string alg_none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + payload + ".";
    std::string tampered = alice_;
    tampered[last_dot + 3] = tampered[last_dot + 3] == 'A' ? 'B' : 'A';
    for (auto const& token : {alg_none, tampered, std::string("garbage"), std::string("a.b.c")}) {
        auto res = http_get(onda_.url("/v1/media"), {bearer(token)});
        EXPECT_EQ(res.status, 401) << token;
        EXPECT_EQ(error_code(res), "unauthenticated");
        EXPECT_EQ(res.header("WWW-Authenticate"), "Bearer");
    }
    auto short_lived = onda_.token("alice", "creator", "1s");
    EXPECT_TRUE(eventually([&] { return http_get(onda_.url("/v1/media"), {bearer(short_lived)}).status == 401; },
                           std::chrono::seconds(5)));
}

TEST_F(Access, PresignedLinkPlaysWithoutATokenUntilItExpires) {
    auto res = http_get(onda_.url("/v1/media/" + id_ + "/presigned-url?expires_in=600"), {bearer(alice_)});
    ASSERT_EQ(res.status, 200) << res.body;
    auto body = parse_json(res.body);
    std::string url(body.at("url").as_string());
    EXPECT_EQ(url.rfind(onda_.url(stream_path() + "?exp="), 0), 0u) << url;
    EXPECT_FALSE(std::string(body.at("expires_at").as_string()).empty());
    auto played = http_get(url);
    EXPECT_EQ(played.status, 200);
    EXPECT_EQ(played.body, wav_);
    EXPECT_EQ(http_get(url, {{"Range", "bytes=0-3"}}).body, "RIFF");
}

TEST_F(Access, TamperedSignatureExpiryOrPathIs403) {
    auto body = parse_json(http_get(onda_.url("/v1/media/" + id_ + "/presigned-url"), {bearer(alice_)}).body);
    std::string url(body.at("url").as_string());
    auto exp = query_value(url, "exp");
    auto sig = query_value(url, "sig");
    std::string flipped = sig;
    flipped[0] = flipped[0] == 'A' ? 'B' : 'A';
    auto bad_sig = http_get(onda_.url(stream_path() + "?exp=" + exp + "&sig=" + flipped));
    EXPECT_EQ(bad_sig.status, 403);
    EXPECT_EQ(error_code(bad_sig), "bad_signature");
    auto bad_exp =
        http_get(onda_.url(stream_path() + "?exp=" + std::to_string(std::stoll(exp) + 1000) + "&sig=" + sig));
    EXPECT_EQ(error_code(bad_exp), "bad_signature");
    auto other_path = http_get(onda_.url("/v1/media/" + id_ + "/download?exp=" + exp + "&sig=" + sig));
    EXPECT_EQ(error_code(other_path), "bad_signature");
    auto with_rendition = http_get(onda_.url(stream_path() + "?exp=" + exp + "&sig=" + sig + "&rendition=mp3-128"));
    EXPECT_EQ(error_code(with_rendition), "bad_signature");
}

TEST_F(Access, ExpiredLinkIs403Expired) {
    auto body =
        parse_json(http_get(onda_.url("/v1/media/" + id_ + "/presigned-url?expires_in=1"), {bearer(alice_)}).body);
    std::string url(body.at("url").as_string());
    EXPECT_TRUE(eventually([&] { return error_code(http_get(url)) == "expired"; }, std::chrono::seconds(5)));
    EXPECT_EQ(http_get(url).status, 403);
}

TEST_F(Access, PresignIsForTheOwnerWithSaneLifetimes) {
    auto base = onda_.url("/v1/media/" + id_ + "/presigned-url");
    EXPECT_EQ(http_get(base, {bearer(onda_.token("bob", "creator"))}).status, 403);
    EXPECT_EQ(http_get(base).status, 401);
    EXPECT_EQ(http_get(base + "?expires_in=0", {bearer(alice_)}).status, 400);
    EXPECT_EQ(http_get(base + "?expires_in=604801", {bearer(alice_)}).status, 400);
    EXPECT_EQ(http_get(base + "?expires_in=-5", {bearer(alice_)}).status, 400);
    auto attachment = parse_json(http_get(base + "?disposition=attachment", {bearer(alice_)}).body);
    std::string url(attachment.at("url").as_string());
    EXPECT_NE(url.find("/download?"), std::string::npos);
    auto res = http_get(url);
    EXPECT_EQ(res.status, 200);
    EXPECT_NE(res.header("Content-Disposition").find("attachment"), std::string::npos);
}

TEST(RateLimit, ApiRoutesGet429WithRetryAfterButMediaBytesDoNot) {
    OndaProcess onda({.settings = {{"auth.rate_limit_per_minute", "5"}, {"auth.default_visibility", "public"}}});
    auto token = onda.token("alice", "creator");
    auto up = upload_raw(onda, token, make_wav(0.2));  // 1 of alice's 5
    ASSERT_EQ(up.response.status, 201);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(http_get(onda.url("/v1/media"), {bearer(token)}).status, 200);
    auto limited = http_get(onda.url("/v1/media"), {bearer(token)});
    EXPECT_EQ(limited.status, 429);
    EXPECT_EQ(error_code(limited), "rate_limited");
    EXPECT_GE(std::stoi(limited.header("Retry-After")), 1);
    for (int i = 0; i < 10; ++i)
        EXPECT_EQ(http_get(onda.url("/v1/media/" + up.id + "/stream"), {bearer(token)}).status, 200);
    // Another caller has a bucket of its own.
    EXPECT_EQ(http_get(onda.url("/v1/media")).status, 200);
}

// Callers without a token share their address's bucket; a token's user has its own, whatever the
// address.
TEST(RateLimit, AnonymousCallersAreLimitedByAddress) {
    OndaProcess onda({.settings = {{"auth.rate_limit_per_minute", "5"}}});
    for (int i = 0; i < 5; ++i) EXPECT_EQ(http_get(onda.url("/v1/media")).status, 200);
    auto limited = http_get(onda.url("/v1/media"));
    EXPECT_EQ(limited.status, 429);
    EXPECT_EQ(error_code(limited), "rate_limited");
    EXPECT_GE(std::stoi(limited.header("Retry-After")), 1);
    EXPECT_EQ(http_get(onda.url("/v1/media"), {bearer(onda.token("alice"))}).status, 200);
    // Another address has a bucket of its own.
    RawSocket elsewhere(onda.port(), 0, "127.0.0.2");
    elsewhere.send("GET /v1/media HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(elsewhere.receive_until("\r\n\r\n", 5s).rfind("HTTP/1.1 200", 0), 0u);
}

TEST(Cors, AllowedOriginsGetHeadersAndPreflightOthersDoNot) {
    OndaProcess onda({.settings = {{"cors.allowed_origins", "https://app.example"}}});
    auto allowed = http_get(onda.url("/v1/media"), {{"Origin", "https://app.example"}});
    EXPECT_EQ(allowed.header("Access-Control-Allow-Origin"), "https://app.example");
    EXPECT_EQ(allowed.header("Access-Control-Allow-Credentials"), "true");
    EXPECT_NE(allowed.header("Access-Control-Expose-Headers").find("Content-Range"), std::string::npos);
    auto other = http_get(onda.url("/v1/media"), {{"Origin", "https://evil.example"}});
    EXPECT_FALSE(other.has_header("Access-Control-Allow-Origin"));
    auto preflight = http_request({.method = "OPTIONS",
                                   .url = onda.url("/v1/media"),
                                   .headers = {{"Origin", "https://app.example"},
                                               {"Access-Control-Request-Method", "POST"},
                                               {"Access-Control-Request-Headers", "authorization, content-type"}}});
    EXPECT_EQ(preflight.status, 204);
    EXPECT_NE(preflight.header("Access-Control-Allow-Methods").find("POST"), std::string::npos);
    EXPECT_NE(preflight.header("Access-Control-Allow-Headers").find("Authorization"), std::string::npos);
    EXPECT_EQ(preflight.header("Access-Control-Allow-Origin"), "https://app.example");
}

TEST(Cors, AWildcardNeverLendsCredentials) {
    OndaProcess onda({.settings = {{"cors.allowed_origins", "*"}}});
    auto res = http_get(onda.url("/v1/media"), {{"Origin", "https://anywhere.example"}});
    EXPECT_EQ(res.header("Access-Control-Allow-Origin"), "*");
    EXPECT_FALSE(res.has_header("Access-Control-Allow-Credentials"));
}

}  // namespace
}  // namespace onda::test
