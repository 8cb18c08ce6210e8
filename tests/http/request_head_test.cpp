#include "http/detail/request_head.hpp"

#include <string>

#include <gtest/gtest.h>

namespace onda::http::detail {
namespace {

struct Parsed {
    HeadStatus status;
    RequestHead head;
    std::string error;
};

Parsed parse(std::string_view input, std::size_t max_bytes = 16 * 1024) {
    Parsed out{};
    out.status = parse_request_head(input, max_bytes, out.head, out.error);
    return out;
}

TEST(RequestHead, ARequestLineAndFieldsAreViewsOfTheInput) {
    std::string const input =
        "GET /v1/media/m_1/stream?x=1 HTTP/1.1\r\nHost: a\r\nRange:   bytes=0-9 \t\r\nX-Empty:\r\n\r\nBODY";
    auto p = parse(input);
    ASSERT_EQ(p.status, HeadStatus::complete) << p.error;
    EXPECT_EQ(p.head.method, "GET");
    EXPECT_EQ(p.head.target, "/v1/media/m_1/stream?x=1");
    EXPECT_FALSE(p.head.http10);
    ASSERT_EQ(p.head.fields.size(), 3u);
    EXPECT_EQ(p.head.field("range"), "bytes=0-9");  // names compare case-insensitively; OWS trimmed
    EXPECT_EQ(p.head.field("X-Empty"), "");
    EXPECT_EQ(p.head.size, input.find("BODY"));
    EXPECT_EQ(p.head.method.data(), input.data());
    EXPECT_TRUE(p.head.keep_alive);
    EXPECT_FALSE(p.head.chunked);
    EXPECT_EQ(p.head.content_length, 0u);
}

TEST(RequestHead, EveryPrefixOfAHeadNeedsMore) {
    std::string const input = "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n";
    for (std::size_t n = 0; n < input.size(); ++n)
        EXPECT_EQ(parse(input.substr(0, n)).status, HeadStatus::need_more) << n;
    EXPECT_EQ(parse(input).head.content_length, 5u);
}

TEST(RequestHead, EmptyLinesBeforeTheRequestLineAreSkipped) {
    auto p = parse("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
    ASSERT_EQ(p.status, HeadStatus::complete) << p.error;
    EXPECT_EQ(p.head.target, "/");
    std::string many;
    for (int i = 0; i < 9; ++i) many += "\r\n";
    EXPECT_EQ(parse(many + "GET / HTTP/1.1\r\nHost: a\r\n\r\n").status, HeadStatus::malformed);  // a few only
}

TEST(RequestHead, KeepAliveFollowsTheVersionAndConnection) {
    EXPECT_FALSE(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n").head.keep_alive);
    EXPECT_TRUE(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n").head.keep_alive);
    EXPECT_FALSE(parse("GET / HTTP/1.0\r\n\r\n").head.keep_alive);
    auto old = parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    EXPECT_TRUE(old.head.http10);
    EXPECT_TRUE(old.head.keep_alive);
}

TEST(RequestHead, BodyFraming) {
    auto chunked = parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n");
    ASSERT_EQ(chunked.status, HeadStatus::complete) << chunked.error;
    EXPECT_TRUE(chunked.head.chunked);
    EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7, 7\r\n\r\n").head.content_length, 7u);
    EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\nContent-Length: 8\r\n\r\n").status,
              HeadStatus::malformed);
    EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n").status, HeadStatus::malformed);
    EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n").status,
              HeadStatus::malformed);
    EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n").status, HeadStatus::malformed);
    // Smuggling shapes (RFC 9112 §6.3): both framings, or chunked that is not alone.
    EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n").status,
              HeadStatus::malformed);
    EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n").status,
              HeadStatus::malformed);
    EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n").status,
              HeadStatus::coding_unsupported);
    EXPECT_EQ(parse("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n").status, HeadStatus::malformed);
    EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\nContent-Length: 3\r\n\r\n").status,
              HeadStatus::malformed);
    EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,\r\n\r\n").status, HeadStatus::malformed);
}

TEST(RequestHead, MalformedHeadsAreRefused) {
    for (std::string_view bad : {
             "GET / HTTP/1.1\nHost: a\r\n\r\n",          // bare LF
             "GET / HTTP/1.1\r\nHost : a\r\n\r\n",       // space before the colon
             "GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n",  // obsolete folding
             "GET / HTTP/1.1\r\nNo colon\r\n\r\n",       //
             "GET / HTTP/1.1\r\nX: a\x01z\r\n\r\n",      // a control character
             "G(T / HTTP/1.1\r\n\r\n",                   // not a token
             "GET  / HTTP/1.1\r\n\r\n",                  // two spaces: an empty target
             "GET / HTTP/1.1 \r\n\r\n",                  // a space after the version
             "GET /a\x7f HTTP/1.1\r\n\r\n",              // DEL in the target
             "GET / HTTP/1.x\r\n\r\n",                   //
             "GET / FTP/1.1\r\n\r\n",                    //
             "GET /\r\n\r\n",                            // HTTP/0.9
             "GARBAGE\x01\x02 / HTTP/9.9\r\n\r\n",       //
         }) {
        auto p = parse(bad);
        EXPECT_EQ(p.status, HeadStatus::malformed) << bad;
        EXPECT_FALSE(p.error.empty()) << bad;
    }
    EXPECT_EQ(parse("GET / HTTP/2.0\r\n\r\n").status, HeadStatus::version_unsupported);
    // Refused from the first line, without waiting for the rest.
    using namespace std::string_view_literals;
    EXPECT_EQ(parse("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n"sv).status, HeadStatus::malformed);  // TLS
    EXPECT_EQ(parse("GET /a\x00b HTTP/1.1\r\n\r\n"sv).status, HeadStatus::malformed);
}

TEST(RequestHead, HostIsRequiredOnceInHttp11AndNeverTwice) {
    EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: media.example:8080\r\n\r\n").status, HeadStatus::complete);
    EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n").status, HeadStatus::complete);
    EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost:\r\n\r\n").status, HeadStatus::complete);  // an empty authority
    EXPECT_EQ(parse("GET / HTTP/1.0\r\n\r\n").status, HeadStatus::complete);           // 1.0 may leave it out
    for (std::string_view bad : {
             "GET / HTTP/1.1\r\n\r\n",                             // none
             "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n",       // two
             "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n",       // two, even in 1.0
             "GET / HTTP/1.1\r\nHost: a b\r\n\r\n",                // a space
             "GET / HTTP/1.1\r\nHost: evil.example/path\r\n\r\n",  // a slash
             "GET / HTTP/1.1\r\nHost: a@b\r\n\r\n",                // userinfo
         }) {
        auto p = parse(bad);
        EXPECT_EQ(p.status, HeadStatus::malformed) << bad;
        EXPECT_FALSE(p.error.empty()) << bad;
    }
}

TEST(RequestHead, LimitsOnSizeAndFieldCount) {
    std::string big = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(100, 'a');
    EXPECT_EQ(parse(big, 64).status, HeadStatus::too_large);
    EXPECT_EQ(parse(big + "\r\n\r\n", 64).status, HeadStatus::too_large);
    EXPECT_EQ(parse(big + "\r\n\r\n", 1024).status, HeadStatus::complete);
    std::string many = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 101; ++i) many += "X-" + std::to_string(i) + ": y\r\n";
    many += "\r\n";
    EXPECT_EQ(parse(many).status, HeadStatus::too_large);
}

}  // namespace
}  // namespace onda::http::detail
