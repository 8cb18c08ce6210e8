// The Prober against real children: the `onda-media probe` program, and shell scripts that behave
// as a broken or hostile probe would (crash, hang, say nonsense), to show the caller survives them.
#include "media/prober.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/run_alone.hpp"
#include "support/media_tools.hpp"
#include "support/temp_dir.hpp"

namespace onda::media {
namespace {

using namespace std::chrono_literals;
using test::quoted;
using test::run_ffmpeg;

std::vector<std::string> real_probe() { return {ONDA_MEDIA_BINARY, "probe"}; }

// A probe child that is this shell script instead (its extra arguments are ignored).
std::vector<std::string> script(std::string const& text) { return {"/bin/sh", "-c", text}; }

Result<MediaInfo> probe(Prober& prober, std::filesystem::path const& file) {
    net::thread_pool pool(1);
    auto result = run_alone(prober.probe(pool, file));
    pool.join();
    return result;
}

std::filesystem::path write_file(test::TempDir const& dir, std::string const& name, std::string const& bytes) {
    auto path = dir.path() / name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
}

std::filesystem::path make_wav(test::TempDir const& dir) {
    auto file = dir.path() / "tone.wav";
    EXPECT_TRUE(run_ffmpeg("-f lavfi -i sine=frequency=440:duration=1 -ar 8000 -c:a pcm_s16le " + quoted(file)));
    return file;
}

TEST(Prober, ReadsWhatAWavIsFromAChild) {
    test::TempDir dir;
    auto file = make_wav(dir);
    Prober prober(real_probe(), ProbeLimits{});
    auto info = probe(prober, file);
    ASSERT_TRUE(info) << info.error().message();
    EXPECT_EQ(info->kind, "audio");
    EXPECT_EQ(info->format, "wav");
    EXPECT_EQ(info->content_type, "audio/wav");
    ASSERT_TRUE(info->audio);
    EXPECT_EQ(info->audio->codec, "pcm_s16le");
    EXPECT_EQ(info->audio->sample_rate, 8000);
    EXPECT_EQ(info->audio->channels, 1);
    EXPECT_EQ(info->bit_rate, 128'000);
    EXPECT_NEAR(info->duration, 1.0, 0.01);
    EXPECT_FALSE(info->video);
}

TEST(Prober, ProbesOneFileAfterAnotherWithAFreshChildEach) {
    test::TempDir dir;
    auto wav = make_wav(dir);
    auto text = write_file(dir, "notes.txt", "not media at all, just some words\n");
    Prober prober(real_probe(), ProbeLimits{});
    for (int round = 0; round < 3; ++round) {
        auto info = probe(prober, wav);
        ASSERT_TRUE(info) << info.error().message();
        EXPECT_EQ(info->format, "wav");
        auto refused = probe(prober, text);
        ASSERT_FALSE(refused);
        EXPECT_EQ(refused.error().code(), Errc::unsupported_media) << refused.error().message();
    }
}

TEST(Prober, TheChildsErrorNamesTheFileNotItsDescriptor) {
    test::TempDir dir;
    auto text = write_file(dir, "notes.txt", "not media at all, just some words\n");
    Prober prober(real_probe(), ProbeLimits{});
    auto refused = probe(prober, text);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code(), Errc::unsupported_media);
    EXPECT_NE(refused.error().message().find("probe notes.txt"), std::string::npos) << refused.error().message();
    EXPECT_EQ(refused.error().message().find("/proc/self/fd"), std::string::npos) << refused.error().message();
    EXPECT_EQ(refused.error().message().find(dir.path().string()), std::string::npos) << refused.error().message();
}

TEST(Prober, AChildThatCrashesMakesTheFileUnsupportedAndTheCallerCarriesOn) {
    test::TempDir dir;
    auto file = write_file(dir, "evil.bin", "whatever");
    // Crashes once it has its job, as a demuxer hit by a malformed file would.
    Prober prober(script("ulimit -c 0; head -c 1 >/dev/null; kill -SEGV $$"), ProbeLimits{});
    for (int round = 0; round < 2; ++round) {
        auto info = probe(prober, file);
        ASSERT_FALSE(info);
        EXPECT_EQ(info.error().code(), Errc::unsupported_media) << info.error().message();
        EXPECT_NE(info.error().message().find("crashed"), std::string::npos) << info.error().message();
    }
}

TEST(Prober, AChildThatHangsIsKilledAfterTheBudgetAndItsGrace) {
    test::TempDir dir;
    auto file = write_file(dir, "slow.bin", "whatever");
    Prober prober(script("exec sleep 60"), ProbeLimits{.timeout = 200ms}, 300ms);
    auto const start = std::chrono::steady_clock::now();
    auto info = probe(prober, file);
    auto const took = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(info);
    EXPECT_EQ(info.error().code(), Errc::timeout) << info.error().message();
    EXPECT_GE(took, 500ms);
    EXPECT_LT(took, 5s);
}

TEST(Prober, AnAnswerThatIsNotJsonIsUnsupportedMedia) {
    test::TempDir dir;
    auto file = write_file(dir, "odd.bin", "whatever");
    // Reads its job first, as every probe child does (one that is gone by then is not handed one).
    Prober prober(script("head -c 1 >/dev/null; echo '{\"kind\": oops'"), ProbeLimits{});
    auto info = probe(prober, file);
    ASSERT_FALSE(info);
    EXPECT_EQ(info.error().code(), Errc::unsupported_media) << info.error().message();
}

TEST(Prober, AProgramThatCannotStartIsUnavailable) {
    test::TempDir dir;
    auto file = write_file(dir, "a.wav", "whatever");
    Prober prober({(dir.path() / "no-such-program").string(), "probe"}, ProbeLimits{});
    auto info = probe(prober, file);
    ASSERT_FALSE(info);
    EXPECT_EQ(info.error().code(), Errc::unavailable) << info.error().message();
}

TEST(Prober, AMissingFileIsNotFound) {
    test::TempDir dir;
    Prober prober(real_probe(), ProbeLimits{});
    auto info = probe(prober, dir.path() / "gone.wav");
    ASSERT_FALSE(info);
    EXPECT_EQ(info.error().code(), Errc::not_found) << info.error().message();
}

TEST(MediaInfoJson, RoundTripsAVideoWithAudio) {
    MediaInfo info{
        .kind = "video",
        .format = "mp4",
        .content_type = "video/mp4",
        .duration = 12.5,
        .bit_rate = 1'234'567,
        .audio = AudioInfo{.codec = "aac", .sample_rate = 48'000, .channels = 2, .bit_rate = 128'000},
        .video = VideoInfo{.codec = "h264", .width = 1280, .height = 720, .fps = 29.97, .bit_rate = 1'100'000},
        .has_cover_art = false};
    auto back = media_info_from_json(to_json(info));
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(to_json(*back), to_json(info));
}

TEST(MediaInfoJson, NullPartsAreAbsent) {
    MediaInfo info{.kind = "audio", .format = "wav", .content_type = "audio/wav", .duration = 0, .bit_rate = 0};
    auto back = media_info_from_json(to_json(info));
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_FALSE(back->audio);
    EXPECT_FALSE(back->video);
}

TEST(MediaInfoJson, AMissingOrMistypedMemberIsInvalid) {
    auto object = to_json(MediaInfo{.kind = "audio", .format = "wav", .content_type = "audio/wav"});
    object.erase("content_type");
    EXPECT_FALSE(media_info_from_json(object));
    object = to_json(MediaInfo{.kind = "audio", .format = "wav", .content_type = "audio/wav"});
    object["duration"] = "long";
    EXPECT_FALSE(media_info_from_json(object));
    object = to_json(MediaInfo{.kind = "audio", .format = "wav", .content_type = "audio/wav"});
    object["audio"] = boost::json::object{{"codec", "mp3"}};
    EXPECT_FALSE(media_info_from_json(object));
    EXPECT_FALSE(media_info_from_json(boost::json::value("not an object")));
}

}  // namespace
}  // namespace onda::media
