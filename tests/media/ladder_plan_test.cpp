#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "media/transcode/plan.hpp"
#include "media/transcode/playlist.hpp"
#include "media/transcode/waveform.hpp"

namespace onda::media {
namespace {

std::vector<std::string> names(std::vector<PlannedAudio> const& audio) {
    std::vector<std::string> out;
    for (auto const& rung : audio) out.push_back(rung.name);
    return out;
}

PlannedAudio const& find(LadderPlan const& plan, std::string const& name) {
    auto it = std::ranges::find(plan.audio, name, &PlannedAudio::name);
    EXPECT_NE(it, plan.audio.end()) << name;
    return *it;
}

SourceFacts wav(int sample_rate, int channels, int bits = 16) {
    return {.has_audio = true,
            .sample_rate = sample_rate,
            .channels = channels,
            .audio_bit_rate = std::int64_t{sample_rate} * channels * bits,
            .lossless = true,
            .bits_per_sample = bits};
}

TEST(LadderPlan, a_48k_stereo_lossless_source_gets_every_audio_rung) {
    auto plan = plan_ladder(wav(48'000, 2), LadderOptions{});
    EXPECT_EQ(names(plan.audio), (std::vector<std::string>{"aac-64", "aac-128", "aac-320", "mp3-128", "mp3-192",
                                                           "mp3-320", "opus-160", "flac"}));
    EXPECT_EQ(find(plan, "aac-64").sample_rate, 22'050);
    EXPECT_EQ(find(plan, "aac-320").sample_rate, 48'000);
    EXPECT_EQ(find(plan, "mp3-320").sample_rate, 48'000);
    EXPECT_EQ(find(plan, "opus-160").container, "ogg");
    EXPECT_EQ(find(plan, "flac").channels, 2);
    EXPECT_TRUE(plan.waveform);
    EXPECT_TRUE(plan.video.empty());
}

TEST(LadderPlan, speech_at_22k_mono_skips_rungs_above_its_rate_and_keeps_the_lowest) {
    auto plan = plan_ladder(wav(22'050, 1), LadderOptions{});
    // aac-128 wants 44.1 kHz and aac-320 48 kHz; MP3 at 22.05 kHz carries at most 160 kbit/s.
    EXPECT_EQ(names(plan.audio), (std::vector<std::string>{"aac-64", "mp3-128", "opus-160", "flac"}));
    EXPECT_EQ(find(plan, "aac-64").channels, 1);
    EXPECT_EQ(find(plan, "mp3-128").sample_rate, 22'050);
}

TEST(LadderPlan, the_lowest_rung_is_made_at_the_source_rate_when_the_source_is_below_it) {
    auto plan = plan_ladder(wav(8'000, 1), LadderOptions{});
    EXPECT_EQ(find(plan, "aac-64").sample_rate, 8'000);
    EXPECT_EQ(find(plan, "mp3-128").sample_rate, 8'000);
    // A rate no encoder takes is brought down to the next one that is.
    EXPECT_EQ(find(plan_ladder(wav(37'800, 1), LadderOptions{}), "mp3-128").sample_rate, 32'000);
}

TEST(LadderPlan, a_lossy_source_gets_no_rung_above_its_bit_rate_and_no_flac) {
    SourceFacts mp3{.has_audio = true, .sample_rate = 44'100, .channels = 2, .audio_bit_rate = 128'000};
    auto plan = plan_ladder(mp3, LadderOptions{});
    EXPECT_EQ(names(plan.audio), (std::vector<std::string>{"aac-64", "aac-128", "mp3-128", "opus-160"}));
    SourceFacts low{.has_audio = true, .sample_rate = 44'100, .channels = 2, .audio_bit_rate = 32'000};
    EXPECT_EQ(names(plan_ladder(low, LadderOptions{}).audio),
              (std::vector<std::string>{"aac-64", "mp3-128", "opus-160"}));
}

TEST(LadderPlan, many_channels_are_downmixed_for_lossy_codecs_and_kept_for_flac) {
    auto plan = plan_ladder(wav(48'000, 8), LadderOptions{});
    EXPECT_EQ(find(plan, "aac-128").channels, 2);
    EXPECT_EQ(find(plan, "opus-160").channels, 2);
    EXPECT_EQ(find(plan, "flac").channels, 8);
    EXPECT_EQ(find(plan_ladder(wav(48'000, 2, 24), LadderOptions{}), "flac").bits_per_sample, 24);
}

TEST(LadderPlan, video_rungs_stop_at_the_source_height) {
    SourceFacts video{.has_audio = true,
                      .sample_rate = 48'000,
                      .channels = 2,
                      .audio_bit_rate = 128'000,
                      .has_video = true,
                      .width = 1280,
                      .height = 720};
    auto plan = plan_ladder(video, LadderOptions{});
    ASSERT_EQ(plan.video.size(), 3u);
    EXPECT_EQ(plan.video[0].name, "720p");
    EXPECT_EQ(plan.video[0].width, 1280);
    EXPECT_EQ(plan.video[1].width, 854);
    EXPECT_EQ(plan.video[2].width, 640);
    ASSERT_TRUE(plan.video_audio);
    EXPECT_EQ(plan.video_audio->bit_rate, 128'000);
    EXPECT_TRUE(plan.audio.empty());
    EXPECT_FALSE(plan.waveform);
}

TEST(LadderPlan, odd_and_small_pictures_get_even_sizes_and_never_an_upscale) {
    SourceFacts odd{.has_video = true, .width = 853, .height = 479};
    auto plan = plan_ladder(odd, LadderOptions{});
    ASSERT_EQ(plan.video.size(), 1u);
    EXPECT_EQ(plan.video[0].height, 360);
    EXPECT_EQ(plan.video[0].width, 642);
    EXPECT_FALSE(plan.video_audio);

    SourceFacts tiny{.has_video = true, .width = 321, .height = 241};
    plan = plan_ladder(tiny, LadderOptions{});
    ASSERT_EQ(plan.video.size(), 1u);
    EXPECT_EQ(plan.video[0].name, "240p");
    EXPECT_EQ(plan.video[0].height, 240);
    EXPECT_EQ(plan.video[0].width, 320);
    EXPECT_EQ(plan.video[0].bit_rate, 800'000);
}

TEST(LadderPlan, anamorphic_pixels_are_made_square) {
    SourceFacts dvd{.has_video = true, .width = 720, .height = 576, .sar_num = 64, .sar_den = 45};
    auto plan = plan_ladder(dvd, LadderOptions{});
    ASSERT_EQ(plan.video.size(), 2u);     // 480p and 360p
    EXPECT_EQ(plan.video[0].width, 854);  // 720 * 64/45 = 1024 wide at 576 → 853.3 at 480
}

TEST(Playlist, reads_segments_and_their_durations) {
    auto segments = playlist_segments(
        "#EXTM3U\r\n#EXT-X-TARGETDURATION:4\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:4.04,\nseg-00001.m4s\n"
        "#EXTINF:3.5,\nseg-00002.m4s\n#EXT-X-ENDLIST\n");
    ASSERT_EQ(segments.size(), 2u);
    EXPECT_DOUBLE_EQ(segments[0].duration, 4.04);
    EXPECT_EQ(segments[0].uri, "seg-00001.m4s");
    EXPECT_EQ(segments[1].uri, "seg-00002.m4s");
    EXPECT_TRUE(playlist_segments("not a playlist").empty());
}

TEST(Playlist, master_lists_each_variant_with_its_attributes) {
    auto text = master_playlist(
        {{.uri = "720p/index.m3u8",
          .peak_bit_rate = 2'000'000,
          .average_bit_rate = 1'500'000,
          .codecs = "avc1.64001f,mp4a.40.2",
          .width = 1280,
          .height = 720,
          .frame_rate = 25},
         {.uri = "aac-64/index.m3u8", .peak_bit_rate = 70'000, .average_bit_rate = 66'000, .codecs = "mp4a.40.2"}});
    EXPECT_EQ(text,
              "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n"
              "#EXT-X-STREAM-INF:BANDWIDTH=2000000,AVERAGE-BANDWIDTH=1500000,CODECS=\"avc1.64001f,mp4a.40.2\","
              "RESOLUTION=1280x720,FRAME-RATE=25.000\n720p/index.m3u8\n"
              "#EXT-X-STREAM-INF:BANDWIDTH=70000,AVERAGE-BANDWIDTH=66000,CODECS=\"mp4a.40.2\"\naac-64/index.m3u8\n");
}

TEST(Playlist, avc_codec_string_comes_from_the_sps) {
    std::vector<std::uint8_t> annex_b{0, 0, 0, 1, 0x67, 0x64, 0x00, 0x1f, 0xac, 0, 0, 1, 0x68, 0xee};
    EXPECT_EQ(avc_codec_string(annex_b), "avc1.64001f");
    std::vector<std::uint8_t> avcc{1, 0x42, 0xc0, 0x1e, 0xff, 0xe1};
    EXPECT_EQ(avc_codec_string(avcc), "avc1.42c01e");
    EXPECT_EQ(avc_codec_string({}), "avc1.640028");
}

TEST(Playlist, signing_adds_the_query_to_every_uri_and_nothing_else) {
    EXPECT_EQ(
        sign_playlist_uris("#EXTM3U\r\n#EXT-X-MAP:URI=\"init.mp4\",BYTERANGE=\"1@0\"\r\n#EXTINF:4,\r\nseg-1.m4s\r\n"
                           "seg-2.m4s?x=1\n\n#EXT-X-ENDLIST",
                           "exp=1&sig=abc"),
        "#EXTM3U\r\n#EXT-X-MAP:URI=\"init.mp4?exp=1&sig=abc\",BYTERANGE=\"1@0\"\r\n#EXTINF:4,\r\n"
        "seg-1.m4s?exp=1&sig=abc\r\nseg-2.m4s?x=1&exp=1&sig=abc\n\n#EXT-X-ENDLIST");
    EXPECT_EQ(sign_playlist_uris("", "q"), "");
    EXPECT_EQ(sign_playlist_uris("#EXT-X-MEDIA:URI=\"unclosed\n", "q"), "#EXT-X-MEDIA:URI=\"unclosed\n");
}

TEST(PeakMeter, keeps_the_loudest_sample_of_each_slice_over_every_channel) {
    PeakMeter meter(10, 2);  // slices of 5 samples
    std::vector<float> left{0.1f, -0.5f, 0.2f, 0.0f, 0.0f, 0.3f, 0.0f, 0.0f, 0.0f, 0.0f, 2.0f};
    std::vector<float> right{0.0f, 0.0f, 0.0f, 0.0f, 0.9f, -0.4f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
    float const* planes[] = {left.data(), right.data()};
    meter.add(planes, 2, 11);
    // The last slice is partial; a sample past full scale (possible in float) is clamped.
    EXPECT_EQ(meter.to_json(), "{\"duration\":1.100,\"peaks\":[0.900,0.400,1.000]}");
    EXPECT_EQ(PeakMeter(8000, 10).to_json(), "{\"duration\":0.000,\"peaks\":[]}");
}

}  // namespace
}  // namespace onda::media
