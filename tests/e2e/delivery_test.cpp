// Delivery rules of API.md over real HTTP: ranges, conditional requests, HEAD, caching headers,
// Content-Disposition, and a client that leaves in the middle of a download.
#include <gtest/gtest.h>

#include "e2e.hpp"
#include "support/media_fixtures.hpp"
#include "support/raw_socket.hpp"

namespace onda::test {
namespace {

class Delivery : public ::testing::Test {
protected:
    void SetUp() override {
        token_ = onda_.token("alice", "creator");
        wav_ = make_wav(3.0, 8000);
        auto up = upload_raw(onda_, token_, wav_, "filename=Épisode%20№1.wav&visibility=public");
        ASSERT_EQ(up.response.status, 201) << up.response.body;
        id_ = up.id;
        stream_ = onda_.url("/v1/media/" + id_ + "/stream");
    }
    HttpResponse get(std::vector<std::pair<std::string, std::string>> headers = {}) {
        return http_get(stream_, std::move(headers));
    }

    OndaProcess onda_;
    std::string token_, wav_, id_, stream_;
};

TEST_F(Delivery, WholeBodyHasValidatorsAndPublicCaching) {
    auto res = get();
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(res.body, wav_);
    EXPECT_EQ(res.header("Accept-Ranges"), "bytes");
    EXPECT_EQ(res.header("Content-Type"), "audio/wav");
    EXPECT_EQ(res.header("Content-Length"), std::to_string(wav_.size()));
    EXPECT_EQ(res.header("Cache-Control"), "public, max-age=31536000, immutable");
    EXPECT_EQ(res.header("ETag").front(), '"');
    EXPECT_FALSE(res.header("Last-Modified").empty());
}

TEST_F(Delivery, SingleOpenAndSuffixRanges) {
    auto first = get({{"Range", "bytes=0-99"}});
    EXPECT_EQ(first.status, 206);
    EXPECT_EQ(first.header("Content-Range"), "bytes 0-99/" + std::to_string(wav_.size()));
    EXPECT_EQ(first.body, wav_.substr(0, 100));
    auto open = get({{"Range", "bytes=1000-"}});
    EXPECT_EQ(open.status, 206);
    EXPECT_EQ(open.body, wav_.substr(1000));
    auto suffix = get({{"Range", "bytes=-500"}});
    EXPECT_EQ(suffix.status, 206);
    EXPECT_EQ(suffix.body, wav_.substr(wav_.size() - 500));
    auto past_end = get({{"Range", "bytes=100-99999999"}});
    EXPECT_EQ(past_end.status, 206);
    EXPECT_EQ(past_end.body, wav_.substr(100));
}

TEST_F(Delivery, SeveralRangesAreMultipartByteranges) {
    auto res = get({{"Range", "bytes=0-3,8-11"}});
    EXPECT_EQ(res.status, 206);
    auto type = res.header("Content-Type");
    ASSERT_EQ(type.rfind("multipart/byteranges; boundary=", 0), 0u) << type;
    auto boundary = type.substr(type.find('=') + 1);
    std::string size = std::to_string(wav_.size());
    std::string expected = "\r\n--" + boundary + "\r\nContent-Type: audio/wav\r\nContent-Range: bytes 0-3/" + size +
                           "\r\n\r\nRIFF" + "\r\n--" + boundary +
                           "\r\nContent-Type: audio/wav\r\nContent-Range: bytes 8-11/" + size + "\r\n\r\nWAVE\r\n--" +
                           boundary + "--\r\n";
    EXPECT_EQ(res.body, expected);
    EXPECT_EQ(res.header("Content-Length"), std::to_string(expected.size()));
}

TEST_F(Delivery, UnsatisfiableRangeIs416WithTheSize) {
    auto res = get({{"Range", "bytes=99999999-"}});
    EXPECT_EQ(res.status, 416);
    EXPECT_EQ(res.header("Content-Range"), "bytes */" + std::to_string(wav_.size()));
    EXPECT_EQ(error_code(res), "range_not_satisfiable");
}

TEST_F(Delivery, MalformedAndAbsurdRangesAreIgnored) {
    for (auto header : {"bytes=abc", "bytes=5-1", "pages=1-2", "bytes=99999999999999999999999-", "bytes",
                        "bytes=0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1"}) {
        auto res = get({{"Range", header}});
        EXPECT_EQ(res.status, 200) << header;
        EXPECT_EQ(res.body.size(), wav_.size()) << header;
    }
}

TEST_F(Delivery, IfNoneMatchAndIfModifiedSinceGive304) {
    auto etag = get().header("ETag");
    auto modified = get().header("Last-Modified");
    auto by_tag = get({{"If-None-Match", etag}});
    EXPECT_EQ(by_tag.status, 304);
    EXPECT_EQ(by_tag.body, "");
    EXPECT_EQ(by_tag.header("ETag"), etag);
    EXPECT_EQ(get({{"If-None-Match", "\"other\", " + etag}}).status, 304);
    EXPECT_EQ(get({{"If-None-Match", "*"}}).status, 304);
    EXPECT_EQ(get({{"If-Modified-Since", modified}}).status, 304);
    EXPECT_EQ(get({{"If-None-Match", "\"other\""}}).status, 200);
    EXPECT_EQ(get({{"If-Modified-Since", "Sat, 01 Jan 2000 00:00:00 GMT"}}).status, 200);
}

TEST_F(Delivery, IfRangeHonouredOnlyWhenItMatches) {
    auto etag = get().header("ETag");
    auto matching = get({{"Range", "bytes=0-3"}, {"If-Range", etag}});
    EXPECT_EQ(matching.status, 206);
    EXPECT_EQ(matching.body, "RIFF");
    auto stale = get({{"Range", "bytes=0-3"}, {"If-Range", "\"stale\""}});
    EXPECT_EQ(stale.status, 200);
    EXPECT_EQ(stale.body.size(), wav_.size());
}

TEST_F(Delivery, IfMatchMismatchIs412) {
    auto res = get({{"If-Match", "\"nope\""}});
    EXPECT_EQ(res.status, 412);
    EXPECT_EQ(error_code(res), "precondition_failed");
}

TEST_F(Delivery, HeadGivesTheHeadersAndNoBody) {
    auto res = http_request({.method = "HEAD", .url = stream_});
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(res.header("Content-Length"), std::to_string(wav_.size()));
    EXPECT_EQ(res.header("Accept-Ranges"), "bytes");
    EXPECT_EQ(res.body, "");
    auto range = http_request({.method = "HEAD", .url = stream_, .headers = {{"Range", "bytes=0-9"}}});
    EXPECT_EQ(range.status, 206);
    EXPECT_EQ(range.header("Content-Length"), "10");
}

TEST_F(Delivery, DownloadNamesTheFileInUtf8) {
    auto res = http_get(onda_.url("/v1/media/" + id_ + "/download"));
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(res.body, wav_);
    auto disposition = res.header("Content-Disposition");
    EXPECT_EQ(disposition.rfind("attachment;", 0), 0u) << disposition;
    EXPECT_NE(disposition.find("filename*=UTF-8''%C3%89pisode%20%E2%84%961.wav"), std::string::npos) << disposition;
}

TEST_F(Delivery, PrivateMediaIsNotCachedPublicly) {
    auto up = upload_raw(onda_, token_, make_wav(0.5), "filename=p.wav&visibility=private");
    auto res = http_get(onda_.url("/v1/media/" + up.id + "/stream"), {bearer(token_)});
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(res.header("Cache-Control"), "private, max-age=0, must-revalidate");
}

TEST_F(Delivery, ChangesAreSeenAtOnceDespiteCachedDeliveries) {
    // Many connections, so both server threads have this media cached.
    for (int i = 0; i < 20; ++i) ASSERT_EQ(get().status, 200);
    auto patched = http_request({.method = "PATCH",
                                 .url = onda_.url("/v1/media/" + id_),
                                 .headers = {bearer(token_)},
                                 .body = R"({"visibility":"private"})"});
    ASSERT_EQ(patched.status, 200);
    for (int i = 0; i < 20; ++i) EXPECT_EQ(get().status, 401);
    for (int i = 0; i < 20; ++i)
        EXPECT_EQ(get({bearer(token_)}).header("Cache-Control"), "private, max-age=0, must-revalidate");
    auto deleted =
        http_request({.method = "DELETE", .url = onda_.url("/v1/media/" + id_), .headers = {bearer(token_)}});
    ASSERT_EQ(deleted.status, 204);
    for (int i = 0; i < 20; ++i) EXPECT_EQ(get({bearer(token_)}).status, 404);
}

TEST_F(Delivery, ClientLeavingMidDownloadDoesNotHurtTheServer) {
    auto big = make_wav(120.0, 44100);  // about 10 MB: more than the socket buffers hold
    auto up = upload_raw(onda_, token_, big, "filename=big.wav&visibility=public");
    ASSERT_EQ(up.response.status, 201);
    for (int i = 0; i < 5; ++i) {
        RawSocket socket(onda_.port());
        socket.send("GET /v1/media/" + up.id + "/stream HTTP/1.1\r\nHost: x\r\n\r\n");
        auto head = socket.receive_until("\r\n\r\n", std::chrono::seconds(5));
        EXPECT_NE(head.find("200 OK"), std::string::npos);
    }  // each closes with most of the body unsent
    EXPECT_EQ(http_get(onda_.url("/healthz")).status, 200);
    auto whole = http_get(onda_.url("/v1/media/" + up.id + "/stream"));
    EXPECT_EQ(whole.status, 200);
    EXPECT_EQ(sha256_hex(whole.body), sha256_hex(big));
}

}  // namespace
}  // namespace onda::test
