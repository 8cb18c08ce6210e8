// One branch of a ladder on its own thread: a filter chain (aresample/aformat, or scale) and what
// it feeds (an encoder, or the waveform meter). The decoding thread hands every lane a reference to
// each decoded frame (the frames are shared, never copied: that is the ladder's split) and the lanes
// filter and encode side by side, so a ladder uses every core instead of running its encoders one
// after another on the decoding thread.
//
// Each lane's queue is bounded: a lane that falls behind holds up the decoder, not memory. A lane
// that fails stops taking frames and keeps its error for finish().
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/error.hpp"
#include "media/av/libav.hpp"
#include "media/av/transcode/filter_chain.hpp"

namespace onda::media {
class PeakMeter;  // media/transcode/waveform.hpp
}  // namespace onda::media

namespace onda::media::av {

class EncodedTrack;

class EncoderLane {
public:
    struct Settings {
        std::string name;   // the thread's name (top -H, perf): the rendition's, as "aac-128"
        std::string chain;  // libavfilter's text for this branch, e.g. "aresample=44100,aformat=…"
        bool video = false;
        EncodedTrack* track = nullptr;  // the encoder fed; else `peaks`
        PeakMeter* peaks = nullptr;
        // Video: a keyframe is forced at every multiple of this (segment boundaries, alike in every
        // rendition); zero: the encoder's choice.
        std::chrono::seconds keyframe_interval{0};
        std::size_t queue_frames = 16;  // frames waiting before push() blocks
    };

    // Builds the chain for frames like `first` (timestamps in `time_base`) and starts the thread.
    // `track` and `peaks` must outlive the lane.
    static Result<std::unique_ptr<EncoderLane>> start(AVFrame const& first, AVRational time_base, Settings settings);

    // Queues a reference to `frame`; waits while the queue is full. False when the lane has
    // failed (its error comes from finish()).
    bool push(AVFrame const& frame);
    // Ends the input: the lane drains its chain, flushes its encoder and stops. Its result.
    Result<void> finish();

    // A lane not finished (the ladder failed elsewhere) is stopped without flushing.
    ~EncoderLane();
    EncoderLane(EncoderLane const&) = delete;
    EncoderLane& operator=(EncoderLane const&) = delete;

private:
    EncoderLane(FilterChain chain, Settings settings);
    void run();
    Result<void> run_chain();
    Result<void> filter(AVFrame* frame);  // nullptr: the end
    Result<void> deliver(AVFrame& filtered);

    FilterChain chain_;
    Settings settings_;
    double next_keyframe_ = 0;  // seconds
    Frame filtered_;

    std::mutex mutex_;  // guards what follows
    std::condition_variable changed_;
    std::deque<Frame> queue_;
    bool ended_ = false;          // no more frames will come
    bool stopping_ = false;       // give up now (destructor)
    std::optional<Error> error_;  // the lane failed: it takes no more frames

    std::thread thread_;  // last: started once everything above exists
};

}  // namespace onda::media::av
