// One pass over the source: demux, decode each stream once, fan the frames out through a filter
// graph per stream to every encoder of the plan, mux. Then measure the HLS renditions and write
// the master playlist, the waveform and the thumbnail.
#include "media/transcode/ladder.hpp"

#include <algorithm>
#include <fstream>
#include <optional>

#include <fmt/format.h>

extern "C" {
#include <libavutil/channel_layout.h>
#include <libswresample/swresample.h>
}

#include "media/detail/input_file.hpp"
#include "media/transcode/filter_graph.hpp"
#include "media/transcode/ladder_report.hpp"
#include "media/transcode/outputs.hpp"
#include "media/transcode/plan.hpp"
#include "media/transcode/playlist.hpp"
#include "media/transcode/thumbnail.hpp"
#include "media/transcode/waveform.hpp"

namespace onda::media {
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
          filtered_(av_frame_alloc()),
          packet_(av_packet_alloc()) {}

    Result<LadderResult> run(fs::path const& source);

private:
    // What one sink of a fan-out feeds.
    struct Consumer {
        EncodedTrack* track = nullptr;  // else the waveform
        double next_keyframe = 0;       // video: when the next forced keyframe is due (seconds)
    };
    struct AudioOutput {
        PlannedAudio plan;
        std::unique_ptr<EncodedTrack> track;
        Muxer* muxer = nullptr;
    };
    struct VideoOutput {
        PlannedVideo plan;
        std::unique_ptr<EncodedTrack> track;
        Muxer* muxer = nullptr;
    };

    Result<void> open_source(fs::path const& source);
    Result<void> open_outputs();
    Result<void> read_all();
    Result<void> decode(AVStream const& stream, AVPacket const* packet);
    Result<void> take_audio(AVFrame& frame);
    Result<void> take_video(AVFrame& frame);
    Result<void> drain(FanOut& fan, std::vector<Consumer>& consumers, bool video);
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

    std::optional<FanOut> audio_fan_;
    std::vector<Consumer> audio_consumers_;
    std::optional<FanOut> video_fan_;
    std::vector<Consumer> video_consumers_;

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
    Frame filtered_;
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
        audio_outputs_.push_back({.plan = planned, .track = std::move(*track), .muxer = *muxer});
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
        video_outputs_.push_back({.plan = planned, .track = std::move(*track), .muxer = *muxer});
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

Result<void> Ladder::drain(FanOut& fan, std::vector<Consumer>& consumers, bool video) {
    for (std::size_t i = 0; i < consumers.size(); ++i) {
        for (;;) {
            auto pulled = fan.pull(i, *filtered_);
            if (!pulled) return pulled.error();
            if (!*pulled) break;
            Consumer& consumer = consumers[i];
            if (!consumer.track) {
                peaks_->add(reinterpret_cast<float const* const*>(filtered_->extended_data),
                            filtered_->ch_layout.nb_channels, filtered_->nb_samples);
            } else {
                AVRational const time_base = consumer.track->context().time_base;
                filtered_->pts = av_rescale_q(filtered_->pts, fan.sink_time_base(i), time_base);
                if (video) {
                    // Keyframes at every segment boundary, the same in every rendition.
                    double const at = double(filtered_->pts) * av_q2d(time_base);
                    filtered_->pict_type = AV_PICTURE_TYPE_NONE;
                    if (at + 0.001 >= consumer.next_keyframe) {
                        filtered_->pict_type = AV_PICTURE_TYPE_I;
                        auto const segment = double(options_.segment_duration.count());
                        while (consumer.next_keyframe <= at + 0.001) consumer.next_keyframe += segment;
                    }
                }
                if (auto encoded = consumer.track->encode(filtered_.get()); !encoded) return encoded;
            }
            av_frame_unref(filtered_.get());
        }
    }
    return ok();
}

Result<void> Ladder::take_audio(AVFrame& decoded) {
    AVFrame* frame = &decoded;
    if (!first_audio_) {
        first_audio_.reset(av_frame_clone(&decoded));
        if (!first_audio_) return Error(Errc::internal, "out of memory");
        std::vector<std::string> branches;
        for (auto& output : audio_outputs_) {
            branches.push_back(audio_branch(output.plan));
            audio_consumers_.push_back({.track = output.track.get()});
        }
        if (video_audio_) {
            branches.push_back(audio_branch(*plan_.video_audio));
            audio_consumers_.push_back({.track = video_audio_.get()});
        }
        if (peaks_) {
            branches.push_back("aformat=sample_fmts=fltp");
            audio_consumers_.push_back({});
        }
        if (branches.empty()) return ok();
        AVRational const time_base{1, decoded.sample_rate};
        auto fan = FanOut::audio(decoded, time_base, fan_out_description(branches, false), branches.size());
        if (!fan) return fan.error();
        audio_fan_ = std::move(*fan);
        for (std::size_t i = 0; i < audio_consumers_.size(); ++i)
            if (audio_consumers_[i].track && audio_consumers_[i].track->frame_size() > 0)
                audio_fan_->set_frame_size(i, audio_consumers_[i].track->frame_size());
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
    if (!audio_fan_ || frame->nb_samples <= 0) return ok();
    frame->pts = audio_samples_;
    audio_samples_ += frame->nb_samples;
    if (auto pushed = audio_fan_->push(frame); !pushed) return pushed;
    report(double(audio_samples_) / first_audio_->sample_rate);
    return drain(*audio_fan_, audio_consumers_, false);
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
    if (!video_fan_) {
        std::vector<std::string> branches;
        for (auto& output : video_outputs_) {
            branches.push_back(video_branch(output.plan));
            video_consumers_.push_back({.track = output.track.get()});
        }
        auto fan = FanOut::video(frame, time_base, fan_out_description(branches, true), branches.size());
        if (!fan) return fan.error();
        video_fan_ = std::move(*fan);
    }
    if (auto pushed = video_fan_->push(&frame); !pushed) return pushed;
    report(seconds);
    return drain(*video_fan_, video_consumers_, true);
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
    if (audio_fan_) {
        if (auto pushed = audio_fan_->push(nullptr); !pushed) return pushed;
        if (auto drained = drain(*audio_fan_, audio_consumers_, false); !drained) return drained;
    }
    if (video_fan_) {
        if (auto pushed = video_fan_->push(nullptr); !pushed) return pushed;
        if (auto drained = drain(*video_fan_, video_consumers_, true); !drained) return drained;
    }
    for (auto& output : audio_outputs_)
        if (auto flushed = output.track->encode(nullptr); !flushed) return flushed;
    for (auto& output : video_outputs_)
        if (auto flushed = output.track->encode(nullptr); !flushed) return flushed;
    if (video_audio_)
        if (auto flushed = video_audio_->encode(nullptr); !flushed) return flushed;
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
    if (!frame_ || !filtered_ || !packet_) return Error(Errc::internal, "out of memory");
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

}  // namespace onda::media
