// Probing with libavformat (media/probe.hpp has what a probe says): open the file through
// detail/input_file under the budget, read the stream info, and decide whether it is audio or video
// the server can read.
#include "media/av/probe.hpp"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <string_view>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/opt.h>
}

#include "media/av/detail/input_file.hpp"
#include "media/av/libav.hpp"

namespace onda::media::av {
namespace {

using detail::best_audio_stream;
using detail::best_video_stream;
using detail::is_cover_art;

// Demuxers that read pictures and text: libav turns them into "video" streams, but they are not media.
bool is_image_or_text_demuxer(std::string_view name) {
    constexpr std::array<std::string_view, 7> non_media = {"image2", "image2pipe", "tty", "bin", "xbin", "adf", "idf"};
    return name.ends_with("_pipe") || std::ranges::find(non_media, name) != non_media.end();
}

// A still-picture codec (png, mjpeg, gif, webp, bmp, tiff, …): libavcodec describes these with an
// image/ MIME type.
bool is_picture_codec(AVCodecID id) {
    AVCodecDescriptor const* descriptor = avcodec_descriptor_get(id);
    if (!descriptor || !descriptor->mime_types) return false;
    for (char const* const* mime = descriptor->mime_types; *mime; ++mime)
        if (std::string_view(*mime).starts_with("image/")) return true;
    return false;
}

char const* codec_name(AVStream const& stream) { return avcodec_get_name(stream.codecpar->codec_id); }

double seconds(std::int64_t ticks, AVRational time_base) {
    if (time_base.num <= 0 || time_base.den <= 0) return 0;
    return static_cast<double>(ticks) * av_q2d(time_base);
}

// The container's duration, else the longest of the described streams', else 0.
double duration_of(AVFormatContext const& input, std::initializer_list<AVStream const*> streams) {
    if (input.duration != AV_NOPTS_VALUE && input.duration > 0) return seconds(input.duration, AV_TIME_BASE_Q);
    double longest = 0;
    for (AVStream const* stream : streams)
        if (stream && stream->duration != AV_NOPTS_VALUE && stream->duration > 0)
            longest = std::max(longest, seconds(stream->duration, stream->time_base));
    return longest;
}

AudioInfo describe_audio(AVStream const& stream) {
    AVCodecParameters const& codec = *stream.codecpar;
    AudioInfo info{.codec = codec_name(stream),
                   .sample_rate = codec.sample_rate,
                   .channels = codec.ch_layout.nb_channels,
                   .bit_rate = codec.bit_rate};
    // PCM and other fixed-size-sample codecs often carry no bit rate; theirs follows from the format.
    if (int bits = av_get_exact_bits_per_sample(codec.codec_id); info.bit_rate <= 0 && bits > 0)
        info.bit_rate = std::int64_t{info.sample_rate} * info.channels * bits;
    return info;
}

VideoInfo describe_video(AVStream const& stream) {
    AVCodecParameters const& codec = *stream.codecpar;
    auto is_known = [](AVRational rate) { return rate.num > 0 && rate.den > 0; };
    AVRational const rate = is_known(stream.avg_frame_rate) ? stream.avg_frame_rate : stream.r_frame_rate;
    return VideoInfo{.codec = codec_name(stream),
                     .width = codec.width,
                     .height = codec.height,
                     .fps = is_known(rate) ? av_q2d(rate) : 0.0,
                     .bit_rate = codec.bit_rate};
}

// The sum of the described streams' bit rates, which leaves out container overhead and cover art
// (API.md gives a WAV the bit rate of its samples); the container's when a stream's is unknown.
std::int64_t bit_rate_of(AVFormatContext const& input, MediaInfo const& info) {
    std::int64_t const audio = info.audio ? info.audio->bit_rate : 0;
    std::int64_t const video = info.video ? info.video->bit_rate : 0;
    bool const every_stream_known = (!info.audio || audio > 0) && (!info.video || video > 0);
    if (!every_stream_known && input.bit_rate > 0) return input.bit_rate;
    return audio + video;
}

struct Container {
    std::string format;
    std::string content_type;
};

bool is_webm_codec(std::string_view codec) {
    return codec == "vp8" || codec == "vp9" || codec == "av1" || codec == "opus" || codec == "vorbis";
}

// The short format name and Content-Type for a demuxer (libav names some demuxers after every
// extension they read: "mov,mp4,m4a,3gp,3g2,mj2").
Container container_for(std::string_view demuxer, MediaInfo const& info) {
    bool const video = info.kind == "video";
    if (demuxer == "wav") return {"wav", "audio/wav"};
    if (demuxer == "mp3") return {"mp3", "audio/mpeg"};
    if (demuxer == "aac") return {"aac", "audio/aac"};
    if (demuxer == "flac") return {"flac", "audio/flac"};
    if (demuxer == "aiff") return {"aiff", "audio/aiff"};
    if (demuxer == "mpegts") return {"mpegts", "video/mp2t"};
    if (demuxer == "ogg") return {"ogg", video ? "video/ogg" : "audio/ogg"};
    if (demuxer == "mov,mp4,m4a,3gp,3g2,mj2") return {"mp4", video ? "video/mp4" : "audio/mp4"};
    if (demuxer == "matroska,webm") {
        bool const webm =
            (!info.audio || is_webm_codec(info.audio->codec)) && (!info.video || is_webm_codec(info.video->codec));
        if (webm) return {"webm", video ? "video/webm" : "audio/webm"};
        return {"matroska", video ? "video/x-matroska" : "audio/x-matroska"};
    }
    return {std::string(demuxer.substr(0, demuxer.find(','))), "application/octet-stream"};
}

// Decides whether an opened input is audio or video the server can read, and describes it.
Result<MediaInfo> describe(AVFormatContext& input) {
    std::string_view const demuxer = input.iformat->name;
    if (is_image_or_text_demuxer(demuxer))
        return Error(Errc::unsupported_media, "an image or text file (" + std::string(demuxer) + "), not media");

    auto audio = best_audio_stream(input);
    if (!audio) return audio.error();
    auto video = best_video_stream(input);
    if (!video) return video.error();
    if (!*audio && !*video) return Error(Errc::unsupported_media, "no audio or video stream");
    if (!*audio && is_picture_codec((*video)->codecpar->codec_id))
        return Error(Errc::unsupported_media, std::string("a still image (") + codec_name(**video) + "), not video");

    MediaInfo info;
    info.kind = *video ? "video" : "audio";
    if (*audio) info.audio = describe_audio(**audio);
    if (*video) info.video = describe_video(**video);
    for (unsigned i = 0; i < input.nb_streams; ++i)
        if (is_cover_art(*input.streams[i])) info.has_cover_art = true;
    info.duration = duration_of(input, {*audio, *video});
    info.bit_rate = bit_rate_of(input, info);
    auto container = container_for(demuxer, info);
    info.format = std::move(container.format);
    info.content_type = std::move(container.content_type);
    return info;
}

}  // namespace

namespace blocking {

Result<MediaInfo> probe(std::filesystem::path const& file, ProbeLimits limits, std::string_view name) {
    quiet_libav_logging();
    auto const what = "probe " + (name.empty() ? file.filename().string() : std::string(name));
    // Half the byte budget (at most libav's default) goes to find_stream_info, which stops on its
    // own with what it has; that leaves the rest for demuxers that estimate a duration from the end
    // of the file (MP3, MPEG-TS), so the hard budget only cuts off files that need far more.
    constexpr std::uint64_t default_probe_bytes = 5'000'000;
    detail::ReadLimits const read_limits{.timeout = limits.timeout,
                                         .max_bytes = limits.max_bytes,
                                         .probe_bytes = std::min(limits.max_bytes / 2, default_probe_bytes)};
    auto input = detail::InputFile::open(file, read_limits);
    if (!input) return input.error().context(what);
    AVFormatContext& context = (*input)->context();
    if (int rc = avformat_find_stream_info(&context, nullptr); rc < 0) return (*input)->error(rc).context(what);
    // find_stream_info may stop early when interrupted and still report success; what it read is partial.
    if ((*input)->timed_out()) return (*input)->error(AVERROR_EXIT).context(what);
    auto info = describe(context);
    if (!info) return info.error().context(what);
    return info;
}

}  // namespace blocking

}  // namespace onda::media::av
