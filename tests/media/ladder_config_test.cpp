// The ladder's configuration keys: the defaults read back as LadderOptions' defaults, other ladders
// read as written, and every mistake names its key.
#include <gtest/gtest.h>

#include "media/transcode/ladder_config.hpp"

namespace onda::media {
namespace {

std::string error_of(TranscodeConfig const& config) {
    auto options = ladder_options(config);
    EXPECT_FALSE(options);
    return options ? std::string() : options.error().message();
}

TEST(LadderConfig, TheDefaultKeysAreTheDefaultLadder) {
    auto options = ladder_options(TranscodeConfig{});
    ASSERT_TRUE(options) << options.error().message();
    LadderOptions const defaults;
    ASSERT_EQ(options->audio_hls.size(), defaults.audio_hls.size());
    for (std::size_t i = 0; i < defaults.audio_hls.size(); ++i) {
        EXPECT_EQ(options->audio_hls[i].name, defaults.audio_hls[i].name);
        EXPECT_EQ(options->audio_hls[i].codec, defaults.audio_hls[i].codec);
        EXPECT_EQ(options->audio_hls[i].bit_rate, defaults.audio_hls[i].bit_rate);
        EXPECT_EQ(options->audio_hls[i].sample_rate, defaults.audio_hls[i].sample_rate);
    }
    ASSERT_EQ(options->audio_files.size(), defaults.audio_files.size());
    for (std::size_t i = 0; i < defaults.audio_files.size(); ++i) {
        EXPECT_EQ(options->audio_files[i].name, defaults.audio_files[i].name);
        EXPECT_EQ(options->audio_files[i].codec, defaults.audio_files[i].codec);
        EXPECT_EQ(options->audio_files[i].bit_rate, defaults.audio_files[i].bit_rate);
        EXPECT_EQ(options->audio_files[i].sample_rate, defaults.audio_files[i].sample_rate);
    }
    ASSERT_EQ(options->video.size(), defaults.video.size());
    for (std::size_t i = 0; i < defaults.video.size(); ++i) {
        EXPECT_EQ(options->video[i].name, defaults.video[i].name);
        EXPECT_EQ(options->video[i].height, defaults.video[i].height);
        EXPECT_EQ(options->video[i].bit_rate, defaults.video[i].bit_rate);
    }
    EXPECT_EQ(options->video_audio_bit_rate, defaults.video_audio_bit_rate);
    EXPECT_EQ(options->segment_duration, defaults.segment_duration);
    EXPECT_EQ(options->video_preset, defaults.video_preset);
}

TEST(LadderConfig, ReadsAnotherLadder) {
    TranscodeConfig config;
    config.audio_hls = "96k";
    config.audio_files = " mp3:256k@44100 ,opus:64k@24000,, flac";
    config.video = "540p:1800k";
    config.video_audio_bitrate = "96000";
    config.segment_duration = std::chrono::seconds(6);
    config.video_preset = "faster";
    auto options = ladder_options(config);
    ASSERT_TRUE(options) << options.error().message();
    ASSERT_EQ(options->audio_hls.size(), 1U);
    EXPECT_EQ(options->audio_hls[0].name, "aac-96");
    EXPECT_EQ(options->audio_hls[0].sample_rate, 0);  // the source's
    ASSERT_EQ(options->audio_files.size(), 3U);
    EXPECT_EQ(options->audio_files[0].name, "mp3-256");
    EXPECT_EQ(options->audio_files[0].sample_rate, 44'100);
    EXPECT_EQ(options->audio_files[1].name, "opus-64");
    EXPECT_EQ(options->audio_files[1].sample_rate, 24'000);
    EXPECT_EQ(options->audio_files[2].name, "flac");
    ASSERT_EQ(options->video.size(), 1U);
    EXPECT_EQ(options->video[0].name, "540p");
    EXPECT_EQ(options->video[0].height, 540);
    EXPECT_EQ(options->video[0].bit_rate, 1'800'000);
    EXPECT_EQ(options->video_audio_bit_rate, 96'000);
    EXPECT_EQ(options->segment_duration, std::chrono::seconds(6));
    EXPECT_EQ(options->video_preset, "faster");
}

TEST(LadderConfig, MistakesNameTheirKey) {
    struct Case {
        void (*set)(TranscodeConfig&);
        char const* expected;
    };
    Case const cases[] = {
        {[](TranscodeConfig& c) { c.audio_hls = "128"; }, "transcode.audio_hls"},  // 128 bit/s
        {[](TranscodeConfig& c) { c.audio_hls = "128k@7"; }, "sample rate"},
        {[](TranscodeConfig& c) { c.audio_hls = "abc"; }, "bitrate"},
        {[](TranscodeConfig& c) { c.audio_files = "wma:128k"; }, "mp3, opus or flac"},
        {[](TranscodeConfig& c) { c.audio_files = "aac:128k"; }, "mp3, opus or flac"},
        {[](TranscodeConfig& c) { c.audio_files = "mp3"; }, "needs a bitrate"},
        {[](TranscodeConfig& c) { c.audio_files = "flac:900k"; }, "flac takes no bitrate"},
        {[](TranscodeConfig& c) { c.audio_files = "opus:96k@44100"; }, "opus takes"},
        {[](TranscodeConfig& c) { c.audio_files = "mp3:128k,mp3:128k@44100"; }, "two rungs named mp3-128"},
        {[](TranscodeConfig& c) {
             c.audio_hls = "";
             c.audio_files = "flac";
         },
         "no lossy rung"},
        {[](TranscodeConfig& c) { c.video = "720:2500k"; }, "<height>p:<bitrate>"},
        {[](TranscodeConfig& c) { c.video = "721p:2500k"; }, "even"},
        {[](TranscodeConfig& c) { c.video = "99999p:2500k"; }, "height"},
        {[](TranscodeConfig& c) { c.video = ""; }, "transcode.video names no rung"},
        {[](TranscodeConfig& c) { c.video_audio_bitrate = "fast"; }, "transcode.video_audio_bitrate"},
        {[](TranscodeConfig& c) { c.segment_duration = std::chrono::milliseconds(2500); }, "whole seconds"},
        {[](TranscodeConfig& c) { c.segment_duration = std::chrono::seconds(90); }, "whole seconds"},
        {[](TranscodeConfig& c) { c.video_preset = "warp"; }, "transcode.video_preset"},
    };
    for (auto const& test : cases) {
        TranscodeConfig config;
        test.set(config);
        std::string const message = error_of(config);
        EXPECT_NE(message.find(test.expected), std::string::npos) << message << " (wanted: " << test.expected << ")";
    }
}

}  // namespace
}  // namespace onda::media
