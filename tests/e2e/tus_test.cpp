// /v1/uploads (tus 1.0.0) against the real binary with plain HTTP: the protocol's answers, crash
// safety, concurrency and every refusal. tests/e2e/js drives the same server with tus-js-client.
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "auth/base64.hpp"
#include "e2e.hpp"
#include "support/media_fixtures.hpp"
#include "support/raw_socket.hpp"

namespace onda::test {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

std::string b64(std::string_view text) { return auth::base64_encode(text); }

class Tus {
public:
    explicit Tus(OndaProcess& onda, std::string user = "alice") : onda_(onda), token_(onda.token(user, "creator")) {}

    HttpResponse create(std::uint64_t length, std::string const& metadata = "",
                        std::optional<std::string> body = std::nullopt, Headers extra = {}) {
        Headers headers{bearer(token_), {"Tus-Resumable", "1.0.0"}, {"Upload-Length", std::to_string(length)}};
        if (!metadata.empty()) headers.emplace_back("Upload-Metadata", metadata);
        if (body) headers.emplace_back("Content-Type", "application/offset+octet-stream");
        headers.insert(headers.end(), extra.begin(), extra.end());
        return http_request({.method = "POST", .url = onda_.url("/v1/uploads"), .headers = headers, .body = body});
    }
    // The upload's path from a 201.
    static std::string path_of(HttpResponse const& created) { return created.header("Location"); }

