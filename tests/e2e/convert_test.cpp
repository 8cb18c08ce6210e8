// On-the-fly conversions over real HTTP (`stream?format=F&bitrate=B`): a CBR MP3 with an exact
// Content-Length whose Range requests give the bytes of the full response, the streamed formats,
// bad arguments, access rules, the bound on running conversions, and the child processes: gone when
// the client goes, and a child that fails or crashes ends only its own response.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "e2e.hpp"
#include "support/media_fixtures.hpp"
#include "support/media_tools.hpp"
#include "support/raw_socket.hpp"

namespace onda::test {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

fs::path save(fs::path const& path, std::string const& bytes) {
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
}

// A /proc/PID/stat file, or "" when the process is gone (a read of it then fails with ESRCH, which
// std::ifstream would throw as an exception).
std::string read_stat(std::string const& path) {
    int const fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return {};
    std::array<char, 1024> buffer{};  // a stat line is a few hundred bytes
    ssize_t const n = ::read(fd, buffer.data(), buffer.size());
    ::close(fd);
    return n > 0 ? std::string(buffer.data(), static_cast<std::size_t>(n)) : std::string();
}

// The children of `pid` named `name` (zombies included: a child not reaped is still listed). A
// conversion child is "onda-convert" while it works and "onda-waiting" while it waits for one.
std::vector<pid_t> children_of(pid_t pid, std::string const& name = "onda-convert") {
    std::vector<pid_t> children;
    std::unique_ptr<DIR, int (*)(DIR*)> proc(::opendir("/proc"), ::closedir);
    while (dirent* entry = ::readdir(proc.get())) {
        char* end = nullptr;
        long const child = std::strtol(entry->d_name, &end, 10);
        if (*end != '\0' || child <= 0) continue;
        std::string const stat = read_stat("/proc/" + std::string(entry->d_name) + "/stat");
        auto const close = stat.rfind(')');  // the command name may hold spaces
        if (close == std::string::npos) continue;
        char state = 0;
        long parent = 0;
        auto const open = stat.find('(');
        if (open == std::string::npos || stat.substr(open + 1, close - open - 1) != name) continue;
        if (std::sscanf(stat.c_str() + close + 1, " %c %ld", &state, &parent) == 2 && parent == pid)
            children.push_back(static_cast<pid_t>(child));
    }
    return children;
}

// The server's pipes and process descriptors: what a conversion opens (the media files it reads are
// kept open by the delivery cache on purpose, so they are not counted).
std::size_t child_descriptors(pid_t pid) {
    std::size_t count = 0;
    std::error_code ec;
    for (auto const& entry : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
        auto const target = fs::read_symlink(entry.path(), ec).string();
        if (target.starts_with("pipe:") || target == "anon_inode:[pidfd]") ++count;
    }
    return count;
}

class Conversions : public ::testing::Test {
protected:
    explicit Conversions(OndaProcess::Options options = {}) : onda_(std::move(options)) {}

    void SetUp() override {
        token_ = onda_.token("alice", "creator");
        // Six seconds at 44.1 kHz stereo: every output is resampled from it.
        auto const wav = dir_.path() / "chord.wav";
        ASSERT_TRUE(
            run_ffmpeg("-f lavfi -i 'aevalsrc=0.3*sin(440*2*PI*t)+0.05*(random(0)-0.5)|0.3*sin(550*2*PI*t):"
                       "s=44100:d=6' -c:a pcm_s16le " +
                       quoted(wav)));
        id_ = upload(read_file(wav), "filename=chord.wav&visibility=public");
    }

    std::string upload(std::string const& bytes, std::string const& query,
                       std::string const& type = "audio/wav") const {
        auto up = upload_raw(onda_, token_, bytes, query, type);
        EXPECT_EQ(up.response.status, 201) << up.response.body;
        return up.id;
    }

    std::string stream_url(std::string const& query, std::string const& id = {}) const {
        return onda_.url("/v1/media/" + (id.empty() ? id_ : id) + "/stream?" + query);
    }

    HttpResponse get(std::string const& query, std::vector<std::pair<std::string, std::string>> headers = {}) const {
        return http_get(stream_url(query), std::move(headers));
    }

