// An encoder lane on its own thread: frames in, encoded (or measured) out; a lane that fails stops
// taking frames and reports why; a lane dropped mid-way does not hang.
#include <gtest/gtest.h>

#include <cmath>

extern "C" {
#include <libavutil/channel_layout.h>
}

#include "media/av/transcode/lane.hpp"
#include "media/av/transcode/outputs.hpp"
#include "media/transcode/waveform.hpp"
#include "support/temp_dir.hpp"

namespace onda::media::av {
namespace {

constexpr int rate = 48'000;
constexpr int samples_per_frame = 960;

// One frame of a 440 Hz tone at half scale, planar float stereo, starting at sample `at`.
Frame tone(std::int64_t at) {
    Frame frame(av_frame_alloc());
    frame->format = AV_SAMPLE_FMT_FLTP;
    frame->sample_rate = rate;
    av_channel_layout_default(&frame->ch_layout, 2);
    frame->nb_samples = samples_per_frame;
    frame->pts = at;
    EXPECT_EQ(av_frame_get_buffer(frame.get(), 0), 0);
    for (int channel = 0; channel < 2; ++channel) {
        auto* samples = reinterpret_cast<float*>(frame->extended_data[channel]);
        for (int i = 0; i < samples_per_frame; ++i)
            samples[i] = 0.5F * float(std::sin(2 * M_PI * 440 * double(at + i) / rate));
    }
    return frame;
}

// An MP3 file being written: an encoder at `sample_rate` and its started muxer.
struct Mp3Output {
    std::unique_ptr<Muxer> muxer;
    std::unique_ptr<EncodedTrack> track;
};

Mp3Output mp3_output(std::filesystem::path const& path, int sample_rate) {
    PlannedAudio const plan{.name = "mp3-128",
                            .codec = "mp3",
                            .container = "mp3",
                            .bit_rate = 128'000,
                            .sample_rate = sample_rate,
                            .channels = 2};
    auto muxer = Muxer::file(path, "mp3");
    auto track = EncodedTrack::audio(plan, false);
    if (!muxer || !track) return {};
    if (!(*track)->feed_to(**muxer) || !(*muxer)->start()) return {};
    return {std::move(*muxer), std::move(*track)};
}

TEST(EncoderLane, MeasuresEveryFrameItIsGiven) {
    PeakMeter peaks(rate, 10);
    Frame first = tone(0);
    auto lane = EncoderLane::start(*first, AVRational{1, rate},
                                   {.chain = "aformat=sample_fmts=fltp", .peaks = &peaks, .queue_frames = 4});
    ASSERT_TRUE(lane) << lane.error().message();
    // A second of audio through a queue of four frames: push() waits for the lane, nothing is lost.
    for (std::int64_t at = 0; at < rate; at += samples_per_frame) ASSERT_TRUE((*lane)->push(*tone(at)));
    ASSERT_TRUE((*lane)->finish());
    std::string const json = peaks.to_json();
    EXPECT_NE(json.find("\"duration\":1"), std::string::npos) << json;
    EXPECT_NE(json.find("0.5"), std::string::npos) << json;
}

TEST(EncoderLane, EncodesIntoItsMuxer) {
    test::TempDir const temp;
    auto const& dir = temp.path();
    {
        auto output = mp3_output(dir / "out.mp3", 44'100);
        ASSERT_TRUE(output.track);
        Frame first = tone(0);
        auto lane = EncoderLane::start(
            *first, AVRational{1, rate},
            {.chain = "aresample=44100,aformat=sample_fmts=fltp:sample_rates=44100:channel_layouts=stereo",
             .track = output.track.get()});
        ASSERT_TRUE(lane) << lane.error().message();
        for (std::int64_t at = 0; at < 2 * rate; at += samples_per_frame) ASSERT_TRUE((*lane)->push(*tone(at)));
        ASSERT_TRUE((*lane)->finish());
        ASSERT_TRUE(output.muxer->finish());
    }
    // Two seconds at 128 kbit/s: about 32 kB.
    auto const size = std::filesystem::file_size(dir / "out.mp3");
    EXPECT_GT(size, 28'000U);
    EXPECT_LT(size, 36'000U);
}

TEST(EncoderLane, ALaneWhoseOutputFailsStopsWithTheReason) {
    // A full disk: the muxer's writes fail once its buffer is flushed.
    auto output = mp3_output("/dev/full", rate);
    ASSERT_TRUE(output.track);
    Frame first = tone(0);
    auto lane =
        EncoderLane::start(*first, AVRational{1, rate},
                           {.chain = "aformat=sample_fmts=fltp", .track = output.track.get(), .queue_frames = 2});
    ASSERT_TRUE(lane) << lane.error().message();
    bool refused = false;
    for (std::int64_t at = 0; at < 30 * rate && !refused; at += samples_per_frame) refused = !(*lane)->push(*tone(at));
    EXPECT_TRUE(refused) << "push() kept taking frames after the output failed";
    auto finished = (*lane)->finish();
    ASSERT_FALSE(finished);
    EXPECT_NE(finished.error().message().find("write"), std::string::npos) << finished.error().message();
}

TEST(EncoderLane, ALaneDroppedWithFramesQueuedStops) {
    PeakMeter peaks(rate, 10);
    Frame first = tone(0);
    auto lane = EncoderLane::start(*first, AVRational{1, rate},
                                   {.chain = "aformat=sample_fmts=fltp", .peaks = &peaks, .queue_frames = 64});
    ASSERT_TRUE(lane);
    for (std::int64_t at = 0; at < 20 * samples_per_frame; at += samples_per_frame)
        ASSERT_TRUE((*lane)->push(*tone(at)));
    lane->reset();  // no finish(): the destructor stops the thread without flushing, and returns
}

TEST(EncoderLane, AChainLibavfilterCannotBuildIsAnErrorAtStart) {
    PeakMeter peaks(rate, 10);
    Frame first = tone(0);
    auto lane = EncoderLane::start(*first, AVRational{1, rate}, {.chain = "no_such_filter=1", .peaks = &peaks});
    ASSERT_FALSE(lane);
    EXPECT_NE(lane.error().message().find("no_such_filter"), std::string::npos) << lane.error().message();
}

}  // namespace
}  // namespace onda::media::av
