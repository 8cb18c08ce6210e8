#include "media/av/transcode/outputs.hpp"

#include <string_view>

extern "C" {
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
}

namespace onda::media::av {
namespace {

// The AVDictionary libav functions take, freed whatever they leave in it.
struct Dictionary {
    AVDictionary* entries = nullptr;
    ~Dictionary() { av_dict_free(&entries); }
};

}  // namespace

Muxer::Muxer(OutputContext context, std::filesystem::path path,
             std::vector<std::pair<std::string, std::string>> options)
    : context_(std::move(context)), path_(std::move(path)), options_(std::move(options)) {}

Muxer::~Muxer() {
    if (started_ && !finished_) av_write_trailer(context_.get());
}

Result<std::unique_ptr<Muxer>> Muxer::hls(std::filesystem::path const& dir, std::chrono::seconds segment) {
    auto const playlist = dir / "index.m3u8";
    AVFormatContext* raw = nullptr;
    if (int rc = avformat_alloc_output_context2(&raw, nullptr, "hls", playlist.c_str()); rc < 0)
        return av_internal_error("hls muxer", rc);
    OutputContext context(raw);
    std::vector<std::pair<std::string, std::string>> options{
        {"hls_time", std::to_string(segment.count())},
        {"hls_playlist_type", "vod"},
        {"hls_segment_type", "fmp4"},
        {"hls_fmp4_init_filename", "init.mp4"},
        {"hls_segment_filename", (dir / "seg-%05d.m4s").string()},
        {"start_number", "1"},
        {"hls_flags", "independent_segments"},
    };
    return std::unique_ptr<Muxer>(new Muxer(std::move(context), playlist, std::move(options)));
}

Result<std::unique_ptr<Muxer>> Muxer::file(std::filesystem::path const& path, std::string const& format) {
    AVFormatContext* raw = nullptr;
    if (int rc = avformat_alloc_output_context2(&raw, nullptr, format.c_str(), path.c_str()); rc < 0)
        return av_internal_error(format + " muxer", rc);
    OutputContext context(raw);
    return std::unique_ptr<Muxer>(new Muxer(std::move(context), path, {}));
}

bool Muxer::wants_global_header() const { return (context_->oformat->flags & AVFMT_GLOBALHEADER) != 0; }

Result<int> Muxer::add_stream(AVCodecContext const& encoder) {
    AVStream* stream = avformat_new_stream(context_.get(), nullptr);
    if (!stream) return Error(Errc::internal, "out of memory");
    if (int rc = avcodec_parameters_from_context(stream->codecpar, &encoder); rc < 0)
        return av_internal_error("stream parameters", rc);
    stream->time_base = encoder.time_base;
    if (encoder.codec_type == AVMEDIA_TYPE_VIDEO) {
        stream->avg_frame_rate = encoder.framerate;
        stream->sample_aspect_ratio = encoder.sample_aspect_ratio;
    }
    return stream->index;
}

Result<void> Muxer::start() {
    if (!(context_->oformat->flags & AVFMT_NOFILE))
        if (int rc = avio_open(&context_->pb, path_.c_str(), AVIO_FLAG_WRITE); rc < 0)
            return av_internal_error("open " + path_.filename().string(), rc);
    Dictionary options;
    for (auto const& [key, value] : options_) av_dict_set(&options.entries, key.c_str(), value.c_str(), 0);
    if (int rc = avformat_write_header(context_.get(), &options.entries); rc < 0)
        return av_internal_error("start " + path_.filename().string(), rc);
    started_ = true;
    return ok();
}

Result<void> Muxer::write(AVPacket& packet, int stream, AVRational time_base) {
    std::lock_guard lock(write_mutex_);
    packet.stream_index = stream;
    av_packet_rescale_ts(&packet, time_base, context_->streams[stream]->time_base);
    if (int rc = av_interleaved_write_frame(context_.get(), &packet); rc < 0)
        return av_internal_error("write " + path_.filename().string(), rc);
    return ok();
}

Result<void> Muxer::finish() {
    if (!started_) return Error(Errc::internal, "finish before start");
    finished_ = true;
    if (int rc = av_write_trailer(context_.get()); rc < 0)
        return av_internal_error("finish " + path_.filename().string(), rc);
    if (!(context_->oformat->flags & AVFMT_NOFILE)) avio_closep(&context_->pb);
    return ok();
}

EncodedTrack::EncodedTrack(CodecContext context) : context_(std::move(context)), packet_(av_packet_alloc()) {}

Result<std::unique_ptr<EncodedTrack>> EncodedTrack::audio(PlannedAudio const& plan, bool global_header) {
    char const* const encoder_name = plan.codec == "mp3"    ? "libmp3lame"
                                     : plan.codec == "opus" ? "libopus"
                                                            : plan.codec.c_str();
    AVCodec const* codec = avcodec_find_encoder_by_name(encoder_name);
    if (!codec) return Error(Errc::internal, std::string("no encoder ") + encoder_name);
    CodecContext context(avcodec_alloc_context3(codec));
    if (!context) return Error(Errc::internal, "out of memory");
    context->sample_rate = plan.sample_rate;
    av_channel_layout_default(&context->ch_layout, plan.channels);
    context->time_base = AVRational{1, plan.sample_rate};
    if (plan.codec == "flac") {
        context->sample_fmt = plan.bits_per_sample > 16 ? AV_SAMPLE_FMT_S32 : AV_SAMPLE_FMT_S16;
        context->bits_per_raw_sample = plan.bits_per_sample;
    } else {
        context->sample_fmt = plan.codec == "opus" ? AV_SAMPLE_FMT_FLT : AV_SAMPLE_FMT_FLTP;
        context->bit_rate = plan.bit_rate;
    }
    if (global_header) context->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (int rc = avcodec_open2(context.get(), codec, nullptr); rc < 0)
        return av_internal_error(plan.name + " encoder", rc);
    return std::unique_ptr<EncodedTrack>(new EncodedTrack(std::move(context)));
}

Result<std::unique_ptr<EncodedTrack>> EncodedTrack::video(VideoSettings const& settings, bool global_header) {
    AVCodec const* codec = avcodec_find_encoder_by_name("libx264");
    if (!codec) return Error(Errc::internal, "no encoder libx264");
    CodecContext context(avcodec_alloc_context3(codec));
    if (!context) return Error(Errc::internal, "out of memory");
    PlannedVideo const& plan = settings.plan;
    context->width = plan.width;
    context->height = plan.height;
    context->pix_fmt = AV_PIX_FMT_YUV420P;
    context->sample_aspect_ratio = AVRational{1, 1};
    context->time_base = settings.time_base;
    context->framerate = settings.frame_rate;
    context->bit_rate = plan.bit_rate;
    // A capped peak keeps segments near the BANDWIDTH the master playlist announces.
    context->rc_max_rate = plan.bit_rate * 3 / 2;
    context->rc_buffer_size = static_cast<int>(plan.bit_rate * 2);
    // Keyframes come from the ladder, at every segment boundary of every rendition alike; the
    // encoder must not add its own (scene cuts) or rendition switches would land mid-GOP.
    context->gop_size = 600;
    context->keyint_min = 1;
    context->thread_count = static_cast<int>(settings.threads);
    if (global_header) context->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    Dictionary options;
    av_dict_set(&options.entries, "preset", settings.preset.c_str(), 0);
    av_dict_set(&options.entries, "profile", "high", 0);
    av_dict_set(&options.entries, "forced-idr", "1", 0);
    av_dict_set(&options.entries, "x264-params", "scenecut=0:open-gop=0", 0);
    if (int rc = avcodec_open2(context.get(), codec, &options.entries); rc < 0)
        return av_internal_error(plan.name + " encoder", rc);
    return std::unique_ptr<EncodedTrack>(new EncodedTrack(std::move(context)));
}

int EncodedTrack::frame_size() const {
    if (context_->codec->capabilities & AV_CODEC_CAP_VARIABLE_FRAME_SIZE) return 0;
    return context_->frame_size;
}

Result<void> EncodedTrack::feed_to(Muxer& muxer) {
    auto stream = muxer.add_stream(*context_);
    if (!stream) return stream.error();
    targets_.emplace_back(&muxer, *stream);
    return ok();
}

Result<void> EncodedTrack::encode(AVFrame const* frame) {
    if (int rc = avcodec_send_frame(context_.get(), frame); rc < 0 && rc != AVERROR_EOF)
        return av_internal_error(std::string("encode ") + context_->codec->name, rc);
    return drain();
}

Result<void> EncodedTrack::drain() {
    for (;;) {
        int rc = avcodec_receive_packet(context_.get(), packet_.get());
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return ok();
        if (rc < 0) return av_internal_error(std::string("encode ") + context_->codec->name, rc);
        // Every muxer but the last gets a new reference; the last takes the packet itself.
        for (std::size_t i = 0; i < targets_.size(); ++i) {
            auto [muxer, stream] = targets_[i];
            if (i + 1 == targets_.size()) {
                if (auto written = muxer->write(*packet_, stream, context_->time_base); !written) return written;
                continue;
            }
            Packet copy(av_packet_clone(packet_.get()));
            if (!copy) return Error(Errc::internal, "out of memory");
            if (auto written = muxer->write(*copy, stream, context_->time_base); !written) return written;
        }
        av_packet_unref(packet_.get());
    }
}

}  // namespace onda::media::av
