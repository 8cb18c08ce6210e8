// One pass over the source: demux, decode each stream once, hand every decoded frame to each
// encoder's lane (its own filter chain and thread, see lane.hpp), mux. Then measure the HLS
// renditions and write the master playlist, the waveform and the thumbnail.
#include "media/av/transcode/ladder.hpp"

#include <algorithm>
#include <fstream>
#include <optional>

#include <fmt/format.h>

extern "C" {
#include <libavutil/channel_layout.h>
#include <libswresample/swresample.h>
}

#include "media/av/detail/input_file.hpp"
#include "media/av/transcode/lane.hpp"
#include "media/transcode/ladder_report.hpp"
#include "media/av/transcode/outputs.hpp"
#include "media/transcode/plan.hpp"
#include "media/transcode/playlist.hpp"
#include "media/av/transcode/thumbnail.hpp"
#include "media/transcode/waveform.hpp"

namespace onda::media::av {
namespace {

namespace fs = std::filesystem;

Error decode_error(std::string_view what, int rc) {
    Error error = av_error(rc);
    // Whatever a decoder refuses came from the file's bytes.
    if (error.code() == Errc::internal && rc != AVERROR(ENOMEM))
        return Error(Errc::unsupported_media, error.message()).context(what);
    return error.context(what);
}

struct FreeResampler {
    void operator()(SwrContext* context) const { swr_free(&context); }
};
using Resampler = std::unique_ptr<SwrContext, FreeResampler>;

// libavfilter's chain that brings decoded audio to what `plan` encodes.
std::string audio_branch(PlannedAudio const& plan) {
    char const* format = plan.codec == "opus"   ? "flt"
                         : plan.codec == "flac" ? (plan.bits_per_sample > 16 ? "s32" : "s16")
                                                : "fltp";
    std::string text = fmt::format("aresample={}:resampler=swr,aformat=sample_fmts={}:sample_rates={}",
                                   plan.sample_rate, format, plan.sample_rate);
    if (plan.codec != "flac") text += plan.channels == 1 ? ":channel_layouts=mono" : ":channel_layouts=stereo";
    return text;
}

std::string video_branch(PlannedVideo const& plan) {
    return fmt::format("scale={}:{}:flags=bicubic,format=yuv420p,setsar=1", plan.width, plan.height);
}

bool is_lossless(AVCodecID id) {
    AVCodecDescriptor const* descriptor = avcodec_descriptor_get(id);
    return descriptor && (descriptor->props & AV_CODEC_PROP_LOSSLESS) && !(descriptor->props & AV_CODEC_PROP_LOSSY);
}

Result<CodecContext> open_decoder(AVStream const& stream, unsigned threads) {
    AVCodec const* codec = avcodec_find_decoder(stream.codecpar->codec_id);
    if (!codec)
        return Error(Errc::unsupported_media,
                     std::string("no decoder for ") + avcodec_get_name(stream.codecpar->codec_id));
    CodecContext decoder(avcodec_alloc_context3(codec));
    if (!decoder) return Error(Errc::internal, "out of memory");
    if (int rc = avcodec_parameters_to_context(decoder.get(), stream.codecpar); rc < 0)
        return decode_error("decoder", rc);
    decoder->pkt_timebase = stream.time_base;
    decoder->thread_count = static_cast<int>(threads);
    if (int rc = avcodec_open2(decoder.get(), codec, nullptr); rc < 0) return decode_error("open decoder", rc);
    return decoder;
}

class Ladder {
public:
    Ladder(fs::path out_dir, LadderOptions const& options, LadderProgress const& progress)
        : out_(std::move(out_dir)),
          options_(options),
          progress_(progress),
          frame_(av_frame_alloc()),
          packet_(av_packet_alloc()) {}

    Result<LadderResult> run(fs::path const& source);

private:
    // A rendition's encoder (its muxer is in muxers_).
    template <class Plan>
    struct Output {
        Plan plan;
        std::unique_ptr<EncodedTrack> track;
    };
    using AudioOutput = Output<PlannedAudio>;
    using VideoOutput = Output<PlannedVideo>;

