#include "media/av/transcode/lane.hpp"

#include <pthread.h>
#include <sched.h>

#include <utility>

#include "media/av/transcode/outputs.hpp"
#include "media/transcode/waveform.hpp"

namespace onda::media::av {

Result<std::unique_ptr<EncoderLane>> EncoderLane::start(AVFrame const& first, AVRational time_base, Settings settings) {
    auto chain = settings.video ? FilterChain::video(first, time_base, settings.chain)
                                : FilterChain::audio(first, time_base, settings.chain);
    if (!chain) return chain.error();
    if (settings.track && settings.track->frame_size() > 0) chain->set_frame_size(settings.track->frame_size());
    std::unique_ptr<EncoderLane> lane(new EncoderLane(std::move(*chain), std::move(settings)));
    if (!lane->filtered_) return Error(Errc::internal, "out of memory");
    lane->thread_ = std::thread([raw = lane.get()] { raw->run(); });
    return lane;
}

EncoderLane::EncoderLane(FilterChain chain, Settings settings)
    : chain_(std::move(chain)), settings_(std::move(settings)), filtered_(av_frame_alloc()) {}

EncoderLane::~EncoderLane() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        ended_ = true;
    }
    changed_.notify_all();
    if (thread_.joinable()) thread_.join();
}

bool EncoderLane::push(AVFrame const& frame) {
    Frame reference(av_frame_clone(&frame));
    std::unique_lock lock(mutex_);
    if (!reference && !error_) error_ = Error(Errc::internal, "out of memory");
    changed_.wait(lock, [this] { return error_ || queue_.size() < settings_.queue_frames; });
    if (error_) return false;
    queue_.push_back(std::move(reference));
    lock.unlock();
    changed_.notify_all();
    return true;
}

Result<void> EncoderLane::finish() {
    {
        std::lock_guard lock(mutex_);
        ended_ = true;
    }
    changed_.notify_all();
    if (thread_.joinable()) thread_.join();
    std::lock_guard lock(mutex_);
    if (error_) return *error_;
    return ok();
}

void EncoderLane::run() {
    // Linux takes at most 15 characters.
    ::pthread_setname_np(::pthread_self(), settings_.name.substr(0, 15).c_str());
    // Lanes are throughput work: the slowest one sets the ladder's pace, and under SCHED_BATCH the
    // fast lanes, woken for every frame, no longer preempt it (measured: the AAC 320k lane of an
    // audio ladder got 87 % of a core without it). Unprivileged; a refusal only costs speed.
    sched_param const batch{};
    ::pthread_setschedparam(::pthread_self(), SCHED_BATCH, &batch);
    Result<void> result = run_chain();
    std::lock_guard lock(mutex_);
    if (!result) {
        if (!error_) error_ = result.error();
        queue_.clear();  // the decoder's frames go back to it now, not when the ladder ends
    }
    changed_.notify_all();
}

Result<void> EncoderLane::run_chain() {
    for (;;) {
        Frame frame;
        {
            std::unique_lock lock(mutex_);
            changed_.wait(lock, [this] { return !queue_.empty() || ended_ || error_; });
            if (stopping_ || error_) return ok();
            if (queue_.empty()) break;  // ended, and everything taken
            frame = std::move(queue_.front());
            queue_.pop_front();
        }
        changed_.notify_all();  // room in the queue
        if (auto filtered = filter(frame.get()); !filtered) return filtered;
    }
    if (auto filtered = filter(nullptr); !filtered) return filtered;
    if (settings_.track) return settings_.track->encode(nullptr);
    return ok();
}

Result<void> EncoderLane::filter(AVFrame* frame) {
    if (auto pushed = chain_.push(frame); !pushed) return pushed;
    for (;;) {
        auto pulled = chain_.pull(*filtered_);
        if (!pulled) return pulled.error();
        if (!*pulled) return ok();
        auto delivered = deliver(*filtered_);
        av_frame_unref(filtered_.get());
        if (!delivered) return delivered;
    }
}

Result<void> EncoderLane::deliver(AVFrame& filtered) {
    if (!settings_.track) {
        settings_.peaks->add(reinterpret_cast<float const* const*>(filtered.extended_data),
                             filtered.ch_layout.nb_channels, filtered.nb_samples);
        return ok();
    }
    AVRational const time_base = settings_.track->context().time_base;
    filtered.pts = av_rescale_q(filtered.pts, chain_.time_base(), time_base);
    if (settings_.video) {
        filtered.pict_type = AV_PICTURE_TYPE_NONE;
        auto const interval = double(settings_.keyframe_interval.count());
        double const at = double(filtered.pts) * av_q2d(time_base);
        if (interval > 0 && at + 0.001 >= next_keyframe_) {
            filtered.pict_type = AV_PICTURE_TYPE_I;
            while (next_keyframe_ <= at + 0.001) next_keyframe_ += interval;
        }
    }
    return settings_.track->encode(&filtered);
}

}  // namespace onda::media::av
