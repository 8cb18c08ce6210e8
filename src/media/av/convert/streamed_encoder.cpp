#include "media/av/convert/streamed_encoder.hpp"

#include <algorithm>
#include <cmath>

extern "C" {
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
}

namespace onda::media::av {
namespace {

struct FreeOutputContext {
    // The AVIOContext is the encoder's own (a custom one): it must not be closed as a file.
    void operator()(AVFormatContext* context) const {
        context->pb = nullptr;
        avformat_free_context(context);
    }
};
using OutputOnly = std::unique_ptr<AVFormatContext, FreeOutputContext>;

char const* encoder_name(ConvertFormat format) {
    switch (format) {
    case ConvertFormat::aac: return "aac";
    case ConvertFormat::opus: return "libopus";
    case ConvertFormat::ogg: return "libvorbis";
    case ConvertFormat::flac: return "flac";
    default: return nullptr;
    }
}

char const* muxer_name(ConvertFormat format) {
    switch (format) {
    case ConvertFormat::aac: return "adts";
    case ConvertFormat::opus:
    case ConvertFormat::ogg: return "ogg";
    case ConvertFormat::flac: return "flac";
    default: return nullptr;
    }
}

// The encoder's preferred format of the three the signal converts to without loss of meaning.
AVSampleFormat pick_format(AVCodec const& codec) {
    bool fltp = false, flt = false;
    for (auto const* f = codec.sample_fmts; f && *f != AV_SAMPLE_FMT_NONE; ++f) {
        fltp = fltp || *f == AV_SAMPLE_FMT_FLTP;
        flt = flt || *f == AV_SAMPLE_FMT_FLT;
    }
    return fltp ? AV_SAMPLE_FMT_FLTP : flt ? AV_SAMPLE_FMT_FLT : AV_SAMPLE_FMT_S16;
}

std::int16_t to_s16(float sample) {
    return static_cast<std::int16_t>(std::clamp(std::lrintf(sample * 32768.0f), -32768L, 32767L));
}

}  // namespace

struct StreamedEncoder::State {
    explicit State(ByteSink& s) : sink(s) {}
    ByteSink& sink;
    Result<void> sink_result = ok();  // the first failure of a write libavformat made
    IoContext io;
    OutputOnly muxer;  // declared after io: freed first
    CodecContext encoder;
    AVSampleFormat format = AV_SAMPLE_FMT_NONE;
    int frame_samples = 0;  // per encoder frame
    bool small_last_frame = false;
    PlanarSamples pending;  // samples not yet in a frame
    std::int64_t sent = 0;  // samples sent to the encoder: the next frame's pts
    Frame frame{av_frame_alloc()};
    Packet packet{av_packet_alloc()};
};

namespace {

// AVIOContext write callback: the muxer's bytes go to the sink.
int write_to_sink(void* opaque, std::uint8_t* bytes, int size) {
    auto& state = *static_cast<StreamedEncoder::State*>(opaque);
    if (!state.sink_result) return AVERROR(EPIPE);
    state.sink_result = state.sink.write(std::string_view(reinterpret_cast<char const*>(bytes), size));
    return state.sink_result ? size : AVERROR(EPIPE);
}

}  // namespace

StreamedEncoder::StreamedEncoder(ByteSink& sink) : state_(std::make_unique<State>(sink)) {}

StreamedEncoder::~StreamedEncoder() = default;

Result<std::unique_ptr<StreamedEncoder>> StreamedEncoder::open(ConversionPlan const& plan, ByteSink& sink) {
    std::unique_ptr<StreamedEncoder> encoder(new StreamedEncoder(sink));
    if (!encoder->state_->frame || !encoder->state_->packet) return Error(Errc::internal, "out of memory");
    if (auto opened = encoder->open_outputs(plan); !opened) return opened.error();
    return encoder;
}

Result<void> StreamedEncoder::open_outputs(ConversionPlan const& plan) {
    State& s = *state_;
    char const* const name = encoder_name(plan.format);
    char const* const container = muxer_name(plan.format);
    if (!name || !container) return Error(Errc::internal, "not a streamed format");
    AVCodec const* codec = avcodec_find_encoder_by_name(name);
    if (!codec) return Error(Errc::unavailable, std::string("this server has no ") + name + " encoder");

    AVFormatContext* raw = nullptr;
    if (int rc = avformat_alloc_output_context2(&raw, nullptr, container, nullptr); rc < 0)
        return av_internal_error(container, rc);
    s.muxer.reset(raw);
    constexpr int io_buffer_bytes = 4096;
    IoBuffer buffer(static_cast<unsigned char*>(av_malloc(io_buffer_bytes)));
    if (!buffer) return Error(Errc::internal, "out of memory");
    s.io.reset(avio_alloc_context(buffer.get(), io_buffer_bytes, 1, &s, nullptr, write_to_sink, nullptr));
    if (!s.io) return Error(Errc::internal, "out of memory");
    buffer.release();
    s.muxer->pb = s.io.get();

    s.encoder.reset(avcodec_alloc_context3(codec));
    if (!s.encoder) return Error(Errc::internal, "out of memory");
    s.format = pick_format(*codec);
    s.encoder->sample_fmt = s.format;
    s.encoder->sample_rate = plan.sample_rate;
    av_channel_layout_default(&s.encoder->ch_layout, plan.channels);
    s.encoder->time_base = AVRational{1, plan.sample_rate};
    if (plan.bit_rate > 0) s.encoder->bit_rate = plan.bit_rate;
    s.encoder->thread_count = 1;
    if (s.muxer->oformat->flags & AVFMT_GLOBALHEADER) s.encoder->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (int rc = avcodec_open2(s.encoder.get(), codec, nullptr); rc < 0) return av_internal_error(name, rc);
    bool const variable = codec->capabilities & AV_CODEC_CAP_VARIABLE_FRAME_SIZE;
    s.frame_samples = variable || s.encoder->frame_size <= 0 ? 4096 : s.encoder->frame_size;
    s.small_last_frame = variable || (codec->capabilities & AV_CODEC_CAP_SMALL_LAST_FRAME);
    s.pending.assign(static_cast<std::size_t>(plan.channels), {});

    AVStream* stream = avformat_new_stream(s.muxer.get(), nullptr);
    if (!stream) return Error(Errc::internal, "out of memory");
    if (int rc = avcodec_parameters_from_context(stream->codecpar, s.encoder.get()); rc < 0)
        return av_internal_error("stream parameters", rc);
    stream->time_base = s.encoder->time_base;
    if (int rc = avformat_write_header(s.muxer.get(), nullptr); rc < 0) return av_internal_error(container, rc);
    return flush_bytes();
}

Result<void> StreamedEncoder::flush_bytes() {
    State& s = *state_;
    avio_flush(s.io.get());
    if (!s.sink_result) return s.sink_result;
    return s.sink.flush();
}

Result<void> StreamedEncoder::write(PlanarSamples const& samples, std::int64_t count) {
    State& s = *state_;
    for (std::size_t c = 0; c < s.pending.size(); ++c)
        s.pending[c].insert(s.pending[c].end(), samples[c].begin(), samples[c].begin() + count);
    if (auto encoded = encode_pending(false); !encoded) return encoded;
    return flush_bytes();
}

Result<void> StreamedEncoder::encode_pending(bool last) {
    State& s = *state_;
    auto const channels = s.pending.size();
    std::size_t taken = 0;  // samples of `pending` in frames already; removed once at the end
    auto const forget_taken = [&] {
        for (auto& channel : s.pending)
            channel.erase(channel.begin(), channel.begin() + static_cast<std::ptrdiff_t>(taken));
    };
    for (;;) {
        auto const available = static_cast<int>(s.pending.front().size() - taken);
        if (available == 0 || (available < s.frame_samples && !last)) {
            forget_taken();
            return ok();
        }
        int const used = std::min(available, s.frame_samples);
        int const samples = s.small_last_frame ? used : s.frame_samples;  // else padded with silence
        AVFrame& frame = *s.frame;
        av_frame_unref(&frame);
        frame.format = s.format;
        frame.sample_rate = s.encoder->sample_rate;
        frame.nb_samples = samples;
        if (int rc = av_channel_layout_copy(&frame.ch_layout, &s.encoder->ch_layout); rc < 0)
            return av_internal_error("frame", rc);
        if (int rc = av_frame_get_buffer(&frame, 0); rc < 0) return av_internal_error("frame", rc);
        for (int i = 0; i < samples; ++i) {
            for (std::size_t c = 0; c < channels; ++c) {
                float const value = i < used ? s.pending[c][taken + static_cast<std::size_t>(i)] : 0.0f;
                if (s.format == AV_SAMPLE_FMT_FLTP)
                    reinterpret_cast<float*>(frame.extended_data[c])[i] = value;
                else if (s.format == AV_SAMPLE_FMT_FLT)
                    reinterpret_cast<float*>(frame.data[0])[static_cast<std::size_t>(i) * channels + c] = value;
                else
                    reinterpret_cast<std::int16_t*>(frame.data[0])[static_cast<std::size_t>(i) * channels + c] =
                        to_s16(value);
            }
        }
        frame.pts = s.sent;
        s.sent += samples;
        taken += static_cast<std::size_t>(used);
        if (auto encoded = encode(&frame); !encoded) return encoded;
    }
}

Result<void> StreamedEncoder::encode(AVFrame const* frame) {
    State& s = *state_;
    if (int rc = avcodec_send_frame(s.encoder.get(), frame); rc < 0 && rc != AVERROR_EOF)
        return av_internal_error("encode", rc);
    for (;;) {
        int rc = avcodec_receive_packet(s.encoder.get(), s.packet.get());
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return ok();
        if (rc < 0) return av_internal_error("encode", rc);
        s.packet->stream_index = 0;
        av_packet_rescale_ts(s.packet.get(), s.encoder->time_base, s.muxer->streams[0]->time_base);
        rc = av_write_frame(s.muxer.get(), s.packet.get());
        av_packet_unref(s.packet.get());
        if (!s.sink_result) return s.sink_result;
        if (rc < 0) return av_internal_error("write", rc);
    }
}

Result<void> StreamedEncoder::finish() {
    State& s = *state_;
    if (auto encoded = encode_pending(true); !encoded) return encoded;
    if (auto flushed = encode(nullptr); !flushed) return flushed;
    if (int rc = av_write_trailer(s.muxer.get()); rc < 0) {
        if (!s.sink_result) return s.sink_result;
        return av_internal_error("finish", rc);
    }
    return flush_bytes();
}

}  // namespace onda::media::av