    Result<void> open_source(fs::path const& source);
    Result<void> open_outputs();
    Result<void> read_all();
    Result<void> decode(AVStream const& stream, AVPacket const* packet);
    Result<void> take_audio(AVFrame& frame);
    Result<void> take_video(AVFrame& frame);
    Result<void> start_audio_lanes(AVFrame const& first);
    Result<void> start_video_lanes(AVFrame const& first);
    static Result<void> hand_out(std::vector<std::unique_ptr<EncoderLane>>& lanes, AVFrame const& frame);
    static Result<void> finish_lanes(std::vector<std::unique_ptr<EncoderLane>>& lanes);
    Result<void> finish();
    Result<LadderResult> describe();
    void report(double seconds);

    fs::path out_;
    LadderOptions const& options_;
    LadderProgress const& progress_;

    std::unique_ptr<detail::InputFile> input_;
    AVStream const* audio_stream_ = nullptr;
    AVStream const* video_stream_ = nullptr;
    AVStream const* cover_art_ = nullptr;
    CodecContext audio_decoder_;
    CodecContext video_decoder_;
    LadderPlan plan_;
    double duration_ = 0;  // what the container says; only for progress

    std::vector<std::unique_ptr<Muxer>> muxers_;
    std::vector<AudioOutput> audio_outputs_;
    std::vector<VideoOutput> video_outputs_;
    std::unique_ptr<EncodedTrack> video_audio_;  // the AAC track every video rendition carries
    std::optional<PeakMeter> peaks_;

    // Declared after the tracks and muxers they feed, so they stop first.
    std::vector<std::unique_ptr<EncoderLane>> audio_lanes_;
    std::vector<std::unique_ptr<EncoderLane>> video_lanes_;
    bool video_started_ = false;

    // Audio: frames after the first are made to look like it (a decoder may change rate or layout
    // mid-stream, which a filter graph's source cannot take).
    Frame first_audio_;
    Resampler normalizer_;
    Frame normalized_;
    std::int64_t audio_samples_ = 0;  // pushed into the graph: the next frame's pts
    std::int64_t video_start_ = AV_NOPTS_VALUE;
    std::int64_t last_video_pts_ = AV_NOPTS_VALUE;
    std::int64_t video_frames_ = 0;

    // Thumbnail: the first frame at or past 10 % of the duration, else the first frame of all.
    bool thumbnail_written_ = false;
    Frame first_picture_;

