#include "media/av/convert/convert.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

extern "C" {
#include <libavcodec/version.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
}

#include "media/av/convert/byte_sink.hpp"
#include "media/convert/mp3_layout.hpp"
#include "media/av/convert/pcm_source.hpp"
#include "media/av/convert/streamed_encoder.hpp"
#include "media/convert/wav_layout.hpp"

namespace onda::media::av {
namespace {

// One block of MP3 frames: a fresh encoder over the block's samples and its margins.
class Mp3BlockEncoder {
public:
    explicit Mp3BlockEncoder(Mp3Layout const& layout) : layout_(layout) {}

    // The audio frames [block * mp3_block_frames, + frames) of the file.
    Result<void> write_block(PcmSource& source, std::int64_t block, std::int64_t frames, ByteSink& sink) {
        std::int64_t const first = (block * mp3_block_frames - mp3_preroll_frames) * mp3_samples_per_frame;
        std::int64_t const count =
            std::int64_t{mp3_preroll_frames + mp3_block_frames + mp3_tail_frames} * mp3_samples_per_frame;
        if (auto read = source.read(first, count, samples_); !read) return read;
        auto encoder = open_encoder();
        if (!encoder) return encoder.error();
        std::int64_t kept = 0;
        std::int64_t index = 0;  // of the packet the encoder makes next
        auto take = [&](AVPacket const& packet) -> Result<void> {
            bool const wanted = index >= mp3_preroll_frames && kept < frames;
            ++index;
            if (!wanted) return ok();
            if (auto checked = check_frame(packet); !checked) return checked;
            ++kept;
            return sink.write(std::string_view(reinterpret_cast<char const*>(packet.data), packet.size));
        };
        Frame frame(av_frame_alloc());
        Packet packet(av_packet_alloc());
        if (!frame || !packet) return Error(Errc::internal, "out of memory");
        for (std::int64_t at = 0; at <= count; at += mp3_samples_per_frame) {
            AVFrame* input = nullptr;  // after the last frame: the flush
            if (at < count) {
                av_frame_unref(frame.get());
                frame->format = AV_SAMPLE_FMT_FLTP;
                frame->sample_rate = layout_.sample_rate;
                frame->nb_samples = mp3_samples_per_frame;
                av_channel_layout_default(&frame->ch_layout, layout_.channels);
                if (int rc = av_frame_get_buffer(frame.get(), 0); rc < 0) return av_internal_error("frame", rc);
                for (int c = 0; c < layout_.channels; ++c)
                    std::copy_n(samples_[static_cast<std::size_t>(c)].begin() + at, mp3_samples_per_frame,
                                reinterpret_cast<float*>(frame->extended_data[c]));
                frame->pts = at;
                input = frame.get();
            }
            if (int rc = avcodec_send_frame(encoder->get(), input); rc < 0) return av_internal_error("mp3 encode", rc);
            for (;;) {
                int rc = avcodec_receive_packet(encoder->get(), packet.get());
                if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) break;
                if (rc < 0) return av_internal_error("mp3 encode", rc);
                auto taken = take(*packet);
                av_packet_unref(packet.get());
                if (!taken) return taken;
            }
        }
        if (kept != frames)
            return Error(Errc::internal, fmt::format("the mp3 encoder made {} of the block's {} frames", kept, frames));
        return sink.flush();
    }

private:
    Result<CodecContext> open_encoder() {
        AVCodec const* codec = avcodec_find_encoder_by_name("libmp3lame");
        if (!codec) return Error(Errc::unavailable, "this server has no libmp3lame encoder");
        CodecContext context(avcodec_alloc_context3(codec));
        if (!context) return Error(Errc::internal, "out of memory");
        context->sample_fmt = AV_SAMPLE_FMT_FLTP;
        context->sample_rate = layout_.sample_rate;
        av_channel_layout_default(&context->ch_layout, layout_.channels);
        context->time_base = AVRational{1, layout_.sample_rate};
        context->bit_rate = layout_.bit_rate;
        // Frames that borrow no bytes from earlier frames: each block stands alone.
        if (int rc = av_opt_set_int(context->priv_data, "reservoir", 0, 0); rc < 0)
            return av_internal_error("mp3 reservoir", rc);
        if (int rc = avcodec_open2(context.get(), codec, nullptr); rc < 0) return av_internal_error("mp3 encoder", rc);
        // The announced length counted on this delay; another libmp3lame would need another formula.
        if (context->initial_padding != mp3_total_delay)
            return Error(Errc::internal, fmt::format("libmp3lame delays by {} samples, not {}",
                                                     context->initial_padding, mp3_total_delay));
        return context;
    }

    // Every audio frame must have the layout's size and header, or the announced length is wrong.
    Result<void> check_frame(AVPacket const& packet) const {
        if (packet.size != layout_.frame_bytes() || packet.size < 4)
            return Error(Errc::internal, fmt::format("the mp3 encoder made a frame of {} bytes, not {}", packet.size,
                                                     layout_.frame_bytes()));
        std::uint32_t const header = (std::uint32_t{packet.data[0]} << 24) | (std::uint32_t{packet.data[1]} << 16) |
                                     (std::uint32_t{packet.data[2]} << 8) | packet.data[3];
        // Sync, version, layer, protection, bit rate, sample rate and padding; not the private bit or mode.
        constexpr std::uint32_t fixed_bits = 0xFFFFFE00u;
        if ((header & fixed_bits) != (mp3_frame_header(layout_) & fixed_bits))
            return Error(Errc::internal, fmt::format("the mp3 encoder made a frame with header {:08x}", header));
        return ok();
    }