    HttpResponse patch(std::string const& path, std::uint64_t offset, std::string const& bytes, Headers extra = {}) {
        Headers headers{bearer(token_),
                        {"Tus-Resumable", "1.0.0"},
                        {"Upload-Offset", std::to_string(offset)},
                        {"Content-Type", "application/offset+octet-stream"}};
        headers.insert(headers.end(), extra.begin(), extra.end());
        return http_request({.method = "PATCH", .url = onda_.url(path), .headers = headers, .body = bytes});
    }
    HttpResponse head(std::string const& path) {
        return http_request(
            {.method = "HEAD", .url = onda_.url(path), .headers = {bearer(token_), {"Tus-Resumable", "1.0.0"}}});
    }
    HttpResponse remove(std::string const& path) {
        return http_request(
            {.method = "DELETE", .url = onda_.url(path), .headers = {bearer(token_), {"Tus-Resumable", "1.0.0"}}});
    }
    // Sends `bytes` in chunks; the last PATCH's answer.
    HttpResponse send_all(std::string const& path, std::string const& bytes, std::size_t chunk,
                          std::uint64_t from = 0) {
        HttpResponse last;
        for (std::uint64_t offset = from; offset < bytes.size(); offset += chunk) {
            last = patch(path, offset, bytes.substr(offset, chunk));
            if (last.status != 204) return last;
        }
        return last;
    }
    std::string const& token() const { return token_; }

private:
    OndaProcess& onda_;
    std::string token_;
};

std::uint64_t offset_of(HttpResponse const& response) { return std::stoull(response.header("Upload-Offset")); }

TEST(Tus, OptionsAdvertisesVersionExtensionsAndLimits) {
    OndaProcess onda({.settings = {{"uploads.tus_max_size", "100MiB"}}});
    auto res = http_request({.method = "OPTIONS", .url = onda.url("/v1/uploads")});
    EXPECT_EQ(res.status, 204);
    EXPECT_EQ(res.header("Tus-Version"), "1.0.0");
    EXPECT_EQ(res.header("Tus-Resumable"), "1.0.0");
    EXPECT_EQ(res.header("Tus-Extension"), "creation,creation-with-upload,termination,expiration,checksum");
    EXPECT_EQ(res.header("Tus-Max-Size"), std::to_string(100 * 1024 * 1024));
    EXPECT_EQ(res.header("Tus-Checksum-Algorithm"), "sha1,sha256,md5");
}

TEST(Tus, ChunkedUploadBecomesMediaWithMetadata) {
    OndaProcess onda;
    Tus tus(onda);
    auto wav = make_wav(3.0, 16000);
    auto created = tus.create(wav.size(), "filename " + b64("talk.wav") + ",filetype " + b64("audio/wav") + ",title " +
                                              b64("Talk \xc3\xa9t\xc3\xa9") + ",visibility " + b64("public") +
                                              ",episode " + b64("42"));
    ASSERT_EQ(created.status, 201) << created.body;
    auto const path = Tus::path_of(created);
    EXPECT_TRUE(path.starts_with("/v1/uploads/u_")) << path;
    EXPECT_FALSE(created.header("Upload-Expires").empty());
    EXPECT_EQ(created.header("Tus-Resumable"), "1.0.0");

    auto head = tus.head(path);
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(head.header("Upload-Offset"), "0");
    EXPECT_EQ(head.header("Upload-Length"), std::to_string(wav.size()));
    EXPECT_EQ(head.header("Cache-Control"), "no-store");
    EXPECT_FALSE(head.header("Upload-Expires").empty());

    auto first = tus.patch(path, 0, wav.substr(0, 10'000));
    ASSERT_EQ(first.status, 204) << first.body;
    EXPECT_EQ(first.header("Upload-Offset"), "10000");
    EXPECT_FALSE(first.has_header("Onda-Media-Id"));
    auto last = tus.send_all(path, wav, 10'000, 10'000);
    ASSERT_EQ(last.status, 204) << last.body;
    EXPECT_EQ(offset_of(last), wav.size());
    auto const media_id = last.header("Onda-Media-Id");
    ASSERT_TRUE(media_id.starts_with("m_")) << media_id;
    EXPECT_EQ(tus.head(path).header("Onda-Media-Id"), media_id);
    // A retried last PATCH (its answer lost) gets the same answer.
    auto retried = tus.patch(path, wav.size(), "");
    EXPECT_EQ(retried.status, 204) << retried.body;
    EXPECT_EQ(retried.header("Onda-Media-Id"), media_id);

    auto media = http_get(onda.url("/v1/media/" + media_id), {bearer(tus.token())});
    ASSERT_EQ(media.status, 200) << media.body;
    auto const o = parse_json(media.body).as_object();
    EXPECT_EQ(o.at("sha256").as_string(), sha256_hex(wav));
    EXPECT_EQ(o.at("title").as_string(), "Talk \xc3\xa9t\xc3\xa9");
    EXPECT_EQ(o.at("filename").as_string(), "talk.wav");
    EXPECT_EQ(o.at("visibility").as_string(), "public");
    EXPECT_EQ(o.at("owner").as_string(), "alice");
    EXPECT_EQ(o.at("metadata").at("episode").as_string(), "42");
    EXPECT_EQ(http_get(onda.url("/v1/media/" + media_id + "/download")).body, wav);
    // The upload's own copy is gone once the library holds the file.
    EXPECT_EQ(count_files(onda.data_dir() / "uploads"), 0u);
}

TEST(Tus, CreationWithUploadTakesTheFirstChunk) {
    OndaProcess onda;
    Tus tus(onda);
    auto wav = make_wav(1.0);
    auto created = tus.create(wav.size(), "", wav.substr(0, 1000));
    ASSERT_EQ(created.status, 201) << created.body;
    EXPECT_EQ(created.header("Upload-Offset"), "1000");
    auto path = Tus::path_of(created);
    auto last = tus.patch(path, 1000, wav.substr(1000));
    ASSERT_EQ(last.status, 204) << last.body;
    EXPECT_TRUE(last.header("Onda-Media-Id").starts_with("m_"));

    // The whole file in the POST: done in one request.
    auto whole = tus.create(wav.size(), "", wav);
    ASSERT_EQ(whole.status, 201) << whole.body;
    EXPECT_TRUE(whole.header("Onda-Media-Id").starts_with("m_"));
}

TEST(Tus, WrongOffsetIsAConflictAndChangesNothing) {
    OndaProcess onda;
    Tus tus(onda);
    auto wav = make_wav(1.0);
    auto path = Tus::path_of(tus.create(wav.size()));
    ASSERT_EQ(tus.patch(path, 0, wav.substr(0, 100)).status, 204);
    auto behind = tus.patch(path, 0, wav.substr(0, 100));
    EXPECT_EQ(behind.status, 409);
    EXPECT_EQ(error_code(behind), "conflict");
    EXPECT_EQ(behind.header("Upload-Offset"), "100");
    EXPECT_EQ(tus.patch(path, 500, "x").status, 409);
    EXPECT_EQ(tus.head(path).header("Upload-Offset"), "100");
}

TEST(Tus, RefusesBadRequestsWithJsonErrors) {
    OndaProcess onda({.settings = {{"uploads.tus_max_size", "1MiB"}}});
    Tus tus(onda);
    auto no_version = http_request(
        {.method = "POST", .url = onda.url("/v1/uploads"), .headers = {bearer(tus.token()), {"Upload-Length", "10"}}});
    EXPECT_EQ(no_version.status, 412);
    EXPECT_EQ(no_version.header("Tus-Version"), "1.0.0");
    EXPECT_EQ(error_code(no_version), "precondition_failed");
    EXPECT_EQ(tus.create(2 * 1024 * 1024).status, 413);
    EXPECT_EQ(error_code(tus.create(10, "visibility " + b64("everyone"))), "invalid_argument");
    EXPECT_EQ(tus.create(10, "filename ***").status, 400);
    EXPECT_EQ(tus.create(10, "", std::nullopt, {{"Upload-Defer-Length", "1"}}).status, 400);
    EXPECT_EQ(tus.create(10, "", std::nullopt, {{"Upload-Concat", "partial"}}).status, 400);
    auto no_length = http_request({.method = "POST",
                                   .url = onda.url("/v1/uploads"),
                                   .headers = {bearer(tus.token()), {"Tus-Resumable", "1.0.0"}}});
    EXPECT_EQ(no_length.status, 400);

    auto path = Tus::path_of(tus.create(100));
    auto wrong_type = http_request({.method = "PATCH",
                                    .url = onda.url(path),
                                    .headers = {bearer(tus.token()),
                                                {"Tus-Resumable", "1.0.0"},
                                                {"Upload-Offset", "0"},
                                                {"Content-Type", "text/plain"}},
                                    .body = "abc"});
    EXPECT_EQ(wrong_type.status, 415);
    auto negative = http_request({.method = "PATCH",
                                  .url = onda.url(path),
                                  .headers = {bearer(tus.token()),
                                              {"Tus-Resumable", "1.0.0"},
                                              {"Upload-Offset", "-1"},
                                              {"Content-Type", "application/offset+octet-stream"}},
                                  .body = "x"});
    EXPECT_EQ(negative.status, 400);
    EXPECT_EQ(tus.patch(path, 0, std::string(101, 'x')).status, 413);
    EXPECT_EQ(tus.head(path).header("Upload-Offset"), "0");
    EXPECT_EQ(tus.head("/v1/uploads/u_doesnotexist00000000").status, 404);
    EXPECT_EQ(tus.head("/v1/uploads/..%2Fonda.db").status, 404);

    // Who may touch an upload: its owner (and admins); viewers may not create.
    Tus bob(onda, "bob");
    EXPECT_EQ(bob.head(path).status, 403);
    EXPECT_EQ(bob.patch(path, 0, "x").status, 403);
    auto viewer = http_request(
        {.method = "POST",
         .url = onda.url("/v1/uploads"),
         .headers = {bearer(onda.token("carol", "viewer")), {"Tus-Resumable", "1.0.0"}, {"Upload-Length", "10"}}});
    EXPECT_EQ(viewer.status, 403);
    auto anonymous = http_request({.method = "POST",
                                   .url = onda.url("/v1/uploads"),
                                   .headers = {{"Tus-Resumable", "1.0.0"}, {"Upload-Length", "10"}}});
    EXPECT_EQ(anonymous.status, 401);
}

TEST(Tus, ChecksumMismatchDiscardsTheChunk) {
    OndaProcess onda;
    Tus tus(onda);
    auto wav = make_wav(1.0);
    auto path = Tus::path_of(tus.create(wav.size()));
    auto chunk = wav.substr(0, 4000);
    auto wrong = tus.patch(path, 0, chunk, {{"Upload-Checksum", "sha1 " + b64(std::string(20, 'x'))}});
    EXPECT_EQ(wrong.status, 460);
    EXPECT_EQ(error_code(wrong), "checksum_mismatch");
    EXPECT_EQ(tus.head(path).header("Upload-Offset"), "0");
    EXPECT_EQ(tus.patch(path, 0, chunk, {{"Upload-Checksum", "crc32 AAAAAA=="}}).status, 400);

    auto digest = sha256_hex(chunk);
    std::string raw;
    for (std::size_t i = 0; i < digest.size(); i += 2)
        raw += static_cast<char>(std::stoi(digest.substr(i, 2), nullptr, 16));
    auto right = tus.patch(path, 0, chunk, {{"Upload-Checksum", "sha256 " + b64(raw)}});
    EXPECT_EQ(right.status, 204) << right.body;
    EXPECT_EQ(right.header("Upload-Offset"), "4000");
    auto rest = tus.patch(path, 4000, wav.substr(4000));
    ASSERT_EQ(rest.status, 204);
    auto media = http_get(onda.url("/v1/media/" + rest.header("Onda-Media-Id")), {bearer(tus.token())});
    EXPECT_EQ(parse_json(media.body).at("sha256").as_string(), sha256_hex(wav));
}

TEST(Tus, TerminationRemovesRowAndBytes) {
    OndaProcess onda;
    Tus tus(onda);
    auto path = Tus::path_of(tus.create(1000));
    ASSERT_EQ(tus.patch(path, 0, std::string(300, 'a')).status, 204);
    EXPECT_EQ(count_files(onda.data_dir() / "uploads"), 1u);
    EXPECT_EQ(Tus(onda, "bob").remove(path).status, 403);
    EXPECT_EQ(tus.remove(path).status, 204);
    EXPECT_EQ(tus.head(path).status, 404);
    EXPECT_EQ(tus.patch(path, 300, "a").status, 404);
    EXPECT_EQ(count_files(onda.data_dir() / "uploads"), 0u);
}

TEST(Tus, NonMediaIsRefusedWith415AndNotKept) {
    OndaProcess onda;
    Tus tus(onda);
    std::string junk(5000, 'j');
    auto path = Tus::path_of(tus.create(junk.size()));
    auto last = tus.patch(path, 0, junk);
    EXPECT_EQ(last.status, 415);
    EXPECT_EQ(error_code(last), "unsupported_media");
    EXPECT_EQ(last.body.find(onda.data_dir().string()), std::string::npos)
        << "no server paths in errors: " << last.body;
    EXPECT_EQ(tus.head(path).status, 404);
    EXPECT_EQ(count_files(onda.data_dir() / "uploads"), 0u);
    EXPECT_EQ(count_files(onda.data_dir() / "blobs"), 0u);
    auto empty = tus.create(0);  // nothing is not media either
    EXPECT_EQ(empty.status, 415);
    EXPECT_FALSE(empty.has_header("Location"));
}

TEST(Tus, ExpiredUploadsAreSweptAway) {
    OndaProcess onda({.settings = {{"uploads.expire_after", "1s"}, {"uploads.sweep_interval", "200ms"}}});
    Tus tus(onda);
    auto path = Tus::path_of(tus.create(1000));
    ASSERT_EQ(tus.patch(path, 0, std::string(10, 'a')).status, 204);
    EXPECT_TRUE(eventually([&] { return tus.head(path).status == 404; }, std::chrono::seconds(10)));
    // The row goes first (nobody can resume onto a file being removed), then the file.
    EXPECT_TRUE(eventually([&] { return count_files(onda.data_dir() / "uploads") == 0; }, std::chrono::seconds(5)));
}

TEST(Tus, AcknowledgedBytesSurviveKill9AndTheUploadCompletes) {
    OndaProcess onda;
    Tus tus(onda);
    auto wav = make_wav(4.0, 16000);
    auto path = Tus::path_of(tus.create(wav.size()));
    auto acked = tus.send_all(path, wav.substr(0, 60'000), 20'000);
    ASSERT_EQ(offset_of(acked), 60'000u);
    onda.kill9();
    onda.start();
    Tus again(onda);
    auto head = again.head(path);
    ASSERT_EQ(head.status, 200) << head.body;
    auto const offset = offset_of(head);
    EXPECT_GE(offset, 60'000u);
    auto last = again.send_all(path, wav, 20'000, offset);
    ASSERT_EQ(last.status, 204) << last.body;
    auto media = http_get(onda.url("/v1/media/" + last.header("Onda-Media-Id")), {bearer(again.token())});
    EXPECT_EQ(parse_json(media.body).at("sha256").as_string(), sha256_hex(wav));
}

TEST(Tus, LastByteBeforeACrashStillBecomesMediaOnTheNextHead) {
    OndaProcess onda;
    Tus tus(onda);
    auto wav = make_wav(1.0);
    auto path = Tus::path_of(tus.create(wav.size()));
    // Everything but the library's step: write the bytes straight into the data file, as a crash
    // right after the last write would leave them.
    ASSERT_EQ(tus.patch(path, 0, wav.substr(0, 100)).status, 204);
    onda.kill9();
    {
        auto const file = onda.data_dir() / "uploads" / path.substr(path.rfind('/') + 1);
        std::ofstream out(file, std::ios::binary | std::ios::app);
        out << wav.substr(100);
    }
    onda.start();
    auto head = Tus(onda).head(path);
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(offset_of(head), wav.size());
    auto const media_id = head.header("Onda-Media-Id");
    ASSERT_TRUE(media_id.starts_with("m_")) << head.body;
    auto media = http_get(onda.url("/v1/media/" + media_id), {bearer(tus.token())});
    EXPECT_EQ(parse_json(media.body).at("sha256").as_string(), sha256_hex(wav));  // hashed again from the file
}

TEST(Tus, ClientLeavingMidPatchKeepsWhatArrived) {
    OndaProcess onda;
    Tus tus(onda);
    auto wav = make_wav(2.0, 16000);
    auto path = Tus::path_of(tus.create(wav.size()));
    {
        RawSocket socket(onda.port());
        ASSERT_TRUE(socket.send("PATCH " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                                tus.token() +
                                "\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n"
                                "Content-Type: application/offset+octet-stream\r\nContent-Length: " +
                                std::to_string(wav.size()) + "\r\n\r\n" + wav.substr(0, 30'000)));
        ASSERT_TRUE(eventually([&] { return offset_of(tus.head(path)) == 30'000; }, std::chrono::seconds(5)));
    }  // closed mid-body
    ASSERT_TRUE(eventually([&] { return tus.patch(path, 30'000, wav.substr(30'000, 10)).status == 204; }));
    auto last = tus.send_all(path, wav, 50'000, 30'010);
    ASSERT_EQ(last.status, 204) << last.body;
    auto media = http_get(onda.url("/v1/media/" + last.header("Onda-Media-Id")), {bearer(tus.token())});
    EXPECT_EQ(parse_json(media.body).at("sha256").as_string(), sha256_hex(wav));
}

TEST(Tus, ConcurrentPatchesOneWinsTheOtherConflicts) {
    OndaProcess onda;
    Tus tus(onda);
    auto wav = make_wav(2.0, 16000);
    auto path = Tus::path_of(tus.create(wav.size()));
    // The first PATCH sends half its body and waits, holding the upload.
    RawSocket slow(onda.port());
    ASSERT_TRUE(slow.send("PATCH " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + tus.token() +
                          "\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n"
                          "Content-Type: application/offset+octet-stream\r\nContent-Length: 20000\r\n\r\n" +
                          wav.substr(0, 10'000)));
    ASSERT_TRUE(eventually([&] { return offset_of(tus.head(path)) == 10'000; }, std::chrono::seconds(5)));
    auto second = tus.patch(path, 0, wav.substr(0, 20'000));
    EXPECT_EQ(second.status, 409);
    auto third = tus.patch(path, 10'000, wav.substr(10'000, 10'000));
    EXPECT_EQ(third.status, 409);  // even at the right offset: one writer at a time
    ASSERT_TRUE(slow.send(wav.substr(10'000, 10'000)));
    auto answer = slow.receive_until("\r\n\r\n", std::chrono::seconds(5));
    EXPECT_NE(answer.find("204"), std::string::npos) << answer;
    EXPECT_NE(answer.find("Upload-Offset: 20000"), std::string::npos) << answer;
    auto last = tus.send_all(path, wav, 100'000, 20'000);
    ASSERT_EQ(last.status, 204);
    auto media = http_get(onda.url("/v1/media/" + last.header("Onda-Media-Id")), {bearer(tus.token())});
    EXPECT_EQ(parse_json(media.body).at("sha256").as_string(), sha256_hex(wav));
}

// A write that fails (here: past RLIMIT_FSIZE, as on a full disk) is 507; what was stored before it
// is whole, and once there is room again the same upload resumes from HEAD's offset to a media file
// equal to the source.
TEST(Tus, FullDiskAnswers507AndKeepsTheUploadUsable) {
    OndaProcess onda({.max_file_bytes = 4 * 1024 * 1024});
    Tus tus(onda);
    auto const wav = make_wav(400.0);  // 6.4 MB
    auto path = Tus::path_of(tus.create(wav.size()));
    ASSERT_EQ(tus.patch(path, 0, wav.substr(0, 1024 * 1024)).status, 204);
    auto full = tus.patch(path, 1024 * 1024, wav.substr(1024 * 1024, 4 * 1024 * 1024));
    EXPECT_EQ(full.status, 507) << full.body;
    EXPECT_EQ(error_code(full), "insufficient_storage");
    // Whatever was stored is whole: the offset is where the file ends, and the server still answers.
    auto const offset = offset_of(tus.head(path));
    EXPECT_GE(offset, 1024u * 1024u);
    EXPECT_LE(offset, 4u * 1024u * 1024u);
    EXPECT_EQ(std::filesystem::file_size(onda.data_dir() / "uploads" / path.substr(path.rfind('/') + 1)), offset);
    EXPECT_EQ(http_get(onda.url("/healthz")).status, 200);

    // Room again (the next start without the limit): the upload goes on where it stopped.
    ASSERT_EQ(onda.stop(), 0);
    onda.options().max_file_bytes.reset();
    onda.start();
    ASSERT_EQ(offset_of(tus.head(path)), offset);
    auto last = tus.patch(path, offset, wav.substr(offset));
    ASSERT_EQ(last.status, 204) << last.body;
    auto const media_id = last.header("Onda-Media-Id");
    ASSERT_TRUE(media_id.starts_with("m_")) << last.body;
    auto stored = http_get(onda.url("/v1/media/" + media_id + "/stream"), {bearer(tus.token())});
    EXPECT_EQ(sha256_hex(stored.body), sha256_hex(wav));
}

TEST(Tus, MethodOverrideAndCorsForBrowsers) {
    OndaProcess onda({.settings = {{"cors.allowed_origins", "https://app.example"}}});
    Tus tus(onda);
    auto path = Tus::path_of(tus.create(100));
    auto overridden = http_request({.method = "POST",
                                    .url = onda.url(path),
                                    .headers = {bearer(tus.token()),
                                                {"Tus-Resumable", "1.0.0"},
                                                {"X-HTTP-Method-Override", "PATCH"},
                                                {"Upload-Offset", "0"},
                                                {"Content-Type", "application/offset+octet-stream"}},
                                    .body = std::string(10, 'a')});
    EXPECT_EQ(overridden.status, 204);
    EXPECT_EQ(overridden.header("Upload-Offset"), "10");

    auto preflight = http_request({.method = "OPTIONS",
                                   .url = onda.url("/v1/uploads"),
                                   .headers = {{"Origin", "https://app.example"},
                                               {"Access-Control-Request-Method", "POST"},
                                               {"Access-Control-Request-Headers", "tus-resumable,upload-length"}}});
    EXPECT_EQ(preflight.status, 204);
    EXPECT_NE(preflight.header("Access-Control-Allow-Headers").find("Upload-Length"), std::string::npos);
    EXPECT_NE(preflight.header("Access-Control-Allow-Methods").find("PATCH"), std::string::npos);
    auto head =
        http_request({.method = "HEAD",
                      .url = onda.url(path),
                      .headers = {bearer(tus.token()), {"Tus-Resumable", "1.0.0"}, {"Origin", "https://app.example"}}});
    EXPECT_EQ(head.header("Access-Control-Allow-Origin"), "https://app.example");
    auto const exposed = head.header("Access-Control-Expose-Headers");
    for (auto name : {"Location", "Upload-Offset", "Upload-Length", "Tus-Resumable", "Onda-Media-Id"})
        EXPECT_NE(exposed.find(name), std::string::npos) << name;
}

TEST(Tus, PatchesAreNotCountedByTheRateLimit) {
    OndaProcess onda({.settings = {{"auth.rate_limit_per_minute", "5"}}});
    Tus tus(onda);
    auto wav = make_wav(1.0);
    auto path = Tus::path_of(tus.create(wav.size()));
    auto last = tus.send_all(path, wav, 1000);  // 17 PATCHes
    EXPECT_EQ(last.status, 204) << last.body;
    EXPECT_TRUE(last.header("Onda-Media-Id").starts_with("m_"));
}

}  // namespace
}  // namespace onda::test
