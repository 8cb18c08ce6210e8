// POST /v1/media against the real binary: raw and multipart bodies, and every way an upload can go
// wrong leaves nothing behind.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "e2e.hpp"
#include "support/media_fixtures.hpp"
#include "support/media_tools.hpp"
#include "support/raw_socket.hpp"
#include "support/temp_dir.hpp"

namespace onda::test {
namespace {

TEST(Upload, RawWavBecomesAProbedPrivateMediaObject) {
    OndaProcess onda;
    auto wav = make_wav(2.0, 8000);
    auto up = upload_raw(onda, onda.token("alice", "creator"), wav, "filename=talk.wav&title=Talk");
    ASSERT_EQ(up.response.status, 201) << up.response.body;
    auto const& o = up.body.as_object();
    EXPECT_EQ(up.response.header("Location"), "/v1/media/" + up.id);
    EXPECT_EQ(o.at("title").as_string(), "Talk");
    EXPECT_EQ(o.at("filename").as_string(), "talk.wav");
    EXPECT_EQ(o.at("owner").as_string(), "alice");
    EXPECT_EQ(o.at("visibility").as_string(), "private");
    EXPECT_EQ(o.at("source").as_string(), "upload");
    EXPECT_EQ(o.at("kind").as_string(), "audio");
    EXPECT_EQ(o.at("content_type").as_string(), "audio/wav");
    EXPECT_EQ(o.at("format").as_string(), "wav");
    EXPECT_EQ(o.at("size").to_number<std::uint64_t>(), wav.size());
    EXPECT_EQ(o.at("sha256").as_string(), sha256_hex(wav));
    EXPECT_NEAR(o.at("duration").to_number<double>(), 2.0, 0.01);
    EXPECT_EQ(o.at("audio").at("codec").as_string(), "pcm_s16le");
    EXPECT_EQ(o.at("audio").at("sample_rate").to_number<int>(), 8000);
    EXPECT_EQ(o.at("audio").at("channels").to_number<int>(), 1);
    EXPECT_TRUE(o.at("video").is_null());
    EXPECT_EQ(o.at("transcode").at("state").as_string(), "queued");  // its transcode job is enqueued with it
    EXPECT_EQ(o.at("urls").at("stream").as_string(), "/v1/media/" + up.id + "/stream");
}

constexpr char const* boundary = "----ondaTestBoundary7MA4YWxkTrZu0gW";

// A multipart/form-data body: the text fields, then (unless `file` is nullopt) the file part.
std::string form_body(std::vector<std::pair<std::string, std::string>> const& fields,
                      std::optional<std::string> const& file) {
    std::string body;
    for (auto const& [name, value] : fields)
        body += std::string("--") + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" +
                value + "\r\n";
    if (file)
        body += std::string("--") + boundary +
                "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"show.wav\"\r\n"
                "Content-Type: audio/wav\r\n\r\n" +
                *file + "\r\n";
    return body + "--" + boundary + "--\r\n";
}

HttpResponse post_form(OndaProcess const& onda, std::string const& body) {
    return http_request({.method = "POST",
                         .url = onda.url("/v1/media"),
                         .headers = {bearer(onda.token("bob", "creator")),
                                     {"Content-Type", std::string("multipart/form-data; boundary=") + boundary}},
                         .body = body});
}

TEST(Upload, MultipartFormWithTitleAndVisibilityParts) {
    OndaProcess onda;
    auto wav = make_wav(1.0);
    auto res = post_form(onda, form_body({{"title", "Morning show"}, {"visibility", "public"}}, wav));
    ASSERT_EQ(res.status, 201) << res.body;
    auto o = parse_json(res.body).as_object();
    EXPECT_EQ(o.at("title").as_string(), "Morning show");
    EXPECT_EQ(o.at("visibility").as_string(), "public");
    EXPECT_EQ(o.at("filename").as_string(), "show.wav");
    EXPECT_EQ(o.at("sha256").as_string(), sha256_hex(wav));
    auto bytes = http_get(onda.url("/v1/media/" + std::string(o.at("id").as_string()) + "/stream"));
    EXPECT_EQ(bytes.status, 200);
    EXPECT_EQ(bytes.body, wav);
}

// A file part far larger than one read of the body (1.7 MB): it streams through the parser to the
// spool over many reads, delimiter look-alikes and all, and arrives whole.
TEST(Upload, ALargeMultipartFileArrivesWhole) {
    OndaProcess onda;
    auto wav = make_wav(20.0, 44100);
    auto res = post_form(onda, form_body({{"visibility", "public"}}, wav));
    ASSERT_EQ(res.status, 201) << res.body;
    auto o = parse_json(res.body).as_object();
    EXPECT_EQ(o.at("sha256").as_string(), sha256_hex(wav));
    EXPECT_EQ(o.at("size").to_number<std::uint64_t>(), wav.size());
    EXPECT_EQ(http_get(onda.url("/v1/media/" + std::string(o.at("id").as_string()) + "/stream")).body, wav);
}

TEST(Upload, BadMultipartFormsAreRefusedAndNothingIsKept) {
    OndaProcess onda({.settings = {{"limits.max_upload_bytes", "64KiB"}}});
    auto const big = post_form(onda, form_body({}, make_wav(10.0, 8000)));  // 160 KB
    EXPECT_EQ(big.status, 413) << big.body;
    EXPECT_EQ(error_code(big), "too_large");
    auto const text = post_form(onda, form_body({}, std::string(4000, 'x')));
    EXPECT_EQ(text.status, 415) << text.body;
    EXPECT_EQ(error_code(text), "unsupported_media");
    auto const no_file = post_form(onda, form_body({{"title", "nothing"}}, std::nullopt));
    EXPECT_EQ(no_file.status, 400) << no_file.body;
    EXPECT_FALSE(error_code(no_file).empty()) << no_file.body;
    auto const unterminated = post_form(onda, std::string("--") + boundary +
                                                  "\r\nContent-Disposition: form-data; "
                                                  "name=\"file\"; filename=\"a.wav\"\r\n\r\nRIFF");
    EXPECT_EQ(unterminated.status, 400) << unterminated.body;
    EXPECT_FALSE(error_code(unterminated).empty()) << unterminated.body;
    EXPECT_TRUE(eventually([&] { return count_files(onda.data_dir() / "spool") == 0; }));
    EXPECT_EQ(count_files(onda.data_dir() / "blobs"), 0u);
    EXPECT_EQ(parse_json(http_get(onda.url("/v1/media"), {bearer(onda.token("bob", "creator"))}).body)
                  .at("items")
                  .as_array()
                  .size(),
              0u);
}

TEST(Upload, WithoutATokenIs401AndAViewerIs403) {
    OndaProcess onda;
    auto anonymous = http_request({.method = "POST", .url = onda.url("/v1/media"), .body = make_wav(0.5)});
    EXPECT_EQ(anonymous.status, 401);
    EXPECT_EQ(error_code(anonymous), "unauthenticated");
    auto viewer = upload_raw(onda, onda.token("carol", "viewer"), make_wav(0.5));
    EXPECT_EQ(viewer.response.status, 403);
    EXPECT_EQ(error_code(viewer.response), "forbidden");
}

TEST(Upload, BytesThatAreNotMediaAre415AndNothingIsKept) {
    OndaProcess onda;
    auto token = onda.token("alice", "creator");
    auto text =
        upload_raw(onda, token, std::string(5000, 'x') + "hello, this is not audio", "filename=a.wav", "audio/wav");
    EXPECT_EQ(text.response.status, 415);
    EXPECT_EQ(error_code(text.response), "unsupported_media");
    std::string png_header("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
    auto png = upload_raw(onda, token, png_header + std::string(2000, '\0'), "filename=a.png", "image/png");
    EXPECT_EQ(png.response.status, 415);
    auto list = http_get(onda.url("/v1/media"), {bearer(token)});
    EXPECT_EQ(parse_json(list.body).at("items").as_array().size(), 0u);
    EXPECT_EQ(count_files(onda.data_dir() / "blobs"), 0u);
    EXPECT_EQ(count_files(onda.data_dir() / "spool"), 0u);
}

TEST(Upload, EmptyBodyIsRejected) {
    OndaProcess onda;
    auto up = upload_raw(onda, onda.token("alice", "creator"), "");
    EXPECT_EQ(up.response.status, 400);
    EXPECT_EQ(error_code(up.response), "invalid_argument");
}

TEST(Upload, DeclaredLengthPastTheLimitIs413BeforeTheBodyIsRead) {
    OndaProcess onda({.settings = {{"limits.max_upload_bytes", "64KiB"}}});
    RawSocket socket(onda.port());
    socket.send("POST /v1/media HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + onda.token("alice", "creator") +
                "\r\nContent-Type: audio/wav\r\nContent-Length: 10000000\r\n\r\n");
    auto answer = socket.receive_until("\r\n\r\n", std::chrono::seconds(5));
    EXPECT_NE(answer.find("HTTP/1.1 413"), std::string::npos) << answer;
    EXPECT_NE(answer.find("Connection: close"), std::string::npos);
}

TEST(Upload, ChunkedBodyPastTheLimitIs413AndNothingIsKept) {
    OndaProcess onda({.settings = {{"limits.max_upload_bytes", "64KiB"}}});
    auto wav = make_wav(10.0, 8000);  // 160 KB
    auto res = http_request({.method = "POST",
                             .url = onda.url("/v1/media?filename=big.wav"),
                             .headers = {bearer(onda.token("alice", "creator")),
                                         {"Content-Type", "audio/wav"},
                                         {"Transfer-Encoding", "chunked"}},
                             .body = wav});
    EXPECT_EQ(res.status, 413) << res.body;
    EXPECT_EQ(error_code(res), "too_large");
    EXPECT_TRUE(eventually([&] { return count_files(onda.data_dir() / "spool") == 0; }));
    EXPECT_EQ(count_files(onda.data_dir() / "blobs"), 0u);
}

TEST(Upload, ClientThatDisconnectsMidBodyLeavesNoFileAndNoRow) {
    OndaProcess onda;
    auto token = onda.token("alice", "creator");
    auto wav = make_wav(30.0, 8000);
    {
        RawSocket socket(onda.port());
        socket.send("POST /v1/media?filename=cut.wav HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
                    "\r\nContent-Type: audio/wav\r\nContent-Length: " + std::to_string(wav.size()) + "\r\n\r\n");
        socket.send(std::string_view(wav).substr(0, wav.size() / 3));
        EXPECT_TRUE(eventually([&] { return count_files(onda.data_dir() / "spool") == 1; }));
    }  // closed mid-body
    EXPECT_TRUE(eventually([&] { return count_files(onda.data_dir() / "spool") == 0; }));
    auto list = http_get(onda.url("/v1/media"), {bearer(token)});
    EXPECT_EQ(parse_json(list.body).at("items").as_array().size(), 0u);
    EXPECT_EQ(count_files(onda.data_dir() / "blobs"), 0u);
    EXPECT_EQ(http_get(onda.url("/healthz")).status, 200);
}

TEST(Upload, KillDashNineMidUploadLeavesNoOrphanAfterRestart) {
    OndaProcess onda;
    auto token = onda.token("alice", "creator");
    auto kept = upload_raw(onda, token, make_wav(1.0), "filename=kept.wav");
    ASSERT_EQ(kept.response.status, 201);
    auto wav = make_wav(30.0, 8000);
    RawSocket socket(onda.port());
    socket.send("POST /v1/media?filename=cut.wav HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
                "\r\nContent-Type: audio/wav\r\nContent-Length: " + std::to_string(wav.size()) + "\r\n\r\n");
    socket.send(std::string_view(wav).substr(0, wav.size() / 2));
    EXPECT_TRUE(eventually([&] { return count_files(onda.data_dir() / "spool") == 1; }));
    onda.kill9();
    socket.close();
    onda.start();

    EXPECT_EQ(count_files(onda.data_dir() / "spool"), 0u);
    EXPECT_EQ(count_files(onda.data_dir() / "blobs"), 1u);  // the one finished upload, nothing else
    auto list = parse_json(http_get(onda.url("/v1/media"), {bearer(token)}).body);
    ASSERT_EQ(list.at("items").as_array().size(), 1u);
    EXPECT_EQ(list.at("items").at(0).at("id").as_string(), kept.id);
    EXPECT_EQ(http_get(onda.url("/v1/media/" + kept.id + "/stream"), {bearer(token)}).body, make_wav(1.0));
}

// A crash after the media's row was written and its file stored, but before the row was marked
// ready, leaves a pending row (invisible) and a blob. The next start removes both. The state is
// made with the sqlite3 CLI while onda is stopped: a kill -9 that lands in that window cannot be
// timed from outside.
TEST(Upload, AMediaLeftPendingByACrashIsRemovedWithItsFileAtTheNextStart) {
    OndaProcess onda;
    auto token = onda.token("alice", "creator");
    auto kept = upload_raw(onda, token, make_wav(1.0), "filename=kept.wav");
    auto cut = upload_raw(onda, token, make_wav(0.5), "filename=cut.wav");
    ASSERT_EQ(kept.response.status, 201);
    ASSERT_EQ(cut.response.status, 201);
    ASSERT_EQ(onda.stop(), 0);
    auto const db = (onda.data_dir() / "onda.db").string();
    auto sql = [&](std::string const& statement) { return run_command({"/usr/bin/env", "sqlite3", db, statement}); };
    ASSERT_EQ(sql("UPDATE media SET state = 'pending' WHERE id = '" + cut.id + "'").status, 0)
        << "needs the sqlite3 CLI (Debian package sqlite3)";
    ASSERT_EQ(count_files(onda.data_dir() / "blobs" / "media" / cut.id), 1u);

    onda.start();
    EXPECT_EQ(http_get(onda.url("/v1/media/" + cut.id), {bearer(token)}).status, 404);
    EXPECT_EQ(sql("SELECT count(*) FROM media WHERE id = '" + cut.id + "'").output, "0\n");
    EXPECT_EQ(count_files(onda.data_dir() / "blobs" / "media" / cut.id), 0u);
    EXPECT_NE(onda.log().find("recover: removed 1 media"), std::string::npos) << onda.log();
    // The other one is untouched.
    EXPECT_EQ(http_get(onda.url("/v1/media/" + kept.id + "/stream"), {bearer(token)}).body, make_wav(1.0));
}

// probe.max_bytes bounds how far the probe reads: an MP4 whose index (moov) is at its end, past the
// budget, cannot be read within it and is refused like any unreadable file; the same file with the
// default budget is stored.
TEST(Upload, TheProbeReadsNoFurtherThanItsBudget) {
    TempDir dir;
    auto const mp4 = dir.path() / "clip.mp4";
    ASSERT_TRUE(
        run_ffmpeg("-f lavfi -i testsrc=size=160x120:rate=10:d=2 -c:v libx264 -preset ultrafast " + quoted(mp4)));
    auto const video = read_file(mp4);
    ASSERT_GT(video.size(), 8u * 1024);
    {
        OndaProcess tight({.settings = {{"probe.max_bytes", "4KiB"}}});
        auto refused = upload_raw(tight, tight.token("alice", "creator"), video, "filename=clip.mp4", "video/mp4");
        EXPECT_EQ(refused.response.status, 415) << refused.response.body;
        EXPECT_EQ(error_code(refused.response), "unsupported_media");
        EXPECT_TRUE(eventually([&] { return count_files(tight.data_dir() / "spool") == 0; }));
        EXPECT_EQ(count_files(tight.data_dir() / "blobs"), 0u);
    }
    OndaProcess roomy;
    auto stored = upload_raw(roomy, roomy.token("alice", "creator"), video, "filename=clip.mp4", "video/mp4");
    EXPECT_EQ(stored.response.status, 201) << stored.response.body;
}

TEST(Upload, BadVisibilityIs400) {
    OndaProcess onda;
    auto up = upload_raw(onda, onda.token("alice", "creator"), make_wav(0.5), "filename=a.wav&visibility=secret");
    EXPECT_EQ(up.response.status, 400);
    EXPECT_EQ(count_files(onda.data_dir() / "blobs"), 0u);
}

}  // namespace
}  // namespace onda::test