    Mp3Layout layout_;
    PlanarSamples samples_;
};

Result<void> write_mp3(PcmSource& source, ConversionPlan const& plan, std::uint64_t offset, int out_fd) {
    Mp3Layout const layout{
        .sample_rate = plan.sample_rate, .bit_rate = plan.bit_rate, .channels = plan.channels, .samples = plan.samples};
    auto const frame_bytes = static_cast<std::uint64_t>(layout.frame_bytes());
    std::int64_t const frames = layout.audio_frames();
    std::int64_t first_block = 0;
    std::uint64_t skip = offset;
    if (offset >= frame_bytes) {
        auto const frame = static_cast<std::int64_t>(offset / frame_bytes) - 1;
        first_block = frame / mp3_block_frames;
        skip = offset - (1 + static_cast<std::uint64_t>(first_block) * mp3_block_frames) * frame_bytes;
    }
    ByteSink sink(out_fd, skip);
    if (offset < frame_bytes) {
        if (auto written = sink.write(mp3_info_frame(layout, LIBAVCODEC_IDENT)); !written) return written;
        if (auto flushed = sink.flush(); !flushed) return flushed;
    }
    Mp3BlockEncoder encoder(layout);
    for (std::int64_t block = first_block; block * mp3_block_frames < frames; ++block) {
        std::int64_t const count = std::min<std::int64_t>(mp3_block_frames, frames - block * mp3_block_frames);
        if (auto written = encoder.write_block(source, block, count, sink); !written) return written;
    }
    return ok();
}

Result<void> write_wav(PcmSource& source, ConversionPlan const& plan, std::uint64_t offset, int out_fd) {
    WavLayout const layout{.sample_rate = plan.sample_rate, .channels = plan.channels, .samples = plan.samples};
    std::int64_t const block_samples = plan.sample_rate;
    std::int64_t first_block = 0;
    std::uint64_t skip = offset;
    if (offset >= wav_header_bytes) {
        auto const sample = static_cast<std::int64_t>((offset - wav_header_bytes) / layout.block_bytes());
        first_block = sample / block_samples;
        skip =
            offset - wav_header_bytes - static_cast<std::uint64_t>(first_block * block_samples) * layout.block_bytes();
    }
    ByteSink sink(out_fd, skip);
    if (offset < wav_header_bytes)
        if (auto written = sink.write(wav_header(layout)); !written) return written;
    PlanarSamples samples;
    std::string bytes;
    for (std::int64_t at = first_block * block_samples; at < plan.samples; at += block_samples) {
        std::int64_t const count = std::min(block_samples, plan.samples - at);
        if (auto read = source.read(at, count, samples); !read) return read;
        bytes.clear();
        for (std::int64_t i = 0; i < count; ++i)
            for (int c = 0; c < plan.channels; ++c) {
                float const sample = samples[static_cast<std::size_t>(c)][static_cast<std::size_t>(i)];
                auto const value = static_cast<std::uint16_t>(
                    static_cast<std::int16_t>(std::clamp(std::lrintf(sample * 32768.0f), -32768L, 32767L)));
                bytes += static_cast<char>(value & 0xff);
                bytes += static_cast<char>(value >> 8);
            }
        if (auto written = sink.write(bytes); !written) return written;
        if (auto flushed = sink.flush(); !flushed) return flushed;
    }
    return sink.flush();
}

Result<void> write_streamed(PcmSource& source, ConversionPlan const& plan, int out_fd) {
    ByteSink sink(out_fd, 0);
    auto encoder = StreamedEncoder::open(plan, sink);
    if (!encoder) return encoder.error();
    std::int64_t const block_samples = plan.sample_rate;
    PlanarSamples samples;
    for (std::int64_t at = 0;; at += block_samples) {
        if (auto read = source.read(at, block_samples, samples); !read) return read;
        auto const end = source.end();
        std::int64_t const count = end ? std::clamp<std::int64_t>(*end - at, 0, block_samples) : block_samples;
        if (count > 0)
            if (auto written = (*encoder)->write(samples, count); !written) return written;
        if (end && at + block_samples >= *end) break;
    }
    return (*encoder)->finish();
}

}  // namespace

namespace blocking {

Result<void> convert(std::filesystem::path const& file, ConversionPlan const& plan, std::uint64_t offset, int out_fd) {
    quiet_libav_logging();
    if (auto valid = check_plan(plan); !valid) return valid;
    auto const length = plan.length();
    if (!length && offset != 0) return Error(Errc::invalid_argument, "a streamed conversion starts at byte 0");
    if (length && offset >= *length) return Error(Errc::invalid_argument, "the offset is past the end");
    auto source = PcmSource::open(file, plan.sample_rate, plan.channels);
    if (!source) return source.error();
    switch (plan.format) {
    case ConvertFormat::mp3: return write_mp3(**source, plan, offset, out_fd);
    case ConvertFormat::wav: return write_wav(**source, plan, offset, out_fd);
    default: return write_streamed(**source, plan, out_fd);
    }
}

}  // namespace blocking

}  // namespace onda::media::av
