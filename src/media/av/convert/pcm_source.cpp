#include "media/av/convert/pcm_source.hpp"

#include <algorithm>
#include <numeric>

extern "C" {
#include <libavutil/channel_layout.h>
#include <libswresample/swresample.h>
}

namespace onda::media::av {
namespace {

struct FreeResampler {
    void operator()(SwrContext* context) const { swr_free(&context); }
};
using Resampler = std::unique_ptr<SwrContext, FreeResampler>;

// Input samples a read's resampler starts before the first one it needs, and reads past the last:
// more than the widest filter libswresample builds (its default 32 taps, widened by the rate
// ratio when it downsamples), so the samples a read returns never see the edges of its input.
constexpr std::int64_t resampler_margin = 1024;

Error decode_error(std::string_view what, int rc) {
    Error error = av_error(rc);
    // Whatever a decoder refuses came from the file's bytes.
    if (error.code() == Errc::internal && rc != AVERROR(ENOMEM))
        return Error(Errc::unsupported_media, error.message()).context(what);
    return error.context(what);
}

AVChannelLayout layout_of(int channels) {
    AVChannelLayout layout{};
    av_channel_layout_default(&layout, channels);
    return layout;
}

}  // namespace

struct PcmSource::State {
    std::unique_ptr<detail::InputFile> input;
    AVStream const* stream = nullptr;
    CodecContext decoder;
    Packet packet{av_packet_alloc()};
    Frame frame{av_frame_alloc()};

    // Decoded frames become planar float at the source's rate in the plan's layout.
    Resampler normalizer;
    AVSampleFormat normalizer_format = AV_SAMPLE_FMT_NONE;
    int normalizer_rate = 0;
    AVChannelLayout normalizer_layout{};
    int source_rate = 0;  // the rate every kept sample is at

    PlanarSamples window;           // kept input samples, one vector per channel
    std::int64_t window_start = 0;  // input index of window[c][0]
    std::int64_t kept = 0;          // input samples decoded so far: window_start + window[c].size()
    std::int64_t forget_below = 0;  // input before this is not needed again
    bool input_ended = false;

