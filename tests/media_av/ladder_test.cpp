// The ladder on real files made by the ffmpeg command line; every output is read back with ffprobe
// and decoded with ffmpeg, as a player would.
#include "media/av/transcode/ladder.hpp"

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "media/transcode/playlist.hpp"
#include "support/media_tools.hpp"
#include "support/temp_dir.hpp"

namespace onda::media::av {
namespace {

using test::decodes_cleanly;
using test::output_of;
using test::probed_duration;
using test::quoted;
using test::read_file;
using test::run_ffmpeg;

namespace fs = std::filesystem;

// What ffprobe says of the streams of `file`: "-show_entries stream=…" values as CSV lines. A
// playlist's streams are listed once more inside its program; the first listing is kept.
std::string streams_of(fs::path const& file, std::string const& entries) {
    auto text = output_of("ffprobe -v error -show_entries stream=" + entries + " -of csv=p=0 " + quoted(file));
    auto const program = text.find("\n\n");
    return program == std::string::npos ? text : text.substr(0, program + 1);
}

class Ladder : public ::testing::Test {
protected:
    fs::path input(std::string const& name) const { return dir_.path() / name; }
    fs::path out() const { return dir_.path() / "out"; }

    Result<LadderResult> run(fs::path const& source, LadderOptions options = {}) {
        fs::create_directories(out());
        return blocking::run_ladder(source, out(), options, [this](double fraction) {
            EXPECT_GE(fraction, last_progress_);
            EXPECT_LE(fraction, 1.0);
            last_progress_ = fraction;
        });
    }

    std::vector<std::string> rendition_names(LadderResult const& result) const {
        std::vector<std::string> names;
        for (auto const& rendition : result.renditions) names.emplace_back(rendition.at("name").as_string());
        return names;
    }