    int reported_permille_ = -5;  // so that 0 is reported
    Frame frame_;
    Packet packet_;
};

Result<void> Ladder::open_source(fs::path const& source) {
    auto input = detail::InputFile::open(source, detail::ReadLimits{});
    if (!input) return input.error();
    input_ = std::move(*input);
    AVFormatContext& context = input_->context();
    if (int rc = avformat_find_stream_info(&context, nullptr); rc < 0) return input_->error(rc);

    auto audio = detail::best_audio_stream(context);
    if (!audio) return audio.error();
    auto video = detail::best_video_stream(context);
    if (!video) return video.error();
    audio_stream_ = *audio;
    video_stream_ = *video;
    if (!audio_stream_ && !video_stream_) return Error(Errc::unsupported_media, "no audio or video stream");
    for (unsigned i = 0; i < context.nb_streams; ++i) {
        AVStream* stream = context.streams[i];
        if (!video_stream_ && !cover_art_ && detail::is_cover_art(*stream)) cover_art_ = stream;
        // The demuxer hands over only the packets that are decoded.
        if (stream != audio_stream_ && stream != video_stream_) stream->discard = AVDISCARD_ALL;
    }
    if (context.duration > 0) duration_ = double(context.duration) / AV_TIME_BASE;

    SourceFacts facts;
    if (audio_stream_) {
        auto decoder = open_decoder(*audio_stream_, 1);
        if (!decoder) return decoder.error();
        audio_decoder_ = std::move(*decoder);
        AVCodecParameters const& codec = *audio_stream_->codecpar;
        facts.has_audio = true;
        facts.sample_rate = codec.sample_rate;
        facts.channels = codec.ch_layout.nb_channels;
        facts.audio_bit_rate = codec.bit_rate;
        facts.lossless = is_lossless(codec.codec_id);
        int const bits = codec.bits_per_raw_sample ? codec.bits_per_raw_sample : codec.bits_per_coded_sample;
        facts.bits_per_sample = bits > 0 ? bits : 16;
        if (facts.sample_rate <= 0 || facts.channels <= 0)
            return Error(Errc::unsupported_media, "the audio stream has no sample rate or channels");
    }
    if (video_stream_) {
        auto decoder = open_decoder(*video_stream_, options_.encoder_threads);
        if (!decoder) return decoder.error();
        video_decoder_ = std::move(*decoder);
        AVCodecParameters const& codec = *video_stream_->codecpar;
        facts.has_video = true;
        facts.width = codec.width;
        facts.height = codec.height;
        if (codec.sample_aspect_ratio.num > 0 && codec.sample_aspect_ratio.den > 0) {
            facts.sar_num = codec.sample_aspect_ratio.num;
            facts.sar_den = codec.sample_aspect_ratio.den;
        }
    }
    plan_ = plan_ladder(facts, options_);
    return ok();
}

Result<void> Ladder::open_outputs() {
    std::error_code ec;
    auto add_muxer = [this](Result<std::unique_ptr<Muxer>> muxer) -> Result<Muxer*> {
        if (!muxer) return muxer.error();
        muxers_.push_back(std::move(*muxer));
        return muxers_.back().get();
    };
    for (auto const& planned : plan_.audio) {
        fs::path const dir = planned.container == "hls" ? out_ / "hls" / planned.name : out_ / "files";
        fs::create_directories(dir, ec);
        if (ec) return Error(Errc::internal, "create " + dir.filename().string() + ": " + ec.message());
        auto muxer = planned.container == "hls"
                         ? add_muxer(Muxer::hls(dir, options_.segment_duration))
                         : add_muxer(Muxer::file(out_ / progressive_file(planned), planned.container));
        if (!muxer) return muxer.error();
        auto track = EncodedTrack::audio(planned, (*muxer)->wants_global_header());
        if (!track) return track.error();
        if (auto fed = (*track)->feed_to(**muxer); !fed) return fed;
        audio_outputs_.push_back({.plan = planned, .track = std::move(*track)});
    }
    if (plan_.video_audio) {
        auto track = EncodedTrack::audio(*plan_.video_audio, true);
        if (!track) return track.error();
        video_audio_ = std::move(*track);
    }
    AVRational frame_rate{0, 1};
    if (video_stream_) {
        frame_rate = av_guess_frame_rate(&input_->context(), const_cast<AVStream*>(video_stream_), nullptr);
        if (frame_rate.num <= 0 || frame_rate.den <= 0) frame_rate = AVRational{0, 1};
    }
    for (auto const& planned : plan_.video) {
        fs::path const dir = out_ / "hls" / planned.name;
        fs::create_directories(dir, ec);
        if (ec) return Error(Errc::internal, "create " + planned.name + ": " + ec.message());
        auto muxer = add_muxer(Muxer::hls(dir, options_.segment_duration));
        if (!muxer) return muxer.error();
        EncodedTrack::VideoSettings const settings{.plan = planned,
                                                   .time_base = video_stream_->time_base,
                                                   .frame_rate = frame_rate,
                                                   .preset = options_.video_preset,
                                                   .threads = options_.encoder_threads};
        auto track = EncodedTrack::video(settings, true);
        if (!track) return track.error();
        if (auto fed = (*track)->feed_to(**muxer); !fed) return fed;
        if (video_audio_)
            if (auto fed = video_audio_->feed_to(**muxer); !fed) return fed;
        video_outputs_.push_back({.plan = planned, .track = std::move(*track)});
    }
    if (plan_.waveform) peaks_.emplace(audio_stream_->codecpar->sample_rate, options_.peaks_per_second);
    for (auto& muxer : muxers_)
        if (auto started = muxer->start(); !started) return started;
    return ok();
}

void Ladder::report(double seconds) {
    if (!progress_ || duration_ <= 0) return;
    // The container's duration may be wrong (a file can claim hours and hold seconds): never 100 %
    // before the end. Audio and video run a little apart; progress follows the one ahead.
    int const permille = std::clamp(static_cast<int>(seconds / duration_ * 1000), 0, 990);
    if (permille < reported_permille_ + 5) return;
    reported_permille_ = permille;
    progress_(permille / 1000.0);
}

Result<void> Ladder::start_audio_lanes(AVFrame const& first) {
    AVRational const time_base{1, first.sample_rate};
    auto add = [&](std::string name, std::string chain, EncodedTrack* track, PeakMeter* peaks) -> Result<void> {
        // Audio frames are small; a deeper queue lets the decoder run ahead of a slow encoder.
        auto lane = EncoderLane::start(
            first, time_base,
            {.name = std::move(name), .chain = std::move(chain), .track = track, .peaks = peaks, .queue_frames = 64});
        if (!lane) return lane.error();
        audio_lanes_.push_back(std::move(*lane));
        return ok();
    };
    for (auto& output : audio_outputs_)
        if (auto added = add(output.plan.name, audio_branch(output.plan), output.track.get(), nullptr); !added)
            return added;
    if (video_audio_)
        if (auto added = add("aac", audio_branch(*plan_.video_audio), video_audio_.get(), nullptr); !added)
            return added;
    if (peaks_)
        if (auto added = add("waveform", "aformat=sample_fmts=fltp", nullptr, &*peaks_); !added) return added;
    return ok();
}

Result<void> Ladder::start_video_lanes(AVFrame const& first) {
    for (auto& output : video_outputs_) {
        auto lane = EncoderLane::start(first, video_stream_->time_base,
                                       {.name = output.plan.name,
                                        .chain = video_branch(output.plan),
                                        .video = true,
                                        .track = output.track.get(),
                                        .keyframe_interval = options_.segment_duration});
        if (!lane) return lane.error();
        video_lanes_.push_back(std::move(*lane));
    }
    return ok();
}

Result<void> Ladder::hand_out(std::vector<std::unique_ptr<EncoderLane>>& lanes, AVFrame const& frame) {
    for (auto& lane : lanes) {
        if (lane->push(frame)) continue;
        Result<void> failed = lane->finish();  // its error
        lanes.clear();                         // the others stop without flushing
        return failed;
    }
    return ok();
}

Result<void> Ladder::finish_lanes(std::vector<std::unique_ptr<EncoderLane>>& lanes) {
    Result<void> result = ok();
    for (auto& lane : lanes)
        if (auto finished = lane->finish(); !finished && result) result = finished;
    lanes.clear();
    return result;
}

Result<void> Ladder::take_audio(AVFrame& decoded) {
    AVFrame* frame = &decoded;
    if (!first_audio_) {
        first_audio_.reset(av_frame_clone(&decoded));
        if (!first_audio_) return Error(Errc::internal, "out of memory");
        if (auto started = start_audio_lanes(decoded); !started) return started;
        if (audio_lanes_.empty()) return ok();
        AVRational const time_base{1, decoded.sample_rate};
        // Audio that starts after the container does (a video's first seconds without sound)
        // keeps its place.
        std::int64_t const start = input_->context().start_time;
        if (decoded.best_effort_timestamp != AV_NOPTS_VALUE && start != AV_NOPTS_VALUE) {
            auto const at = av_rescale_q(decoded.best_effort_timestamp, audio_stream_->time_base, time_base) -
                            av_rescale_q(start, AV_TIME_BASE_Q, time_base);
            audio_samples_ = std::max<std::int64_t>(0, at);
        }
    } else if (decoded.format != first_audio_->format || decoded.sample_rate != first_audio_->sample_rate ||
               av_channel_layout_compare(&decoded.ch_layout, &first_audio_->ch_layout) != 0) {
        if (!normalized_) normalized_.reset(av_frame_alloc());
        if (!normalizer_) normalizer_.reset(swr_alloc());
        if (!normalized_ || !normalizer_) return Error(Errc::internal, "out of memory");
        av_frame_unref(normalized_.get());
        normalized_->format = first_audio_->format;
        normalized_->sample_rate = first_audio_->sample_rate;
        if (int rc = av_channel_layout_copy(&normalized_->ch_layout, &first_audio_->ch_layout); rc < 0)
            return decode_error("audio", rc);
        int rc = swr_convert_frame(normalizer_.get(), normalized_.get(), &decoded);
        if (rc == AVERROR_INPUT_CHANGED || rc == AVERROR_OUTPUT_CHANGED) {
            swr_close(normalizer_.get());
            if (rc = swr_config_frame(normalizer_.get(), normalized_.get(), &decoded); rc >= 0)
                rc = swr_convert_frame(normalizer_.get(), normalized_.get(), &decoded);
        }
        if (rc < 0) return decode_error("audio format change", rc);
        frame = normalized_.get();
    }
    if (audio_lanes_.empty() || frame->nb_samples <= 0) return ok();
    frame->pts = audio_samples_;
    audio_samples_ += frame->nb_samples;
    if (auto handed = hand_out(audio_lanes_, *frame); !handed) return handed;
    report(double(audio_samples_) / first_audio_->sample_rate);
    return ok();
}

Result<void> Ladder::take_video(AVFrame& frame) {
    AVRational const time_base = video_stream_->time_base;
    std::int64_t pts = frame.best_effort_timestamp;
    if (video_start_ == AV_NOPTS_VALUE) {
        std::int64_t const start = input_->context().start_time;
        video_start_ = start != AV_NOPTS_VALUE ? av_rescale_q(start, AV_TIME_BASE_Q, time_base)
                                               : (pts != AV_NOPTS_VALUE ? pts : 0);
    }
    if (pts == AV_NOPTS_VALUE) pts = last_video_pts_ == AV_NOPTS_VALUE ? video_start_ : last_video_pts_ + 1;
    pts = std::max<std::int64_t>(pts - video_start_, 0);
    // Encoders need strictly increasing timestamps; a frame that goes back in time is dropped.
    if (last_video_pts_ != AV_NOPTS_VALUE && pts <= last_video_pts_) return ok();
    last_video_pts_ = pts;
    frame.pts = pts;
    ++video_frames_;
    double const seconds = double(pts) * av_q2d(time_base);

    if (!thumbnail_written_) {
        double const poster_at = duration_ * 0.1;
        if (duration_ > 0 && seconds >= poster_at) {
            if (auto written = write_jpeg(frame, out_ / "thumbnail.jpg"); !written) return written;
            thumbnail_written_ = true;
            first_picture_.reset();
        } else if (!first_picture_) {
            first_picture_.reset(av_frame_clone(&frame));
        }
    }
    if (!video_started_) {
        video_started_ = true;
        if (auto started = start_video_lanes(frame); !started) return started;
    }
    if (auto handed = hand_out(video_lanes_, frame); !handed) return handed;
    report(seconds);
    return ok();
}

Result<void> Ladder::decode(AVStream const& stream, AVPacket const* packet) {
    bool const audio = &stream == audio_stream_;
    AVCodecContext* decoder = audio ? audio_decoder_.get() : video_decoder_.get();
    int rc = avcodec_send_packet(decoder, packet);
    // A damaged packet loses its frames, not the file: decoding goes on with the next one.
    if (rc < 0 && rc != AVERROR_EOF && rc != AVERROR_INVALIDDATA && rc != AVERROR(EAGAIN))
        return decode_error("decode", rc);
    for (;;) {
        rc = avcodec_receive_frame(decoder, frame_.get());
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return ok();
        if (rc == AVERROR_INVALIDDATA) continue;
        if (rc < 0) return decode_error("decode", rc);
        auto taken = audio ? take_audio(*frame_) : take_video(*frame_);
        av_frame_unref(frame_.get());
        if (!taken) return taken;
    }
}

Result<void> Ladder::read_all() {
    AVFormatContext& context = input_->context();
    for (;;) {
        int rc = av_read_frame(&context, packet_.get());
        // A read error past the headers is a truncated or damaged file: what was read is kept.
        if (rc < 0) break;
        AVStream const* stream = context.streams[packet_->stream_index];
        Result<void> decoded = ok();
        if (stream == audio_stream_ || stream == video_stream_) decoded = decode(*stream, packet_.get());
        av_packet_unref(packet_.get());
        if (!decoded) return decoded;
    }
    if (audio_stream_)
        if (auto decoded = decode(*audio_stream_, nullptr); !decoded) return decoded;
    if (video_stream_)
        if (auto decoded = decode(*video_stream_, nullptr); !decoded) return decoded;
    return ok();
}

Result<void> Ladder::finish() {
    if (audio_stream_ && audio_samples_ == 0 && (!video_stream_ || video_audio_))
        return Error(Errc::unsupported_media, "no audio could be decoded");
    if (video_stream_ && video_frames_ == 0) return Error(Errc::unsupported_media, "no video frame could be decoded");
    // Each lane drains its chain and flushes its encoder; the muxers end once every lane has.
    if (auto finished = finish_lanes(audio_lanes_); !finished) return finished;
    if (auto finished = finish_lanes(video_lanes_); !finished) return finished;
    for (auto& muxer : muxers_)
        if (auto finished = muxer->finish(); !finished) return finished;
    if (!thumbnail_written_ && first_picture_) {
        if (auto written = write_jpeg(*first_picture_, out_ / "thumbnail.jpg"); !written) return written;
        thumbnail_written_ = true;
    }
    if (!thumbnail_written_ && cover_art_) {
        // Cover art that cannot be decoded costs the poster, not the ladder.
        thumbnail_written_ = static_cast<bool>(write_cover_art(*cover_art_, out_ / "thumbnail.jpg"));
    }
    if (peaks_)
        if (auto written = write_text(out_ / "waveform.json", peaks_->to_json()); !written) return written;
    return ok();
}

Result<LadderResult> Ladder::describe() {
    LadderOutputs outputs{.thumbnail = thumbnail_written_, .waveform = peaks_.has_value()};
    for (auto const& output : video_outputs_) {
        AVCodecContext const& encoder = output.track->context();
        std::string codecs = avc_codec_string({encoder.extradata, static_cast<std::size_t>(encoder.extradata_size)});
        if (video_audio_) codecs += ",mp4a.40.2";
        outputs.video.push_back({.plan = output.plan,
                                 .codecs = std::move(codecs),
                                 .fps = encoder.framerate.num > 0 ? av_q2d(encoder.framerate) : 0.0,
                                 .with_audio = video_audio_ != nullptr});
    }
    for (auto const& output : audio_outputs_) outputs.audio.push_back(output.plan);
    outputs.audio_seconds = peaks_ ? double(audio_samples_) / first_audio_->sample_rate : duration_;
    return report_ladder(out_, outputs);
}

Result<LadderResult> Ladder::run(fs::path const& source) {
    if (!frame_ || !packet_) return Error(Errc::internal, "out of memory");
    if (auto opened = open_source(source); !opened) return opened.error();
    if (plan_.audio.empty() && plan_.video.empty())
        return Error(Errc::unsupported_media, "nothing in the file to transcode");
    if (auto opened = open_outputs(); !opened) return opened.error();
    if (auto read = read_all(); !read) return read.error();
    if (auto finished = finish(); !finished) return finished.error();
    auto result = describe();
    if (result && progress_) progress_(1.0);
    return result;
}

}  // namespace

namespace blocking {

Result<LadderResult> run_ladder(fs::path const& source, fs::path const& out_dir, LadderOptions const& options,
                                LadderProgress const& progress) {
    quiet_libav_logging();
    Ladder ladder(out_dir, options, progress);
    auto result = ladder.run(source);
    if (!result) return result.error().context("transcode " + source.filename().string());
    return result;
}

}  // namespace blocking

}  // namespace onda::media::av
