#include "media/av/probe.hpp"

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include <sys/stat.h>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "support/media_tools.hpp"
#include "support/temp_dir.hpp"

namespace onda::media::av {
namespace {

using test::quoted;
using test::read_file;
using test::run_ffmpeg;

using namespace std::chrono_literals;
using std::chrono::steady_clock;

// A probe that takes longer than this has ignored its budget: every fixture here is tiny.
constexpr auto never_slower_than = 3s;

void write_file(std::filesystem::path const& file, std::string const& bytes) {
    std::ofstream out(file, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    ASSERT_TRUE(out.good()) << file;
}

void put_le(std::string& out, std::uint32_t value, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

constexpr std::uint16_t wave_format_pcm = 1;

// A WAV with the canonical 44-byte header (RIFF, a "fmt " chunk, "data") and mono 16-bit samples of
// a square wave. The data chunk claims `claimed_data_bytes`, which a hostile file sets to more than
// it holds; `format_tag` names the codec, WAVE_FORMAT_PCM unless a test wants one nobody knows.
std::string mono_s16_wav(int sample_rate, int sample_count, std::uint32_t claimed_data_bytes,
                         std::uint16_t format_tag = wave_format_pcm) {
    constexpr int channels = 1;
    constexpr int bytes_per_sample = 2;
    std::string wav = "RIFF";
    put_le(wav, 36 + claimed_data_bytes, 4);
    wav += "WAVEfmt ";
    put_le(wav, 16, 4);  // size of the fmt chunk
    put_le(wav, format_tag, 2);
    put_le(wav, channels, 2);
    put_le(wav, static_cast<std::uint32_t>(sample_rate), 4);
    put_le(wav, static_cast<std::uint32_t>(sample_rate * channels * bytes_per_sample), 4);  // byte rate
    put_le(wav, channels * bytes_per_sample, 2);                                            // block align
    put_le(wav, 8 * bytes_per_sample, 2);                                                   // bits per sample
    wav += "data";
    put_le(wav, claimed_data_bytes, 4);
    for (int i = 0; i < sample_count; ++i) put_le(wav, (i / 50) % 2 ? 0x2000u : 0xe000u, bytes_per_sample);
    return wav;
}

std::string mono_s16_wav(int sample_rate, int sample_count) {
    return mono_s16_wav(sample_rate, sample_count, static_cast<std::uint32_t>(sample_count * 2));
}

// An H.264 + AAC MP4 as ffmpeg writes it by default: the moov (the index) after the media data.
std::filesystem::path make_mp4(test::TempDir const& dir, std::string const& seconds) {
    auto file = dir.path() / "clip.mp4";
    EXPECT_TRUE(run_ffmpeg("-f lavfi -i testsrc=size=320x240:rate=25:duration=" + seconds +
                           " -f lavfi -i sine=duration=" + seconds + " -c:v libx264 -pix_fmt yuv420p -c:a aac " +
                           quoted(file)));
    return file;
}

Result<MediaInfo> probe(std::filesystem::path const& file, ProbeLimits limits = {}) {
    return blocking::probe(file, limits);
}

// The error's code; a success reads as Errc::internal, which no test here expects.
Errc error_code(Result<MediaInfo> const& result) { return result ? Errc::internal : result.error().code(); }

TEST(ProbeWav, HandWrittenPcmReportsCodecDurationAndBitRate) {
    test::TempDir dir;
    auto file = dir.path() / "tone.wav";
    write_file(file, mono_s16_wav(44'100, 44'100));
    auto info = probe(file);
    ASSERT_TRUE(info) << info.error().message();
    EXPECT_EQ(info->kind, "audio");
    EXPECT_EQ(info->format, "wav");
    EXPECT_EQ(info->content_type, "audio/wav");
    EXPECT_DOUBLE_EQ(info->duration, 1.0);
    EXPECT_EQ(info->bit_rate, 705'600);
    ASSERT_TRUE(info->audio);
    EXPECT_EQ(info->audio->codec, "pcm_s16le");
    EXPECT_EQ(info->audio->sample_rate, 44'100);
    EXPECT_EQ(info->audio->channels, 1);
    EXPECT_EQ(info->audio->bit_rate, 705'600);
    EXPECT_FALSE(info->video);
    EXPECT_FALSE(info->has_cover_art);
}

TEST(ProbeWav, HeaderClaimingHoursOfSamplesGivesAnErrorOrTheDurationOfTheBytesPresent) {
    test::TempDir dir;
    auto file = dir.path() / "liar.wav";
    constexpr std::uint32_t three_hours_of_bytes = 44'100u * 2u * 3u * 3600u;
    write_file(file, mono_s16_wav(44'100, 4'410, three_hours_of_bytes));
    auto const start = steady_clock::now();
    auto info = probe(file);
    EXPECT_LT(steady_clock::now() - start, never_slower_than);
    if (info)
        EXPECT_LT(info->duration, 1.0) << "the file holds 0.1 s";
    else
        EXPECT_EQ(info.error().code(), Errc::unsupported_media) << info.error().message();
}

TEST(ProbeMp3, EncodedToneIsAudioMpeg) {
    test::TempDir dir;
    auto file = dir.path() / "tone.mp3";
    ASSERT_TRUE(run_ffmpeg("-f lavfi -i sine=duration=2 -c:a libmp3lame -b:a 128k " + quoted(file)));
    auto info = probe(file);
    ASSERT_TRUE(info) << info.error().message();
    EXPECT_EQ(info->kind, "audio");
    EXPECT_EQ(info->format, "mp3");
    EXPECT_EQ(info->content_type, "audio/mpeg");
    EXPECT_NEAR(info->duration, 2.0, 0.1);
    ASSERT_TRUE(info->audio);
    EXPECT_EQ(info->audio->codec, "mp3");
    EXPECT_EQ(info->audio->sample_rate, 44'100);
    EXPECT_EQ(info->audio->bit_rate, 128'000);
    EXPECT_FALSE(info->video);
}

TEST(ProbeMp3, AttachedCoverPictureIsCoverArtNotVideo) {
    test::TempDir dir;
    auto file = dir.path() / "song.mp3";
    ASSERT_TRUE(
        run_ffmpeg("-f lavfi -i sine=duration=1 -f lavfi -i color=c=red:size=64x64:duration=0.04 "
                   "-map 0:a -map 1:v -frames:v 1 -c:a libmp3lame -c:v png -disposition:v attached_pic " +
                   quoted(file)));
    auto info = probe(file);
    ASSERT_TRUE(info) << info.error().message();
    EXPECT_TRUE(info->has_cover_art);
    EXPECT_EQ(info->kind, "audio");
    EXPECT_EQ(info->content_type, "audio/mpeg");
    EXPECT_FALSE(info->video);
    ASSERT_TRUE(info->audio);
    EXPECT_EQ(info->audio->codec, "mp3");
}

TEST(ProbeOgg, OpusIsAudioOgg) {
    test::TempDir dir;
    auto file = dir.path() / "voice.ogg";
    ASSERT_TRUE(run_ffmpeg("-f lavfi -i sine=duration=1:sample_rate=48000 -c:a libopus -b:a 64k " + quoted(file)));
    auto info = probe(file);
    ASSERT_TRUE(info) << info.error().message();
    EXPECT_EQ(info->kind, "audio");
    EXPECT_EQ(info->format, "ogg");
    EXPECT_EQ(info->content_type, "audio/ogg");
    EXPECT_NEAR(info->duration, 1.0, 0.05);
    ASSERT_TRUE(info->audio);
    EXPECT_EQ(info->audio->codec, "opus");
    EXPECT_EQ(info->audio->sample_rate, 48'000);
}

TEST(ProbeFlac, IsAudioFlac) {
    test::TempDir dir;
    auto file = dir.path() / "lossless.flac";
    ASSERT_TRUE(run_ffmpeg("-f lavfi -i sine=duration=1 -ac 2 -c:a flac " + quoted(file)));
    auto info = probe(file);
    ASSERT_TRUE(info) << info.error().message();
    EXPECT_EQ(info->format, "flac");
    EXPECT_EQ(info->content_type, "audio/flac");
    EXPECT_NEAR(info->duration, 1.0, 0.01);
    ASSERT_TRUE(info->audio);
    EXPECT_EQ(info->audio->codec, "flac");
    EXPECT_EQ(info->audio->channels, 2);
    EXPECT_GT(info->bit_rate, 0);
}

TEST(ProbeMp4, H264WithAacIsVideoWithPictureSizeAndRate) {
    test::TempDir dir;
    auto file = make_mp4(dir, "2");
    auto info = probe(file);
    ASSERT_TRUE(info) << info.error().message();
    EXPECT_EQ(info->kind, "video");
    EXPECT_EQ(info->format, "mp4");
    EXPECT_EQ(info->content_type, "video/mp4");
    EXPECT_NEAR(info->duration, 2.0, 0.1);
    EXPECT_GT(info->bit_rate, 0);
    ASSERT_TRUE(info->video);
    EXPECT_EQ(info->video->codec, "h264");
    EXPECT_EQ(info->video->width, 320);
    EXPECT_EQ(info->video->height, 240);
    EXPECT_DOUBLE_EQ(info->video->fps, 25.0);
    ASSERT_TRUE(info->audio);
    EXPECT_EQ(info->audio->codec, "aac");
    EXPECT_FALSE(info->has_cover_art);
}

TEST(ProbeMp4, AudioOnlyM4aIsAudioMp4) {
    test::TempDir dir;
    auto file = dir.path() / "song.m4a";
    ASSERT_TRUE(run_ffmpeg("-f lavfi -i sine=duration=1 -c:a aac -b:a 96k " + quoted(file)));
    auto info = probe(file);
    ASSERT_TRUE(info) << info.error().message();
    EXPECT_EQ(info->kind, "audio");
    EXPECT_EQ(info->format, "mp4");
    EXPECT_EQ(info->content_type, "audio/mp4");
    ASSERT_TRUE(info->audio);
    EXPECT_EQ(info->audio->codec, "aac");
    EXPECT_FALSE(info->video);
}

TEST(ProbeMp4, OddPictureSizeIsReportedExactly) {
    test::TempDir dir;
    auto file = dir.path() / "odd.mp4";
    // 4:4:4 chroma, because 4:2:0 cannot hold an odd width or height.
    ASSERT_TRUE(run_ffmpeg("-f lavfi -i testsrc=size=853x479:rate=30:duration=1 -c:v libx264 -pix_fmt yuv444p " +
                           quoted(file)));
    auto info = probe(file);
    ASSERT_TRUE(info) << info.error().message();
    EXPECT_EQ(info->kind, "video");
    EXPECT_FALSE(info->audio);
    ASSERT_TRUE(info->video);
    EXPECT_EQ(info->video->width, 853);
    EXPECT_EQ(info->video->height, 479);
    EXPECT_DOUBLE_EQ(info->video->fps, 30.0);
}

TEST(ProbeMatroska, VorbisOnlyIsAudioWebm) {
    test::TempDir dir;
    auto file = dir.path() / "voice.mka";
    ASSERT_TRUE(run_ffmpeg("-f lavfi -i sine=duration=1 -c:a libvorbis -f matroska " + quoted(file)));
    auto info = probe(file);
    ASSERT_TRUE(info) << info.error().message();
    EXPECT_EQ(info->format, "webm");
    EXPECT_EQ(info->content_type, "audio/webm");
}

TEST(ProbeMatroska, H264IsVideoXMatroska) {
    test::TempDir dir;
    auto file = dir.path() / "clip.mkv";
    ASSERT_TRUE(run_ffmpeg("-f lavfi -i testsrc=size=160x120:rate=25:duration=1 -c:v libx264 " + quoted(file)));
    auto info = probe(file);
    ASSERT_TRUE(info) << info.error().message();
    EXPECT_EQ(info->format, "matroska");
    EXPECT_EQ(info->content_type, "video/x-matroska");
}

TEST(ProbeMpegTs, IsVideoMp2t) {
    test::TempDir dir;
    auto file = dir.path() / "clip.ts";
    ASSERT_TRUE(
        run_ffmpeg("-f lavfi -i testsrc=size=160x120:rate=25:duration=1 -f lavfi -i sine=duration=1 "
                   "-c:v libx264 -c:a aac " +
                   quoted(file)));
    auto info = probe(file);
    ASSERT_TRUE(info) << info.error().message();
    EXPECT_EQ(info->kind, "video");
    EXPECT_EQ(info->format, "mpegts");
    EXPECT_EQ(info->content_type, "video/mp2t");
    EXPECT_NEAR(info->duration, 1.0, 0.2);
}

TEST(ProbeHostile, TextFileIsUnsupportedMedia) {
    test::TempDir dir;
    auto file = dir.path() / "notes.txt";
    write_file(file, "Dear diary,\nthis is not a podcast. It is a text file with a few lines in it.\n");
    auto info = probe(file);
    EXPECT_EQ(error_code(info), Errc::unsupported_media) << (info ? info->format : info.error().message());
}

TEST(ProbeHostile, PngImageIsUnsupportedMedia) {
    test::TempDir dir;
    auto file = dir.path() / "picture.png";
    ASSERT_TRUE(run_ffmpeg("-f lavfi -i testsrc=size=64x64:duration=0.04 -frames:v 1 " + quoted(file)));
    auto info = probe(file);
    EXPECT_EQ(error_code(info), Errc::unsupported_media) << (info ? info->format : info.error().message());
}

TEST(ProbeHostile, SinglePictureInMatroskaIsUnsupportedMedia) {
    test::TempDir dir;
    auto file = dir.path() / "picture.mkv";
    ASSERT_TRUE(run_ffmpeg("-f lavfi -i testsrc=size=64x64:duration=0.04 -frames:v 1 -c:v png " + quoted(file)));
    auto info = probe(file);
    EXPECT_EQ(error_code(info), Errc::unsupported_media) << (info ? info->format : info.error().message());
}

TEST(ProbeHostile, EmptyFileIsUnsupportedMedia) {
    test::TempDir dir;
    auto file = dir.path() / "empty.mp3";
    write_file(file, "");
    auto info = probe(file);
    EXPECT_EQ(error_code(info), Errc::unsupported_media) << (info ? info->format : info.error().message());
}

TEST(ProbeHostile, RandomBytesAreUnsupportedMedia) {
    test::TempDir dir;
    auto file = dir.path() / "noise.bin";
    std::mt19937 random(20261121);  // fixed: the same bytes on every run
    std::string bytes(64 * 1024, '\0');
    for (char& byte : bytes) byte = static_cast<char>(random() & 0xff);
    write_file(file, bytes);
    auto info = probe(file);
    EXPECT_EQ(error_code(info), Errc::unsupported_media) << (info ? info->format : info.error().message());
}

TEST(ProbeHostile, TruncatedMp4IsUnsupportedMedia) {
    test::TempDir dir;
    auto whole = make_mp4(dir, "1");
    auto file = dir.path() / "truncated.mp4";
    write_file(file, read_file(whole).substr(0, 2048));
    auto info = probe(file);
    EXPECT_EQ(error_code(info), Errc::unsupported_media) << (info ? info->format : info.error().message());
}

TEST(ProbeHostile, FileEndingInsideTheFirstMp3FrameHeaderIsUnsupportedMedia) {
    test::TempDir dir;
    auto file = dir.path() / "one_byte.mp3";
    write_file(file, "x");
    auto info = probe(file);
    EXPECT_EQ(error_code(info), Errc::unsupported_media) << (info ? info->format : info.error().message());
}

TEST(ProbeHostile, WavWithAnUnknownCodecTagHasNoDecoder) {
    test::TempDir dir;
    auto file = dir.path() / "mystery.wav";
    write_file(file, mono_s16_wav(44'100, 44'100, 88'200, 0xbeef));
    auto info = probe(file);
    ASSERT_FALSE(info) << info->format;
    EXPECT_EQ(info.error().code(), Errc::unsupported_media);
    EXPECT_NE(info.error().message().find("no decoder"), std::string::npos) << info.error().message();
}

TEST(ProbeHostile, PlaylistNamingOtherFilesIsNotFollowed) {
    test::TempDir dir;
    auto segment = dir.path() / "segment.ts";
    ASSERT_TRUE(run_ffmpeg("-f lavfi -i sine=duration=1 -c:a aac -f mpegts " + quoted(segment)));
    auto file = dir.path() / "playlist.m3u8";
    write_file(file, "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n" + segment.string() + "\n#EXT-X-ENDLIST\n");
    auto info = probe(file);
    ASSERT_FALSE(info) << info->format;
    EXPECT_EQ(info.error().code(), Errc::unsupported_media);
    EXPECT_NE(info.error().message().find("refers to other files"), std::string::npos) << info.error().message();
}

TEST(ProbeHostile, SessionDescriptionOpensNoNetworkStream) {
    test::TempDir dir;
    auto file = dir.path() / "stream.sdp";
    write_file(file,
               "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=probe\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
               "m=audio 5004 RTP/AVP 0\r\n");
    auto const start = steady_clock::now();
    auto info = probe(file, ProbeLimits{.timeout = 2s});
    EXPECT_LT(steady_clock::now() - start, 1s) << "waited for packets instead of refusing the protocol";
    EXPECT_EQ(error_code(info), Errc::unsupported_media) << (info ? info->format : info.error().message());
}

TEST(ProbeLimits, ByteBudgetEndsTheFileBeforeAnIndexAtTheEnd) {
    test::TempDir dir;
    auto file = make_mp4(dir, "10");
    ASSERT_TRUE(probe(file)) << "the whole file is fine";
    auto const start = steady_clock::now();
    auto info = probe(file, ProbeLimits{.max_bytes = 4096});
    EXPECT_LT(steady_clock::now() - start, never_slower_than);
    EXPECT_EQ(error_code(info), Errc::unsupported_media) << (info ? info->format : info.error().message());
}

TEST(ProbeLimits, ZeroTimeoutIsTimeout) {
    test::TempDir dir;
    auto file = dir.path() / "tone.wav";
    write_file(file, mono_s16_wav(44'100, 44'100));
    auto info = probe(file, ProbeLimits{.timeout = 0ms});
    EXPECT_EQ(error_code(info), Errc::timeout) << (info ? info->format : info.error().message());
}

TEST(ProbeLimits, OneMillisecondTimeoutEndsInTimeoutOrSuccessPromptly) {
    test::TempDir dir;
    auto file = make_mp4(dir, "2");
    auto const start = steady_clock::now();
    auto info = probe(file, ProbeLimits{.timeout = 1ms});
    EXPECT_LT(steady_clock::now() - start, never_slower_than);
    if (!info)
        EXPECT_EQ(info.error().code(), Errc::timeout) << info.error().message();
    else
        EXPECT_EQ(info->video->width, 320);
}

TEST(ProbeFile, MissingFileIsNotFound) {
    test::TempDir dir;
    auto info = probe(dir.path() / "absent.wav");
    EXPECT_EQ(error_code(info), Errc::not_found);
}

TEST(ProbeFile, NamedPipeIsRefusedWithoutWaitingForAWriter) {
    test::TempDir dir;
    auto fifo = dir.path() / "pipe.wav";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    auto info = probe(fifo);
    EXPECT_EQ(error_code(info), Errc::invalid_argument);
}

TEST(ProbeFile, DirectoryIsInvalidArgument) {
    test::TempDir dir;
    auto info = probe(dir.path());
    EXPECT_EQ(error_code(info), Errc::invalid_argument);
}

TEST(ProbeJson, MediaInfoHasTheShapeOfTheApiMediaObject) {
    MediaInfo info{.kind = "audio",
                   .format = "wav",
                   .content_type = "audio/wav",
                   .duration = 60.0,
                   .bit_rate = 705'600,
                   .audio = AudioInfo{.codec = "pcm_s16le", .sample_rate = 44'100, .channels = 1, .bit_rate = 705'600}};
    auto const expected = boost::json::parse(R"({
        "kind": "audio", "format": "wav", "content_type": "audio/wav", "duration": 60.0, "bit_rate": 705600,
        "audio": {"codec": "pcm_s16le", "sample_rate": 44100, "channels": 1, "bit_rate": 705600},
        "video": null, "has_cover_art": false})");
    EXPECT_EQ(boost::json::value(to_json(info)), expected);
}

TEST(ProbeJson, VideoInfoListsCodecSizeRateAndBitRate) {
    VideoInfo info{.codec = "h264", .width = 853, .height = 479, .fps = 25.0, .bit_rate = 1'000'000};
    auto const expected =
        boost::json::parse(R"({"codec": "h264", "width": 853, "height": 479, "fps": 25.0, "bit_rate": 1000000})");
    EXPECT_EQ(boost::json::value(to_json(info)), expected);
}

}  // namespace
}  // namespace onda::media::av