    test::TempDir dir_;
    double last_progress_ = 0;
};

TEST_F(Ladder, a_stereo_wav_gets_hls_progressive_files_and_peaks_that_all_play_at_its_length) {
    ASSERT_TRUE(
        run_ffmpeg("-f lavfi -i 'sine=frequency=440:sample_rate=48000:duration=9' -ac 2 " + quoted(input("tone.wav"))));
    auto result = run(input("tone.wav"));
    ASSERT_TRUE(result) << result.error().message();
    EXPECT_EQ(rendition_names(*result), (std::vector<std::string>{"aac-64", "aac-128", "aac-320", "mp3-128", "mp3-192",
                                                                  "mp3-320", "opus-160", "flac"}));
    EXPECT_TRUE(result->hls);
    EXPECT_TRUE(result->waveform);
    EXPECT_FALSE(result->thumbnail);
    EXPECT_DOUBLE_EQ(last_progress_, 1.0);

    for (std::string rung : {"aac-64", "aac-128", "aac-320"}) {
        auto playlist = out() / "hls" / rung / "index.m3u8";
        EXPECT_NEAR(probed_duration(playlist), 9.0, 0.1) << rung;
        EXPECT_TRUE(decodes_cleanly(playlist));
        EXPECT_NE(read_file(playlist).find("#EXT-X-PLAYLIST-TYPE:VOD"), std::string::npos);
        EXPECT_NE(read_file(playlist).find("#EXT-X-ENDLIST"), std::string::npos);
    }
    for (std::string file : {"mp3-128.mp3", "mp3-192.mp3", "mp3-320.mp3", "opus-160.ogg", "flac.flac"}) {
        EXPECT_NEAR(probed_duration(out() / "files" / file), 9.0, 0.1) << file;
        EXPECT_TRUE(decodes_cleanly(out() / "files" / file));
    }
    // CBR MP3: the size follows from the bit rate (frames of 1152 samples at 48 kHz, 320 kbit/s).
    auto const mp3_size = fs::file_size(out() / "files" / "mp3-320.mp3");
    EXPECT_NEAR(double(mp3_size), 9.0 * 320'000 / 8, 320'000 / 8 * 0.1);
    auto const sample_rate = streams_of(out() / "hls" / "aac-64" / "index.m3u8", "sample_rate");
    EXPECT_EQ(sample_rate, "22050\n");

    auto master = read_file(out() / "hls" / "master.m3u8");
    EXPECT_EQ(playlist_segments(master).size(), 0u);  // a master lists variants, not segments
    for (std::string rung : {"aac-64", "aac-128", "aac-320"})
        EXPECT_NE(master.find(rung + "/index.m3u8"), std::string::npos) << master;
    EXPECT_NE(master.find("CODECS=\"mp4a.40.2\""), std::string::npos);

    auto waveform = boost::json::parse(read_file(out() / "waveform.json")).as_object();
    EXPECT_NEAR(waveform.at("duration").to_number<double>(), 9.0, 0.01);
    auto const& peaks = waveform.at("peaks").as_array();
    EXPECT_EQ(peaks.size(), 90u);
    // ffmpeg's sine source plays at 1/8 of full scale, and -ac 2 spreads it over two channels at -3 dB.
    EXPECT_NEAR(peaks.at(40).to_number<double>(), 0.125 / std::sqrt(2.0), 0.005);
    for (auto const& file : result->files) EXPECT_TRUE(fs::is_regular_file(out() / file)) << file;
}

TEST_F(Ladder, a_video_gets_aligned_h264_renditions_below_its_height_and_a_poster) {
    ASSERT_TRUE(
        run_ffmpeg("-f lavfi -i testsrc=size=1280x720:rate=25:duration=10 -f lavfi -i "
                   "'sine=frequency=300:sample_rate=44100:duration=10' -c:v libx264 -preset ultrafast "
                   "-g 250 -c:a aac -shortest " +
                   quoted(input("clip.mp4"))));
    auto result = run(input("clip.mp4"));
    ASSERT_TRUE(result) << result.error().message();
    EXPECT_EQ(rendition_names(*result), (std::vector<std::string>{"720p", "480p", "360p"}));
    EXPECT_TRUE(result->thumbnail);
    EXPECT_FALSE(result->waveform);

    std::vector<PlaylistSegment> first;
    for (std::string rung : {"720p", "480p", "360p"}) {
        auto playlist = out() / "hls" / rung / "index.m3u8";
        EXPECT_NEAR(probed_duration(playlist), 10.0, 0.1) << rung;
        EXPECT_TRUE(decodes_cleanly(playlist));
        auto streams = streams_of(playlist, "codec_name");
        EXPECT_EQ(streams, "h264\naac\n") << rung;
        // Segments start on the same frames in every rendition, so a player switches cleanly.
        auto segments = playlist_segments(read_file(playlist));
        if (first.empty()) first = segments;
        ASSERT_EQ(segments.size(), first.size()) << rung;
        for (std::size_t i = 0; i < segments.size(); ++i) EXPECT_DOUBLE_EQ(segments[i].duration, first[i].duration);
    }
    EXPECT_EQ(first.size(), 3u);  // 4 s segments of a 10 s clip
    auto master = read_file(out() / "hls" / "master.m3u8");
    EXPECT_NE(master.find("RESOLUTION=1280x720"), std::string::npos) << master;
    EXPECT_NE(master.find("RESOLUTION=854x480"), std::string::npos);
    EXPECT_NE(master.find("FRAME-RATE=25.000"), std::string::npos);
    EXPECT_NE(master.find("CODECS=\"avc1.64"), std::string::npos);
    EXPECT_EQ(master.find("1080p"), std::string::npos);
    auto size = streams_of(out() / "thumbnail.jpg", "width,height");
    EXPECT_EQ(size, "1280,720\n");
}

TEST_F(Ladder, an_odd_sized_video_without_sound_gets_one_even_rendition) {
    ASSERT_TRUE(
        run_ffmpeg("-f lavfi -i testsrc=size=853x479:rate=30:duration=3 -c:v libx264 -preset ultrafast "
                   "-pix_fmt yuv444p " +
                   quoted(input("odd.mkv"))));
    auto result = run(input("odd.mkv"));
    ASSERT_TRUE(result) << result.error().message();
    EXPECT_EQ(rendition_names(*result), (std::vector<std::string>{"360p"}));
    auto playlist = out() / "hls" / "360p" / "index.m3u8";
    EXPECT_EQ(streams_of(playlist, "codec_name,width,height"), "h264,642,360\n");
    EXPECT_TRUE(decodes_cleanly(playlist));
    auto master = read_file(out() / "hls" / "master.m3u8");
    EXPECT_EQ(master.find("mp4a"), std::string::npos) << master;
}

TEST_F(Ladder, audio_with_cover_art_gets_the_art_as_its_thumbnail) {
    ASSERT_TRUE(run_ffmpeg("-f lavfi -i testsrc=size=300x300:duration=1 -frames:v 1 " + quoted(input("cover.png"))));
    ASSERT_TRUE(run_ffmpeg("-f lavfi -i 'sine=sample_rate=44100:duration=3' -i " + quoted(input("cover.png")) +
                           " -map 0 -map 1 -c:a libmp3lame -b:a 128k -c:v png -disposition:v attached_pic " +
                           quoted(input("song.mp3"))));
    auto result = run(input("song.mp3"));
    ASSERT_TRUE(result) << result.error().message();
    EXPECT_TRUE(result->thumbnail);
    EXPECT_TRUE(result->waveform);
    EXPECT_EQ(streams_of(out() / "thumbnail.jpg", "codec_name,width,height"), "mjpeg,300,300\n");
    // A 128 kbit/s source: nothing above it, and no FLAC from a lossy file.
    EXPECT_EQ(rendition_names(*result), (std::vector<std::string>{"aac-64", "aac-128", "mp3-128", "opus-160"}));
}

TEST_F(Ladder, eight_channels_are_downmixed) {
    ASSERT_TRUE(
        run_ffmpeg("-f lavfi -i 'sine=sample_rate=48000:duration=2' -af 'pan=7.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|"
                   "c5=c0|c6=c0|c7=c0' " +
                   quoted(input("surround.wav"))));
    auto result = run(input("surround.wav"));
    ASSERT_TRUE(result) << result.error().message();
    EXPECT_EQ(streams_of(out() / "files" / "mp3-128.mp3", "channels"), "2\n");
    EXPECT_EQ(streams_of(out() / "files" / "flac.flac", "channels"), "8\n");
    EXPECT_TRUE(decodes_cleanly(out() / "hls" / "aac-320" / "index.m3u8"));
}

TEST_F(Ladder, a_truncated_file_makes_a_ladder_of_what_it_holds) {
    ASSERT_TRUE(run_ffmpeg("-f lavfi -i 'sine=sample_rate=44100:duration=10' -c:a libmp3lame -b:a 128k " +
                           quoted(input("whole.mp3"))));
    auto whole = read_file(input("whole.mp3"));
    std::ofstream(input("half.mp3"), std::ios::binary).write(whole.data(), static_cast<long>(whole.size() / 2));
    auto result = run(input("half.mp3"));
    ASSERT_TRUE(result) << result.error().message();
    EXPECT_NEAR(probed_duration(out() / "files" / "mp3-128.mp3"), 5.0, 0.2);
    EXPECT_TRUE(decodes_cleanly(out() / "hls" / "aac-128" / "index.m3u8"));
}

TEST_F(Ladder, a_wav_whose_header_claims_hours_ends_at_its_real_length) {
    ASSERT_TRUE(run_ffmpeg("-f lavfi -i 'sine=sample_rate=44100:duration=2' " + quoted(input("short.wav"))));
    auto bytes = read_file(input("short.wav"));
    // The RIFF and data sizes say 2 GB.
    for (std::size_t at : {std::size_t{4}, bytes.find("data") + 4})
        for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<char>(i == 3 ? 0x7f : 0xff);
    std::ofstream(input("liar.wav"), std::ios::binary).write(bytes.data(), static_cast<long>(bytes.size()));
    auto result = run(input("liar.wav"));
    ASSERT_TRUE(result) << result.error().message();
    EXPECT_NEAR(probed_duration(out() / "hls" / "aac-128" / "index.m3u8"), 2.0, 0.1);
    auto waveform = boost::json::parse(read_file(out() / "waveform.json")).as_object();
    EXPECT_NEAR(waveform.at("duration").to_number<double>(), 2.0, 0.01);
}

TEST_F(Ladder, zero_length_audio_fails_with_a_reason) {
    ASSERT_TRUE(run_ffmpeg("-f lavfi -i 'sine=sample_rate=44100:duration=1' -t 0 " + quoted(input("empty.wav"))));
    auto result = run(input("empty.wav"));
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code(), Errc::unsupported_media);
    EXPECT_NE(result.error().message().find("no audio could be decoded"), std::string::npos)
        << result.error().message();
}

TEST_F(Ladder, bytes_that_are_not_media_fail_with_a_reason) {
    std::ofstream(input("noise.bin"), std::ios::binary) << std::string(100'000, '\x5a');
    auto result = run(input("noise.bin"));
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code(), Errc::unsupported_media) << result.error().message();
}

TEST_F(Ladder, damaged_packets_cost_their_frames_not_the_file) {
    ASSERT_TRUE(run_ffmpeg("-f lavfi -i testsrc=size=320x240:rate=25:duration=4 -c:v mpeg2video -f mpegts " +
                           quoted(input("clip.ts"))));
    auto bytes = read_file(input("clip.ts"));
    // Overwrite a stretch in the middle with garbage (keeping TS sync bytes out of it).
    for (std::size_t i = bytes.size() / 2; i < bytes.size() / 2 + 20'000; ++i) bytes[i] = static_cast<char>(i * 7);
    std::ofstream(input("damaged.ts"), std::ios::binary).write(bytes.data(), static_cast<long>(bytes.size()));
    auto result = run(input("damaged.ts"));
    ASSERT_TRUE(result) << result.error().message();
    EXPECT_EQ(rendition_names(*result), (std::vector<std::string>{"240p"}));
    EXPECT_TRUE(decodes_cleanly(out() / "hls" / "240p" / "index.m3u8"));
}

}  // namespace
}  // namespace onda::media::av