    test::TempDir dir_;
    OndaProcess onda_;
    std::string token_, id_;
};

TEST_F(Conversions, Mp3HasAnExactLengthAndPlaysForTheSourceDuration) {
    auto res = get("format=mp3&bitrate=192k");
    ASSERT_EQ(res.status, 200) << res.error << res.body.substr(0, 200);
    EXPECT_EQ(res.header("Content-Type"), "audio/mpeg");
    EXPECT_EQ(res.header("Accept-Ranges"), "bytes");
    EXPECT_EQ(res.header("Content-Length"), std::to_string(res.body.size()));
    EXPECT_FALSE(res.has_header("Transfer-Encoding"));
    EXPECT_EQ(res.header("Cache-Control"), "public, max-age=31536000, immutable");
    EXPECT_EQ(res.header("ETag").front(), '"');
    EXPECT_EQ(res.body.size() % 576, 0u);  // 192 kbit/s at 48 kHz: every frame is 576 bytes
    auto const file = save(dir_.path() / "out.mp3", res.body);
    EXPECT_NEAR(probed_duration(file), 6.0, 0.1);  // read from the Info frame
    EXPECT_TRUE(decodes_cleanly(file));
    EXPECT_NEAR(decoded_duration(file), 6.0, 0.1);
}

TEST_F(Conversions, RangeRequestsGiveTheFullResponsesBytes) {
    // The ranges first: once a whole MP3 was made it is kept, and later requests read the kept file.
    auto head = http_request({.method = "HEAD", .url = stream_url("format=mp3&bitrate=128k")});
    ASSERT_EQ(head.status, 200);
    std::uint64_t const size = std::stoull(head.header("Content-Length"));
    std::string const total = "/" + std::to_string(size);
    std::vector<std::pair<std::uint64_t, std::string>> parts;
    for (std::uint64_t first : {std::uint64_t{1}, std::uint64_t{383}, std::uint64_t{384}, std::uint64_t{20'000},
                                size / 2 + 77, size - 384 - 5, size - 1}) {
        auto part = get("format=mp3&bitrate=128k", {{"Range", "bytes=" + std::to_string(first) + "-"}});
        ASSERT_EQ(part.status, 206) << first;
        EXPECT_EQ(part.header("Content-Range"),
                  "bytes " + std::to_string(first) + "-" + std::to_string(size - 1) + total);
        parts.emplace_back(first, part.body);
    }
    auto middle = get("format=mp3&bitrate=128k", {{"Range", "bytes=30000-30999"}});
    ASSERT_EQ(middle.status, 206);
    auto suffix = get("format=mp3&bitrate=128k", {{"Range", "bytes=-1000"}});
    ASSERT_EQ(suffix.status, 206);
    auto past = get("format=mp3&bitrate=128k", {{"Range", "bytes=" + std::to_string(size) + "-"}});
    EXPECT_EQ(past.status, 416);
    EXPECT_EQ(past.header("Content-Range"), "bytes */" + std::to_string(size));

    auto full = get("format=mp3&bitrate=128k");
    ASSERT_EQ(full.status, 200);
    ASSERT_EQ(full.body.size(), size);
    for (auto const& [first, body] : parts)
        EXPECT_TRUE(body == full.body.substr(first)) << "from " << first << ": " << body.size() << " bytes";
    EXPECT_TRUE(middle.body == full.body.substr(30'000, 1000));
    EXPECT_TRUE(suffix.body == full.body.substr(size - 1000));
}

TEST_F(Conversions, ValidatorsAnswerConditionalRequests) {
    auto head = http_request({.method = "HEAD", .url = stream_url("format=mp3&bitrate=128k")});
    ASSERT_EQ(head.status, 200);
    auto etag = head.header("ETag");
    auto again = get("format=mp3&bitrate=128k", {{"If-None-Match", etag}});
    EXPECT_EQ(again.status, 304);
    auto other = http_request({.method = "HEAD", .url = stream_url("format=mp3&bitrate=192k")});
    EXPECT_NE(other.header("ETag"), etag);
    // If-Range with a stale validator: the whole body.
    auto stale = get("format=mp3&bitrate=128k", {{"Range", "bytes=100-"}, {"If-Range", "\"stale\""}});
    EXPECT_EQ(stale.status, 200);
}

TEST_F(Conversions, FirstBytesComeQuickly) {
    RawSocket socket(onda_.port());
    std::string const request =
        "GET /v1/media/" + id_ + "/stream?format=mp3&bitrate=128k HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    auto const start = Clock::now();
    ASSERT_TRUE(socket.send(request));
    // The Info frame's first bytes right after the head.
    auto const head_and_first = socket.receive_until(std::string("\r\n\r\n\xff\xfb", 6), milliseconds(5000));
    auto const first_byte = Clock::now() - start;
    ASSERT_NE(head_and_first.find(std::string("\r\n\r\n\xff\xfb", 6)), std::string::npos);
    // Then the first audio frame (the bytes after the 384-byte Info frame).
    std::string received = head_and_first;
    auto const body_at = received.find("\r\n\r\n") + 4;
    while (received.size() < body_at + 2 * 384 && Clock::now() - start < milliseconds(5000))
        received += socket.receive_until(std::string("\x01\x02\x03", 3), milliseconds(2));
    auto const first_audio = Clock::now() - start;
    ASSERT_GE(received.size(), body_at + 2 * 384);
    auto const ms = [](auto d) { return std::chrono::duration_cast<milliseconds>(d).count(); };
    RecordProperty("first_byte_ms", static_cast<int>(ms(first_byte)));
    RecordProperty("first_audio_frame_ms", static_cast<int>(ms(first_audio)));
    std::cout << "time to first byte " << ms(first_byte) << " ms, to the first audio frame " << ms(first_audio)
              << " ms\n";
    // API.md: first bytes within 300 ms. The child was started ahead of need, so this holds even
    // in the sanitizer build (tens of milliseconds here), whose processes take ~0.3 s to start.
    EXPECT_LT(ms(first_byte), 300);
    EXPECT_LT(ms(first_audio), 500);
}

TEST_F(Conversions, StreamedFormatsPlay) {
    for (std::string format : {"opus", "aac", "ogg", "flac"}) {
        auto res = get("format=" + format);
        ASSERT_EQ(res.status, 200) << format << " " << res.error << res.body.substr(0, 200);
        EXPECT_EQ(res.header("Accept-Ranges"), "none") << format;
        EXPECT_EQ(res.header("Transfer-Encoding"), "chunked") << format;
        EXPECT_FALSE(res.has_header("Content-Length")) << format;
        auto const file = save(dir_.path() / ("out." + format), res.body);
        EXPECT_TRUE(decodes_cleanly(file)) << format;
        EXPECT_NEAR(decoded_duration(file), 6.0, 0.1) << format;
    }
    EXPECT_EQ(get("format=opus").header("Content-Type"), "audio/ogg; codecs=opus");
    EXPECT_EQ(get("format=aac&bitrate=64k").header("Content-Type"), "audio/aac");
}

TEST_F(Conversions, WavHasAnExactLengthAndRanges) {
    auto full = get("format=wav");
    ASSERT_EQ(full.status, 200);
    EXPECT_EQ(full.header("Content-Length"), std::to_string(full.body.size()));
    EXPECT_EQ(full.body.size(), 44u + 6u * 44'100u * 4u);
    EXPECT_EQ(full.header("Accept-Ranges"), "bytes");
    auto part = get("format=wav", {{"Range", "bytes=100001-"}});
    ASSERT_EQ(part.status, 206);
    EXPECT_TRUE(part.body == full.body.substr(100'001));
    EXPECT_NEAR(probed_duration(save(dir_.path() / "out.wav", full.body)), 6.0, 0.01);
}

TEST_F(Conversions, BadFormatOrBitrateIs400) {
    for (std::string query : {"format=mp4", "format=mp3&bitrate=fast", "format=mp3&bitrate=100k",
                              "format=opus&bitrate=1000k", "format=aac&bitrate=-5"}) {
        auto res = get(query);
        EXPECT_EQ(res.status, 400) << query;
        EXPECT_EQ(error_code(res), "invalid_argument") << query;
    }
    auto res = get("format=mp3&bitrate=100k");
    EXPECT_NE(res.body.find("64k, 96k, 128k"), std::string::npos) << res.body;
}

TEST_F(Conversions, HeadAnswersWithoutStartingAChild) {
    auto head = http_request({.method = "HEAD", .url = stream_url("format=mp3&bitrate=320k")});
    ASSERT_EQ(head.status, 200);
    EXPECT_EQ(head.header("Content-Length"), std::to_string((6 * 48'000 + 1105 + 1151) / 1152 * 960 + 960));
    EXPECT_TRUE(children_of(onda_.pid()).empty());
    auto streamed = http_request({.method = "HEAD", .url = stream_url("format=opus")});
    EXPECT_EQ(streamed.status, 200);
    EXPECT_TRUE(children_of(onda_.pid()).empty());
}

TEST_F(Conversions, AChildWaitsForTheNextConversion) {
    // Started with the server, so that even the first conversion need not wait for a process to start.
    EXPECT_TRUE(eventually([&] { return children_of(onda_.pid(), "onda-waiting").size() == 1; }));
    auto res = get("format=mp3&bitrate=128k");
    EXPECT_EQ(res.status, 200);
    EXPECT_TRUE(eventually([&] { return children_of(onda_.pid(), "onda-waiting").size() == 1; }));
    EXPECT_TRUE(eventually([&] { return children_of(onda_.pid()).empty(); }));
}

TEST_F(Conversions, DownloadNamesTheConvertedFile) {
    auto res = http_get(onda_.url("/v1/media/" + id_ + "/download?format=mp3&bitrate=128k"));
    ASSERT_EQ(res.status, 200);
    EXPECT_NE(res.header("Content-Disposition").find("chord.mp3"), std::string::npos)
        << res.header("Content-Disposition");
}

TEST_F(Conversions, ClientThatLeavesTakesItsChildAlong) {
    // Three minutes of 8 kHz mono: a conversion still running when the client leaves.
    auto const long_wav = dir_.path() / "long.wav";
    ASSERT_TRUE(run_ffmpeg("-f lavfi -i 'sine=f=300:r=8000:d=180' -c:a pcm_s16le " + quoted(long_wav)));
    auto const id = upload(read_file(long_wav), "filename=long.wav&visibility=public");
    auto const descriptors = child_descriptors(onda_.pid());
    {
        RawSocket socket(onda_.port());
        ASSERT_TRUE(socket.send("GET /v1/media/" + id + "/stream?format=mp3&bitrate=320k HTTP/1.1\r\nHost: x\r\n\r\n"));
        auto head = socket.receive_until(std::string("\r\n\r\n\xff\xfb", 6), milliseconds(5000));
        ASSERT_NE(head.find("200"), std::string::npos) << head.substr(0, 200);
        EXPECT_EQ(children_of(onda_.pid()).size(), 1u);
    }  // the client closes mid-body
    EXPECT_TRUE(eventually([&] { return children_of(onda_.pid()).empty(); }, milliseconds(10'000)))
        << "the conversion's child is still there (or a zombie)";
    // Its pipes and process descriptor are closed too (a child waits for the next conversion, as before).
    EXPECT_TRUE(eventually([&] { return child_descriptors(onda_.pid()) == descriptors; }))
        << child_descriptors(onda_.pid()) << " pipes and pidfds open, " << descriptors << " before";
    EXPECT_EQ(http_get(onda_.url("/healthz")).status, 200);
    EXPECT_EQ(get("format=mp3&bitrate=64k").status, 200);
}

TEST_F(Conversions, ACrashedChildEndsOnlyItsResponse) {
    auto const long_wav = dir_.path() / "long.wav";
    ASSERT_TRUE(run_ffmpeg("-f lavfi -i 'sine=f=300:r=8000:d=180' -c:a pcm_s16le " + quoted(long_wav)));
    auto const id = upload(read_file(long_wav), "filename=long.wav&visibility=public");
    RawSocket socket(onda_.port());
    ASSERT_TRUE(socket.send("GET /v1/media/" + id + "/stream?format=mp3&bitrate=320k HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto head = socket.receive_until(std::string("\r\n\r\n\xff\xfb", 6), milliseconds(5000));
    ASSERT_NE(head.find("200"), std::string::npos);
    auto children = children_of(onda_.pid());
    ASSERT_EQ(children.size(), 1u);
    ::kill(children.front(), SIGSEGV);  // as a decoder bug would
    // The body stops short of its Content-Length and the connection closes.
    EXPECT_TRUE(socket.closed_within(milliseconds(10'000)));
    EXPECT_TRUE(eventually([&] { return children_of(onda_.pid()).empty(); }, milliseconds(10'000)));
    EXPECT_EQ(http_get(onda_.url("/healthz")).status, 200);
    EXPECT_NE(onda_.log().find("conversion failed"), std::string::npos);
}

TEST_F(Conversions, UndecodableMediaEndsTheResponseAndTheServerServes) {
    // A FLAC file whose headers are sound (it passes the upload's probe) and whose frames are noise.
    auto const flac = dir_.path() / "tone.flac";
    ASSERT_TRUE(run_ffmpeg("-f lavfi -i 'sine=f=300:r=44100:d=10' -c:a flac " + quoted(flac)));
    std::string bytes = read_file(flac);
    ASSERT_GT(bytes.size(), 20'000u);
    std::uint32_t noise = 12345;
    for (std::size_t i = 8192; i < bytes.size(); ++i) {
        noise = noise * 1103515245u + 12345u;
        bytes[i] = static_cast<char>(noise >> 24);
    }
    auto const id = upload(bytes, "filename=broken.flac&visibility=public", "audio/flac");
    ASSERT_FALSE(id.empty());
    auto res = http_get(stream_url("format=mp3&bitrate=128k", id));
    // Headers went out before the decoder met the noise: the body is cut short of its length.
    EXPECT_EQ(res.status, 0);
    EXPECT_NE(res.error, "");
    auto streamed = http_get(stream_url("format=opus", id));
    EXPECT_EQ(streamed.status, 0);
    EXPECT_TRUE(eventually([&] { return children_of(onda_.pid()).empty(); }, milliseconds(10'000)));
    EXPECT_EQ(http_get(onda_.url("/healthz")).status, 200);
    EXPECT_EQ(get("format=mp3&bitrate=128k").status, 200);
}

TEST_F(Conversions, VideoMediaConvertsItsAudio) {
    auto const mp4 = dir_.path() / "clip.mp4";
    ASSERT_TRUE(
        run_ffmpeg("-f lavfi -i testsrc=size=160x120:rate=10:d=3 -f lavfi -i 'sine=f=500:d=3' "
                   "-c:v libx264 -preset ultrafast -c:a aac -shortest " +
                   quoted(mp4)));
    auto const id = upload(read_file(mp4), "filename=clip.mp4&visibility=public", "video/mp4");
    auto res = http_get(stream_url("format=mp3&bitrate=128k", id));
    ASSERT_EQ(res.status, 200) << res.error;
    auto const file = save(dir_.path() / "clip.mp3", res.body);
    EXPECT_TRUE(decodes_cleanly(file));
    EXPECT_NEAR(probed_duration(file), 3.0, 0.15);
}

TEST_F(Conversions, PrivateMediaFollowsTheStreamsAccessRules) {
    auto const id = upload(make_wav(2.0, 8000), "filename=secret.wav&visibility=private");
    auto anonymous = http_get(stream_url("format=mp3&bitrate=128k", id));
    EXPECT_EQ(anonymous.status, 401);
    auto stranger = http_get(stream_url("format=mp3&bitrate=128k", id), {bearer(onda_.token("mallory"))});
    EXPECT_EQ(stranger.status, 403);
    auto owner = http_get(stream_url("format=mp3&bitrate=128k", id), {bearer(token_)});
    EXPECT_EQ(owner.status, 200);
    auto link = http_get(onda_.url("/v1/media/" + id + "/presigned-url?expires_in=60"), {bearer(token_)});
    ASSERT_EQ(link.status, 200);
    std::string url(parse_json(link.body).at("url").as_string());
    auto signed_conversion = http_get(url + "&format=opus");
    EXPECT_EQ(signed_conversion.status, 200);
    std::string forged_url = url;
    forged_url.back() = forged_url.back() == 'A' ? 'B' : 'A';
    auto forged = http_get(forged_url + "&format=opus");
    EXPECT_EQ(forged.status, 403);
}

class BusyConversions : public Conversions {
protected:
    BusyConversions() : Conversions({.settings = {{"transcode.max_live_conversions", "1"}}}) {}
};

TEST_F(BusyConversions, PastTheBoundIs503WithRetryAfter) {
    auto const long_wav = dir_.path() / "long.wav";
    ASSERT_TRUE(run_ffmpeg("-f lavfi -i 'sine=f=300:r=8000:d=180' -c:a pcm_s16le " + quoted(long_wav)));
    auto const id = upload(read_file(long_wav), "filename=long.wav&visibility=public");
    RawSocket holder(onda_.port());  // reads its first bytes, then nothing: its conversion stays
    ASSERT_TRUE(holder.send("GET /v1/media/" + id + "/stream?format=mp3&bitrate=320k HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_NE(holder.receive_until(std::string("\r\n\r\n\xff\xfb", 6), milliseconds(5000)).find("200"),
              std::string::npos);
    auto busy = get("format=mp3&bitrate=128k");
    EXPECT_EQ(busy.status, 503);
    EXPECT_EQ(busy.header("Retry-After"), "1");
    EXPECT_EQ(error_code(busy), "resource_exhausted");
    // HEAD starts nothing, so it is answered.
    EXPECT_EQ(http_request({.method = "HEAD", .url = stream_url("format=mp3&bitrate=128k")}).status, 200);
    holder.close();
    EXPECT_TRUE(eventually([&] { return get("format=mp3&bitrate=128k").status == 200; }, milliseconds(10'000)));
}

TEST_F(BusyConversions, AFinishedMp3IsKeptAndServedWithoutAChild) {
    auto first = get("format=mp3&bitrate=192k");
    ASSERT_EQ(first.status, 200);
    auto const kept = onda_.data_dir() / "blobs" / "media" / id_ / "live" / "mp3-192k.mp3";
    ASSERT_TRUE(eventually([&] { return fs::exists(kept); })) << kept;
    EXPECT_TRUE(read_file(kept) == first.body);
    // Every conversion place taken: only a kept file can still be answered.
    auto const long_wav = dir_.path() / "long.wav";
    ASSERT_TRUE(run_ffmpeg("-f lavfi -i 'sine=f=300:r=8000:d=180' -c:a pcm_s16le " + quoted(long_wav)));
    auto const id = upload(read_file(long_wav), "filename=long.wav&visibility=public");
    RawSocket holder(onda_.port());
    ASSERT_TRUE(holder.send("GET /v1/media/" + id + "/stream?format=mp3&bitrate=320k HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_NE(holder.receive_until(std::string("\r\n\r\n\xff\xfb", 6), milliseconds(5000)).find("200"),
              std::string::npos);
    EXPECT_EQ(get("format=mp3&bitrate=128k").status, 503);
    auto again = get("format=mp3&bitrate=192k");
    ASSERT_EQ(again.status, 200);
    EXPECT_TRUE(again.body == first.body);
    EXPECT_EQ(again.header("ETag"), first.header("ETag"));
    auto part = get("format=mp3&bitrate=192k", {{"Range", "bytes=1000-1999"}});
    EXPECT_EQ(part.status, 206);
    EXPECT_TRUE(part.body == first.body.substr(1000, 1000));
    // Deleting the media removes what was kept with it.
    holder.close();
    auto removed =
        http_request({.method = "DELETE", .url = onda_.url("/v1/media/" + id_), .headers = {bearer(token_)}});
    EXPECT_EQ(removed.status, 204);
    EXPECT_FALSE(fs::exists(kept));
}

}  // namespace
}  // namespace onda::test