    ~State() { av_channel_layout_uninit(&normalizer_layout); }
};

PcmSource::PcmSource(int sample_rate, int channels)
    : state_(std::make_unique<State>()), sample_rate_(sample_rate), channels_(channels) {}

PcmSource::~PcmSource() = default;

Result<std::unique_ptr<PcmSource>> PcmSource::open(std::filesystem::path const& file, int sample_rate, int channels) {
    if (sample_rate <= 0 || channels < 1 || channels > 2)
        return Error(Errc::invalid_argument, "a conversion has a sample rate and one or two channels");
    std::unique_ptr<PcmSource> source(new PcmSource(sample_rate, channels));
    if (!source->state_->packet || !source->state_->frame) return Error(Errc::internal, "out of memory");
    if (auto opened = source->open_input(file); !opened) return opened.error();
    return source;
}

Result<void> PcmSource::open_input(std::filesystem::path const& file) {
    State& s = *state_;
    auto input = detail::InputFile::open(file, detail::ReadLimits{});
    if (!input) return input.error();
    s.input = std::move(*input);
    AVFormatContext& context = s.input->context();
    if (int rc = avformat_find_stream_info(&context, nullptr); rc < 0) return s.input->error(rc);
    auto audio = detail::best_audio_stream(context);
    if (!audio) return audio.error();
    if (!*audio) return Error(Errc::unsupported_media, "the file has no audio");
    s.stream = *audio;
    for (unsigned i = 0; i < context.nb_streams; ++i)
        if (context.streams[i] != s.stream) context.streams[i]->discard = AVDISCARD_ALL;

    AVCodecParameters const& parameters = *s.stream->codecpar;
    AVCodec const* codec = avcodec_find_decoder(parameters.codec_id);
    if (!codec)
        return Error(Errc::unsupported_media, std::string("no decoder for ") + avcodec_get_name(parameters.codec_id));
    s.decoder.reset(avcodec_alloc_context3(codec));
    if (!s.decoder) return Error(Errc::internal, "out of memory");
    if (int rc = avcodec_parameters_to_context(s.decoder.get(), &parameters); rc < 0)
        return decode_error("decoder", rc);
    s.decoder->pkt_timebase = s.stream->time_base;
    s.decoder->thread_count = 1;  // one thread decodes the same way every time
    if (int rc = avcodec_open2(s.decoder.get(), codec, nullptr); rc < 0) return decode_error("open decoder", rc);
    s.source_rate = parameters.sample_rate;
    if (s.source_rate <= 0) return Error(Errc::unsupported_media, "the audio has no sample rate");
    s.window.assign(static_cast<std::size_t>(channels_), {});
    return ok();
}

std::optional<std::int64_t> PcmSource::end() const {
    State const& s = *state_;
    if (!s.input_ended) return std::nullopt;
    return (s.kept * sample_rate_ + s.source_rate - 1) / s.source_rate;
}

void PcmSource::forget_before(std::int64_t input_index) {
    State& s = *state_;
    auto const drop = std::min(input_index, s.kept) - s.window_start;
    if (drop <= 0) return;
    for (auto& channel : s.window) channel.erase(channel.begin(), channel.begin() + drop);
    s.window_start += drop;
}

Result<void> PcmSource::keep(AVFrame const& frame) {
    State& s = *state_;
    bool const same_input = s.normalizer && frame.format == s.normalizer_format &&
                            frame.sample_rate == s.normalizer_rate &&
                            av_channel_layout_compare(&frame.ch_layout, &s.normalizer_layout) == 0;
    if (!same_input) {
        // The first frame, or a decoder that changed its output mid-stream: a new normalizer. What
        // the old one still held (only after a change of rate) is kept first.
        if (s.normalizer)
            if (auto flushed = flush_normalizer(); !flushed) return flushed;
        AVChannelLayout in_layout{};
        if (frame.ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)
            av_channel_layout_default(&in_layout, frame.ch_layout.nb_channels);
        else if (int rc = av_channel_layout_copy(&in_layout, &frame.ch_layout); rc < 0)
            return decode_error("channel layout", rc);
        AVChannelLayout out_layout = layout_of(channels_);
        SwrContext* raw = nullptr;
        int rc = swr_alloc_set_opts2(&raw, &out_layout, AV_SAMPLE_FMT_FLTP, s.source_rate, &in_layout,
                                     static_cast<AVSampleFormat>(frame.format), frame.sample_rate, 0, nullptr);
        Resampler normalizer(raw);
        av_channel_layout_uninit(&out_layout);
        if (rc >= 0) rc = swr_init(normalizer.get());
        if (rc < 0) {
            av_channel_layout_uninit(&in_layout);
            return decode_error("audio format", rc);
        }
        av_channel_layout_uninit(&in_layout);
        s.normalizer = std::move(normalizer);
        s.normalizer_format = static_cast<AVSampleFormat>(frame.format);
        s.normalizer_rate = frame.sample_rate;
        // Compared as the decoder states it (an unspecified layout too), so equal frames match.
        av_channel_layout_uninit(&s.normalizer_layout);
        if (int copied = av_channel_layout_copy(&s.normalizer_layout, &frame.ch_layout); copied < 0)
            return decode_error("channel layout", copied);
    }
    int const room = swr_get_out_samples(s.normalizer.get(), frame.nb_samples);
    if (room < 0) return decode_error("audio format", room);
    std::vector<std::uint8_t*> out(static_cast<std::size_t>(channels_));
    for (int c = 0; c < channels_; ++c) {
        auto& channel = s.window[static_cast<std::size_t>(c)];
        channel.resize(static_cast<std::size_t>(s.kept - s.window_start) + static_cast<std::size_t>(room));
        out[static_cast<std::size_t>(c)] = reinterpret_cast<std::uint8_t*>(channel.data() + (s.kept - s.window_start));
    }
    int const made = swr_convert(s.normalizer.get(), out.data(), room,
                                 const_cast<std::uint8_t const**>(frame.extended_data), frame.nb_samples);
    if (made < 0) return decode_error("audio format", made);
    s.kept += made;
    for (auto& channel : s.window) channel.resize(static_cast<std::size_t>(s.kept - s.window_start));
    forget_before(s.forget_below);
    return ok();
}

Result<void> PcmSource::flush_normalizer() {
    State& s = *state_;
    // Only a change of rate holds samples back; at most the filter's length.
    int const room = swr_get_out_samples(s.normalizer.get(), 0);
    if (room <= 0) return ok();
    std::vector<std::uint8_t*> out(static_cast<std::size_t>(channels_));
    for (int c = 0; c < channels_; ++c) {
        auto& channel = s.window[static_cast<std::size_t>(c)];
        channel.resize(static_cast<std::size_t>(s.kept - s.window_start + room));
        out[static_cast<std::size_t>(c)] = reinterpret_cast<std::uint8_t*>(channel.data() + (s.kept - s.window_start));
    }
    int const made = swr_convert(s.normalizer.get(), out.data(), room, nullptr, 0);
    if (made < 0) return decode_error("audio format", made);
    s.kept += made;
    for (auto& channel : s.window) channel.resize(static_cast<std::size_t>(s.kept - s.window_start));
    return ok();
}

Result<void> PcmSource::decode_packet(AVPacket const* packet) {
    State& s = *state_;
    int rc = avcodec_send_packet(s.decoder.get(), packet);
    // A damaged packet loses its samples, not the file: decoding goes on with the next one.
    if (rc < 0 && rc != AVERROR_EOF && rc != AVERROR_INVALIDDATA && rc != AVERROR(EAGAIN))
        return decode_error("decode", rc);
    for (;;) {
        rc = avcodec_receive_frame(s.decoder.get(), s.frame.get());
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return ok();
        if (rc == AVERROR_INVALIDDATA) continue;
        if (rc < 0) return decode_error("decode", rc);
        auto kept = s.frame->nb_samples > 0 ? keep(*s.frame) : ok();
        av_frame_unref(s.frame.get());
        if (!kept) return kept;
    }
}

Result<void> PcmSource::decode_until(std::int64_t input_end) {
    State& s = *state_;
    AVFormatContext& context = s.input->context();
    while (!s.input_ended && s.kept < input_end) {
        int rc = av_read_frame(&context, s.packet.get());
        if (rc < 0) {
            // The end, or a read error past the headers (a truncated or damaged file): what was
            // read is the signal.
            if (s.input->timed_out()) return s.input->error(rc);
            if (auto drained = decode_packet(nullptr); !drained) return drained;
            if (s.normalizer)
                if (auto flushed = flush_normalizer(); !flushed) return flushed;
            s.input_ended = true;
            if (s.kept == 0) return Error(Errc::unsupported_media, "no audio could be decoded");
            break;
        }
        Result<void> decoded = ok();
        if (s.packet->stream_index == s.stream->index) decoded = decode_packet(s.packet.get());
        av_packet_unref(s.packet.get());
        if (!decoded) return decoded;
    }
    return ok();
}

Result<void> PcmSource::read(std::int64_t first, std::int64_t count, PlanarSamples& out) {
    out.assign(static_cast<std::size_t>(channels_), std::vector<float>(static_cast<std::size_t>(count), 0.0f));
    if (state_->source_rate == sample_rate_) {
        State& s = *state_;
        std::int64_t const from = std::max<std::int64_t>(first, 0);
        s.forget_below = std::max(s.forget_below, from);
        forget_before(s.forget_below);
        if (auto decoded = decode_until(first + count); !decoded) return decoded;
        for (std::int64_t i = std::max(from, s.window_start); i < std::min(first + count, s.kept); ++i)
            for (int c = 0; c < channels_; ++c)
                out[static_cast<std::size_t>(c)][static_cast<std::size_t>(i - first)] =
                    s.window[static_cast<std::size_t>(c)][static_cast<std::size_t>(i - s.window_start)];
        return ok();
    }
    return resample(first, count, out);
}

Result<void> PcmSource::resample(std::int64_t first, std::int64_t count, PlanarSamples& out) {
    State& s = *state_;
    // The resampler's first input sample is a multiple of in_step, so its output lands on the same
    // grid as a resampler started at 0: input i0 is output i0 / in_step * out_step exactly.
    std::int64_t const divisor = std::gcd(std::int64_t{s.source_rate}, std::int64_t{sample_rate_});
    std::int64_t const in_step = s.source_rate / divisor;
    std::int64_t const out_step = sample_rate_ / divisor;
    auto input_at = [&](std::int64_t output) { return output * s.source_rate / sample_rate_; };
    std::int64_t i0 = first <= 0 ? 0 : std::max<std::int64_t>(0, input_at(first) - resampler_margin);
    i0 -= i0 % in_step;
    std::int64_t const q0 = i0 / in_step * out_step;
    std::int64_t const i1 = input_at(std::max<std::int64_t>(first + count, 0)) + resampler_margin;

    s.forget_below = std::max(s.forget_below, i0);
    forget_before(s.forget_below);
    if (auto decoded = decode_until(i1); !decoded) return decoded;
    std::int64_t const fed_end = std::min(i1, s.kept);
    if (fed_end <= i0) return ok();  // nothing of the signal is in this span: silence

    AVChannelLayout layout = layout_of(channels_);
    SwrContext* raw = nullptr;
    int rc = swr_alloc_set_opts2(&raw, &layout, AV_SAMPLE_FMT_FLTP, sample_rate_, &layout, AV_SAMPLE_FMT_FLTP,
                                 s.source_rate, 0, nullptr);
    Resampler resampler(raw);
    av_channel_layout_uninit(&layout);
    if (rc >= 0) rc = swr_init(resampler.get());
    if (rc < 0) return decode_error("resample", rc);

    auto const fed = static_cast<int>(fed_end - i0);
    int const room = swr_get_out_samples(resampler.get(), fed) + static_cast<int>(resampler_margin);
    PlanarSamples made(static_cast<std::size_t>(channels_), std::vector<float>(static_cast<std::size_t>(room)));
    std::vector<std::uint8_t*> out_planes;
    std::vector<std::uint8_t const*> in_planes;
    for (int c = 0; c < channels_; ++c) {
        out_planes.push_back(reinterpret_cast<std::uint8_t*>(made[static_cast<std::size_t>(c)].data()));
        in_planes.push_back(reinterpret_cast<std::uint8_t const*>(s.window[static_cast<std::size_t>(c)].data() +
                                                                  (i0 - s.window_start)));
    }
    int produced = swr_convert(resampler.get(), out_planes.data(), room, in_planes.data(), fed);
    if (produced < 0) return decode_error("resample", produced);
    if (s.input_ended && fed_end == s.kept) {
        // The end of the signal is in this span: what the filter still holds belongs to it.
        for (int c = 0; c < channels_; ++c)
            out_planes[static_cast<std::size_t>(c)] =
                reinterpret_cast<std::uint8_t*>(made[static_cast<std::size_t>(c)].data() + produced);
        int const tail = swr_convert(resampler.get(), out_planes.data(), room - produced, nullptr, 0);
        if (tail < 0) return decode_error("resample", tail);
        produced += tail;
    }
    for (std::int64_t k = 0; k < count; ++k) {
        std::int64_t const j = first + k - q0;
        if (first + k < 0 || j < 0 || j >= produced) continue;
        for (int c = 0; c < channels_; ++c)
            out[static_cast<std::size_t>(c)][static_cast<std::size_t>(k)] =
                made[static_cast<std::size_t>(c)][static_cast<std::size_t>(j)];
    }
    return ok();
}

}  // namespace onda::media::av
