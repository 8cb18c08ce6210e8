// The pure parts of on-the-fly conversions: formats, bit rates, plans, the CBR MP3 length formula,
// the Info frame's bytes and the WAV header.
#include <gtest/gtest.h>

#include "media/convert/mp3_layout.hpp"
#include "media/convert/plan.hpp"
#include "media/convert/wav_layout.hpp"

namespace onda::media {
namespace {

std::uint32_t be32(std::string const& bytes, std::size_t at) {
    return (std::uint32_t{static_cast<unsigned char>(bytes[at])} << 24) |
           (std::uint32_t{static_cast<unsigned char>(bytes[at + 1])} << 16) |
           (std::uint32_t{static_cast<unsigned char>(bytes[at + 2])} << 8) | static_cast<unsigned char>(bytes[at + 3]);
}

std::uint32_t le32(std::string const& bytes, std::size_t at) {
    return (std::uint32_t{static_cast<unsigned char>(bytes[at + 3])} << 24) |
           (std::uint32_t{static_cast<unsigned char>(bytes[at + 2])} << 16) |
           (std::uint32_t{static_cast<unsigned char>(bytes[at + 1])} << 8) | static_cast<unsigned char>(bytes[at]);
}

ConvertSource const stereo_minute{.duration = 60.0, .sample_rate = 44'100, .channels = 2};

TEST(ParseBitRate, TakesKilobitsAndBits) {
    EXPECT_EQ(parse_bit_rate("128k").value(), 128'000);
    EXPECT_EQ(parse_bit_rate("192K").value(), 192'000);
    EXPECT_EQ(parse_bit_rate("96000").value(), 96'000);
}

TEST(ParseBitRate, RefusesAnythingElse) {
    for (std::string_view text : {"", "k", "-128k", "0", "128kbps", "12.8k", "128 k", "99999999999999999999k", "1e5"})
        EXPECT_FALSE(parse_bit_rate(text)) << text;
}

TEST(ParseConvertFormat, KnowsTheSixFormats) {
    for (std::string_view name : {"mp3", "aac", "opus", "ogg", "flac", "wav"})
        EXPECT_EQ(format_name(parse_convert_format(name).value()), name);
    auto unknown = parse_convert_format("MP3");
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().code(), Errc::invalid_argument);
}

TEST(PlanConversion, Mp3TakesOnlyBitRatesWithFramesOfOneSize) {
    for (std::int64_t rate : {64'000, 96'000, 128'000, 160'000, 192'000, 256'000, 320'000}) {
        auto plan = plan_conversion(ConvertFormat::mp3, rate, stereo_minute);
        ASSERT_TRUE(plan) << rate;
        EXPECT_TRUE(is_exact_mp3_rate(plan->sample_rate, plan->bit_rate)) << rate;
        EXPECT_TRUE(check_plan(*plan)) << rate;
    }
    for (std::int64_t rate : {32'000, 112'000, 224'000, 128'001, 500'000}) {
        auto plan = plan_conversion(ConvertFormat::mp3, rate, stereo_minute);
        ASSERT_FALSE(plan) << rate;
        EXPECT_EQ(plan.error().code(), Errc::invalid_argument);
    }
}

TEST(PlanConversion, Mp3IsAt48kHzFrom128kAnd32kHzBelow) {
    EXPECT_EQ(plan_conversion(ConvertFormat::mp3, 128'000, stereo_minute)->sample_rate, 48'000);
    EXPECT_EQ(plan_conversion(ConvertFormat::mp3, 96'000, stereo_minute)->sample_rate, 32'000);
    auto plan = plan_conversion(ConvertFormat::mp3, 192'000, stereo_minute).value();
    EXPECT_EQ(plan.samples, 60 * 48'000);
    EXPECT_EQ(plan.channels, 2);
    EXPECT_EQ(plan.content_type(), "audio/mpeg");
    EXPECT_EQ(plan.name(), "mp3-192k");
}

TEST(PlanConversion, DefaultsAndBoundsPerCodec) {
    EXPECT_EQ(plan_conversion(ConvertFormat::mp3, std::nullopt, stereo_minute)->bit_rate, 128'000);
    EXPECT_EQ(plan_conversion(ConvertFormat::aac, std::nullopt, stereo_minute)->bit_rate, 128'000);
    EXPECT_EQ(plan_conversion(ConvertFormat::opus, std::nullopt, stereo_minute)->bit_rate, 96'000);
    EXPECT_EQ(plan_conversion(ConvertFormat::opus, std::nullopt, stereo_minute)->sample_rate, 48'000);
    EXPECT_FALSE(plan_conversion(ConvertFormat::aac, 8'000, stereo_minute));
    EXPECT_FALSE(plan_conversion(ConvertFormat::opus, 512'000, stereo_minute));
    EXPECT_FALSE(plan_conversion(ConvertFormat::ogg, 32'000, stereo_minute));
    EXPECT_TRUE(plan_conversion(ConvertFormat::ogg, 320'000, stereo_minute));
}

TEST(PlanConversion, LosslessFormatsKeepTheSourceRateAndIgnoreTheBitRate) {
    auto flac = plan_conversion(ConvertFormat::flac, 128'000, stereo_minute).value();
    EXPECT_EQ(flac.sample_rate, 44'100);
    EXPECT_EQ(flac.bit_rate, 0);
    EXPECT_FALSE(flac.length());
    auto wav = plan_conversion(ConvertFormat::wav, std::nullopt, stereo_minute).value();
    EXPECT_EQ(wav.samples, 60 * 44'100);
    EXPECT_EQ(wav.length(), 44u + 60u * 44'100u * 4u);
    EXPECT_EQ(wav.name(), "wav");
}

TEST(PlanConversion, ManyChannelsAreDownmixedToTwoAndAudiolessMediaIsRefused) {
    auto plan =
        plan_conversion(ConvertFormat::aac, std::nullopt, {.duration = 1, .sample_rate = 48'000, .channels = 6});
    EXPECT_EQ(plan->channels, 2);
    auto none = plan_conversion(ConvertFormat::mp3, std::nullopt, {.duration = 10, .sample_rate = 0, .channels = 0});
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().code(), Errc::invalid_argument);
}

TEST(PlanConversion, KnownLengthsNeedAKnownDuration) {
    for (double duration : {0.0, -1.0, 49.0 * 3600}) {
        ConvertSource source{.duration = duration, .sample_rate = 44'100, .channels = 2};
        EXPECT_FALSE(plan_conversion(ConvertFormat::mp3, std::nullopt, source)) << duration;
        EXPECT_FALSE(plan_conversion(ConvertFormat::wav, std::nullopt, source)) << duration;
        EXPECT_TRUE(plan_conversion(ConvertFormat::opus, std::nullopt, source)) << duration;
    }
}

TEST(PlanConversion, OnlyMp3AndWavKnowTheirLength) {
    for (auto format : {ConvertFormat::aac, ConvertFormat::opus, ConvertFormat::ogg, ConvertFormat::flac})
        EXPECT_FALSE(plan_conversion(format, std::nullopt, stereo_minute)->length()) << format_name(format);
}

TEST(CheckPlan, RefusesPlansNoServerWouldMake) {
    ConversionPlan plan{.format = ConvertFormat::mp3, .bit_rate = 128'000, .sample_rate = 44'100, .channels = 2};
    EXPECT_FALSE(check_plan(plan));  // 44.1 kHz frames vary by a padding byte
    plan.sample_rate = 48'000;
    EXPECT_TRUE(check_plan(plan));
    plan.channels = 3;
    EXPECT_FALSE(check_plan(plan));
    ConversionPlan aac{.format = ConvertFormat::aac, .bit_rate = 0, .sample_rate = 48'000, .channels = 2};
    EXPECT_FALSE(check_plan(aac));
}

TEST(Mp3Layout, FrameBytesAreWhole) {
    EXPECT_EQ((Mp3Layout{.sample_rate = 48'000, .bit_rate = 128'000}.frame_bytes()), 384);
    EXPECT_EQ((Mp3Layout{.sample_rate = 48'000, .bit_rate = 192'000}.frame_bytes()), 576);
    EXPECT_EQ((Mp3Layout{.sample_rate = 48'000, .bit_rate = 320'000}.frame_bytes()), 960);
    EXPECT_EQ((Mp3Layout{.sample_rate = 32'000, .bit_rate = 64'000}.frame_bytes()), 288);
    EXPECT_FALSE(is_exact_mp3_rate(44'100, 128'000));
}

TEST(Mp3Layout, FramesCoverTheSamplesAndBothDelays) {
    Mp3Layout layout{.sample_rate = 48'000, .bit_rate = 192'000, .channels = 2, .samples = 0};
    EXPECT_EQ(layout.audio_frames(), 1);  // 1105 samples of delay fit in one frame
    layout.samples = 1152 - 1105;
    EXPECT_EQ(layout.audio_frames(), 1);
    layout.samples += 1;
    EXPECT_EQ(layout.audio_frames(), 2);
    layout.samples = 48'000 * 10;
    EXPECT_EQ(layout.audio_frames(), (480'000 + 1105 + 1151) / 1152);
    EXPECT_EQ(layout.length(), (layout.audio_frames() + 1) * 576u);
    EXPECT_GE(layout.end_padding(), 0);
    EXPECT_LT(layout.end_padding(), 1152);
}

TEST(Mp3InfoFrame, HeaderSaysMpeg1LayerIIIWithoutPadding) {
    Mp3Layout layout{.sample_rate = 48'000, .bit_rate = 192'000, .channels = 2, .samples = 480'000};
    auto frame = mp3_info_frame(layout, "Lavc59.37");
    ASSERT_EQ(frame.size(), 576u);
    std::uint32_t const header = be32(frame, 0);
    EXPECT_EQ(header >> 21, 0x7FFu);      // sync
    EXPECT_EQ((header >> 19) & 3, 3u);    // MPEG-1
    EXPECT_EQ((header >> 17) & 3, 1u);    // Layer III
    EXPECT_EQ((header >> 16) & 1, 1u);    // no CRC
    EXPECT_EQ((header >> 12) & 15, 11u);  // 192 kbit/s
    EXPECT_EQ((header >> 10) & 3, 1u);    // 48 kHz
    EXPECT_EQ((header >> 9) & 1, 0u);     // no padding
    EXPECT_EQ((header >> 6) & 3, 1u);     // joint stereo
    EXPECT_EQ(mp3_frame_header({.sample_rate = 48'000, .bit_rate = 192'000, .channels = 1}) >> 6 & 3, 3u);
}

TEST(Mp3InfoFrame, CarriesFramesBytesTocAndGaplessFields) {
    Mp3Layout layout{.sample_rate = 48'000, .bit_rate = 128'000, .channels = 2, .samples = 480'000};
    auto frame = mp3_info_frame(layout, "Lavc59.37");
    std::size_t const tag = 4 + 32;  // MPEG-1 stereo side information
    EXPECT_EQ(frame.substr(tag, 4), "Info");
    EXPECT_EQ(be32(frame, tag + 4), 0x0Fu);
    EXPECT_EQ(be32(frame, tag + 8), static_cast<std::uint32_t>(layout.audio_frames()));
    EXPECT_EQ(be32(frame, tag + 12), layout.length());
    EXPECT_EQ(static_cast<unsigned char>(frame[tag + 16]), 0);
    EXPECT_EQ(static_cast<unsigned char>(frame[tag + 16 + 50]), 128);
    EXPECT_EQ(static_cast<unsigned char>(frame[tag + 16 + 99]), 253);
    for (int i = 1; i < 100; ++i)
        EXPECT_GE(static_cast<unsigned char>(frame[tag + 16 + i]), static_cast<unsigned char>(frame[tag + 15 + i]));
    std::size_t const lame = tag + 120;
    EXPECT_EQ(frame.substr(lame, 9), "Lavc59.37");
    EXPECT_EQ(static_cast<unsigned char>(frame[lame + 20]), 128);  // kbit/s
    std::uint32_t const delays = (std::uint32_t{static_cast<unsigned char>(frame[lame + 21])} << 16) |
                                 (std::uint32_t{static_cast<unsigned char>(frame[lame + 22])} << 8) |
                                 static_cast<unsigned char>(frame[lame + 23]);
    EXPECT_EQ(delays >> 12, 576u);
    EXPECT_EQ(delays & 0xFFF, static_cast<std::uint32_t>(layout.end_padding()));
    EXPECT_EQ(be32(frame, lame + 28), layout.length());
    auto const crc = static_cast<std::uint16_t>((static_cast<unsigned char>(frame[lame + 34]) << 8) |
                                                static_cast<unsigned char>(frame[lame + 35]));
    EXPECT_EQ(crc, crc16_arc(std::string_view(frame).substr(0, lame + 34)));
}

TEST(Mp3InfoFrame, MonoTagFollowsTheShorterSideInformation) {
    Mp3Layout layout{.sample_rate = 32'000, .bit_rate = 64'000, .channels = 1, .samples = 32'000};
    auto frame = mp3_info_frame(layout, "Lavc59.37");
    ASSERT_EQ(frame.size(), 288u);
    EXPECT_EQ(frame.substr(4 + 17, 4), "Info");
}

TEST(Crc16Arc, MatchesTheCheckValue) {
    // The catalogue's check value of CRC-16/ARC over "123456789".
    EXPECT_EQ(crc16_arc("123456789"), 0xBB3D);
}

TEST(WavHeader, IsTheCanonicalPcmHeader) {
    WavLayout layout{.sample_rate = 8000, .channels = 1, .samples = 8000};
    auto header = wav_header(layout);
    ASSERT_EQ(header.size(), 44u);
    EXPECT_EQ(header.substr(0, 4), "RIFF");
    EXPECT_EQ(le32(header, 4), 36u + 16'000u);
    EXPECT_EQ(header.substr(8, 8), "WAVEfmt ");
    EXPECT_EQ(le32(header, 24), 8000u);
    EXPECT_EQ(le32(header, 28), 16'000u);
    EXPECT_EQ(header.substr(36, 4), "data");
    EXPECT_EQ(le32(header, 40), 16'000u);
    EXPECT_EQ(layout.length(), 16'044u);
}

TEST(ConvertArguments, CarryThePlanAndTheOffset) {
    ConversionPlan plan{
        .format = ConvertFormat::mp3, .bit_rate = 192'000, .sample_rate = 48'000, .channels = 2, .samples = 96'000};
    std::vector<std::string> expected{"--format",   "mp3", "--bitrate", "192000", "--sample-rate", "48000",
                                      "--channels", "2",   "--samples", "96000",  "--offset",      "577"};
    EXPECT_EQ(convert_arguments(plan, 577), expected);
    plan.format = ConvertFormat::wav;
    plan.bit_rate = 0;
    expected = {"--format", "wav", "--sample-rate", "48000", "--channels", "2", "--samples", "96000"};
    EXPECT_EQ(convert_arguments(plan, 0), expected);
}

TEST(ConversionJob, RoundTripsThroughItsText) {
    ConversionPlan plan{
        .format = ConvertFormat::mp3, .bit_rate = 192'000, .sample_rate = 48'000, .channels = 1, .samples = 96'000};
    auto job = decode_job(encode_job(plan, 12'345));
    ASSERT_TRUE(job) << job.error().message();
    EXPECT_EQ(job->plan.format, ConvertFormat::mp3);
    EXPECT_EQ(job->plan.bit_rate, 192'000);
    EXPECT_EQ(job->plan.sample_rate, 48'000);
    EXPECT_EQ(job->plan.channels, 1);
    EXPECT_EQ(job->plan.samples, 96'000);
    EXPECT_EQ(job->offset, 12'345u);
}

TEST(ConversionJob, RefusesWhatEncodeJobDoesNotMake) {
    for (std::string_view text : {"", "--format\nmp3", "--format\nmp3\n--bitrate\n", "--format\nxyz\n",
                                  "--bitrate\n128000\n", "--format\nmp3\n--bitrate\n-1\n", "--format\nmp3\n--evil\n1\n",
                                  "--format\nmp3\n--bitrate\n128000\n--sample-rate\n44100\n--channels\n2\n"})
        EXPECT_FALSE(decode_job(text)) << text;
}

}  // namespace
}  // namespace onda::media
