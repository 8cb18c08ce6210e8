#include "media/probe.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <initializer_list>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/opt.h>
}

#include "media/av.hpp"

namespace onda::media {
namespace {

using std::chrono::steady_clock;

// A read-only descriptor, closed on destruction.
class FileDescriptor {
public:
    explicit FileDescriptor(int fd) : fd_(fd) {}
    FileDescriptor(FileDescriptor&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    FileDescriptor& operator=(FileDescriptor&&) = delete;
    FileDescriptor(FileDescriptor const&) = delete;
    FileDescriptor& operator=(FileDescriptor const&) = delete;
    ~FileDescriptor() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const { return fd_; }

private:
    int fd_;
};

Error errno_error(int code, std::string_view what) {
    auto errc = (code == ENOENT || code == ENOTDIR) ? Errc::not_found : Errc::internal;
    return Error(errc, std::string(what) + ": " + std::generic_category().message(code));
}

struct OpenFile {
    FileDescriptor fd;
    std::int64_t size = 0;
};

Result<OpenFile> open_regular_file(std::filesystem::path const& file) {
    // O_NONBLOCK so that a FIFO cannot hold the thread in open(2); regular files ignore it.
    FileDescriptor fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (fd.get() < 0) return errno_error(errno, "open");
    struct stat status {};
    if (::fstat(fd.get(), &status) != 0) return errno_error(errno, "stat");
    if (!S_ISREG(status.st_mode)) return Error(Errc::invalid_argument, "not a regular file");
    return OpenFile{.fd = std::move(fd), .size = status.st_size};
}

// What libav's callbacks see while one probe runs: the file, how far it may still read, and until
// when. It lives on blocking::probe's stack and outlives every libav object that points to it.
struct ProbeState {
    int fd = -1;
    std::int64_t size = 0;      // bytes in the file, for AVSEEK_SIZE
    std::int64_t position = 0;  // where the next read starts
    std::uint64_t bytes_left = 0;
    steady_clock::time_point deadline;
    bool timed_out = false;
    bool refused_open = false;  // a demuxer asked to open another file or URL

    bool past_deadline() {
        if (!timed_out && steady_clock::now() >= deadline) timed_out = true;
        return timed_out;
    }
};

// AVIOContext read callback. The budget counts every byte handed to libav, wherever it seeks, and
// past it the file simply ends: a demuxer sees a short file, never a read of gigabytes.
int read_file(void* opaque, std::uint8_t* buffer, int buffer_size) {
    auto& state = *static_cast<ProbeState*>(opaque);
    // libav polls the interrupt callback while it reads packets, not while a demuxer reads its
    // headers through a custom AVIOContext; checking here bounds those reads too.
    if (state.past_deadline()) return AVERROR_EXIT;
    if (state.bytes_left == 0) return AVERROR_EOF;
    auto const wanted = static_cast<std::size_t>(std::min(static_cast<std::uint64_t>(buffer_size), state.bytes_left));
    ssize_t got = 0;
    do {
        got = ::pread(state.fd, buffer, wanted, state.position);
    } while (got < 0 && errno == EINTR);
    if (got < 0) return AVERROR(errno);
    if (got == 0) return AVERROR_EOF;
    state.position += got;
    state.bytes_left -= static_cast<std::uint64_t>(got);
    return static_cast<int>(got);
}

// AVIOContext seek callback: whence is SEEK_SET, SEEK_CUR or SEEK_END, or AVSEEK_SIZE for the size.
// Seeking costs nothing from the budget; only the bytes read afterwards do.
std::int64_t seek_file(void* opaque, std::int64_t offset, int whence) {
    auto& state = *static_cast<ProbeState*>(opaque);
    whence &= ~AVSEEK_FORCE;  // a hint that seeking is cheap, which it is here
    std::int64_t target = 0;
    switch (whence) {
    case AVSEEK_SIZE: return state.size;
    case SEEK_SET: target = offset; break;
    case SEEK_CUR: target = state.position + offset; break;
    case SEEK_END: target = state.size + offset; break;
    default: return AVERROR(EINVAL);
    }
    if (target < 0) return AVERROR(EINVAL);
    state.position = target;
    return target;
}

// AVIOInterruptCB: non-zero stops whatever libav is doing with AVERROR_EXIT.
int interrupt_probe(void* opaque) { return static_cast<ProbeState*>(opaque)->past_deadline() ? 1 : 0; }

// AVFormatContext::io_open. Playlists (HLS, DASH, concat), image sequences and references in a
// container would make the probe open other files or URLs named by the upload; a probed file
// must stand alone.
int refuse_open(AVFormatContext* context, AVIOContext**, char const*, int, AVDictionary**) {
    static_cast<ProbeState*>(context->opaque)->refused_open = true;
    return AVERROR(EPERM);
}

// The error of a failed libav call, told from what the callbacks saw: a fired deadline or a refused
// open explains the return code better than its own text.
Error probe_error(ProbeState const& state, int rc, std::chrono::milliseconds timeout) {
    if (state.timed_out) return Error(Errc::timeout, "gave up after " + std::to_string(timeout.count()) + " ms");
    if (state.refused_open) return Error(Errc::unsupported_media, "the file refers to other files or URLs");
    // libav is handed nothing but the file, so an argument it finds invalid came from the file's bytes
    // (the MP3 demuxer says so of a file that ends inside its first frame header).
    if (rc == AVERROR(EINVAL)) return Error(Errc::unsupported_media, av_error(rc).message());
    return av_error(rc);
}

// An opened input and the AVIOContext it reads through. The members are destroyed in reverse order,
// so the format context goes before the I/O context it uses.
struct OpenInput {
    IoContext io;
    InputContext context;
};

Result<OpenInput> open_input(ProbeState& state, std::filesystem::path const& file, ProbeLimits limits) {
    constexpr int io_buffer_bytes = 32 * 1024;
    IoBuffer buffer(static_cast<unsigned char*>(av_malloc(io_buffer_bytes)));
    if (!buffer) return Error(Errc::internal, "out of memory");
    IoContext io(avio_alloc_context(buffer.get(), io_buffer_bytes, 0, &state, read_file, nullptr, seek_file));
    if (!io) return Error(Errc::internal, "out of memory");
    buffer.release();  // io owns it now

    InputContext context(avformat_alloc_context());
    if (!context) return Error(Errc::internal, "out of memory");
    context->pb = io.get();
    context->flags |= AVFMT_FLAG_CUSTOM_IO;  // closing the input must leave io to its owner
    context->opaque = &state;
    context->io_open = refuse_open;
    context->interrupt_callback = AVIOInterruptCB{.callback = interrupt_probe, .opaque = &state};
    // find_stream_info stops on its own, with what it has, after probesize bytes. Half the byte budget
    // (at most libav's default) leaves the rest for demuxers that estimate a duration from the end of
    // the file (MP3, MPEG-TS), so the hard budget only cuts off files that need far more.
    constexpr std::uint64_t default_probe_bytes = 5'000'000;
    constexpr std::uint64_t min_probe_bytes = 32;  // libav's floor for probesize
    auto const probe_bytes = std::clamp(limits.max_bytes / 2, min_probe_bytes, default_probe_bytes);
    context->probesize = static_cast<std::int64_t>(probe_bytes);
    // Media time read to find every stream and a frame rate: libav's default, set here so that it is
    // one number for every container instead of a per-demuxer guess.
    constexpr std::int64_t analyze_seconds = 5;
    context->max_analyze_duration = analyze_seconds * AV_TIME_BASE;
    // A demuxer that opens network protocols by itself (RTP for an .sdp file) checks this list; no
    // protocol is called "none", so none is allowed.
    if (int rc = av_opt_set(context.get(), "protocol_whitelist", "none", 0); rc < 0) return av_error(rc);

    // avformat_open_input frees a context it was given when it fails, so it takes the raw pointer.
    AVFormatContext* raw = context.release();
    if (int rc = avformat_open_input(&raw, file.c_str(), nullptr, nullptr); rc < 0)
        return probe_error(state, rc, limits.timeout);
    context.reset(raw);
    return OpenInput{.io = std::move(io), .context = std::move(context)};
}

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

bool is_cover_art(AVStream const& stream) { return (stream.disposition & AV_DISPOSITION_ATTACHED_PIC) != 0; }

char const* codec_name(AVStream const& stream) { return avcodec_get_name(stream.codecpar->codec_id); }

Error no_decoder(AVStream const& stream) {
    std::string const type = av_get_media_type_string(stream.codecpar->codec_type);
    return Error(Errc::unsupported_media, "no decoder for " + type + " codec " + codec_name(stream));
}

// The audio stream to describe, or nullptr when there is none. av_find_best_stream skips streams
// without a decoder, and reports when that left nothing.
Result<AVStream const*> best_audio_stream(AVFormatContext& input) {
    AVCodec const* decoder = nullptr;
    int index = av_find_best_stream(&input, AVMEDIA_TYPE_AUDIO, -1, -1, &decoder, 0);
    if (index == AVERROR_STREAM_NOT_FOUND) return nullptr;
    if (index == AVERROR_DECODER_NOT_FOUND) {
        for (unsigned i = 0; i < input.nb_streams; ++i)
            if (input.streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO) return no_decoder(*input.streams[i]);
    }
    if (index < 0) return av_error(index);
    return input.streams[index];
}

// The picture stream to describe, or nullptr when there is none. av_find_best_stream cannot pass over
// cover art, so this ranks the other video streams the way it does, on their public fields: a
// decoder first, then the default disposition, then picture size, then bit rate.
Result<AVStream const*> best_video_stream(AVFormatContext const& input) {
    AVStream const* best = nullptr;
    auto rank = [](AVStream const& stream) {
        AVCodecParameters const& codec = *stream.codecpar;
        bool const decodable = avcodec_find_decoder(codec.codec_id) != nullptr;
        bool const is_default = (stream.disposition & AV_DISPOSITION_DEFAULT) != 0;
        return std::tuple(decodable, is_default, std::int64_t{codec.width} * codec.height, codec.bit_rate);
    };
    for (unsigned i = 0; i < input.nb_streams; ++i) {
        AVStream const& stream = *input.streams[i];
        if (stream.codecpar->codec_type != AVMEDIA_TYPE_VIDEO || is_cover_art(stream)) continue;
        // A picture size of zero means libav could not read the stream's headers: nothing to play.
        if (stream.codecpar->width <= 0 || stream.codecpar->height <= 0) continue;
        if (!best || rank(stream) > rank(*best)) best = &stream;
    }
    if (best && !avcodec_find_decoder(best->codecpar->codec_id)) return no_decoder(*best);
    return best;
}

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

boost::json::object to_json(AudioInfo const& info) {
    return {{"codec", info.codec},
            {"sample_rate", info.sample_rate},
            {"channels", info.channels},
            {"bit_rate", info.bit_rate}};
}

boost::json::object to_json(VideoInfo const& info) {
    return {{"codec", info.codec},
            {"width", info.width},
            {"height", info.height},
            {"fps", info.fps},
            {"bit_rate", info.bit_rate}};
}

boost::json::object to_json(MediaInfo const& info) {
    auto or_null = [](auto const& part) {
        return part ? boost::json::value(to_json(*part)) : boost::json::value(nullptr);
    };
    return {{"kind", info.kind},
            {"format", info.format},
            {"content_type", info.content_type},
            {"duration", info.duration},
            {"bit_rate", info.bit_rate},
            {"audio", or_null(info.audio)},
            {"video", or_null(info.video)},
            {"has_cover_art", info.has_cover_art}};
}

namespace blocking {

Result<MediaInfo> probe(std::filesystem::path const& file, ProbeLimits limits) {
    quiet_libav_logging();
    auto const what = "probe " + file.filename().string();  // no directories: errors reach clients
    auto opened = open_regular_file(file);
    if (!opened) return opened.error().context(what);
    if (opened->size == 0) return Error(Errc::unsupported_media, "empty file").context(what);

    ProbeState state{.fd = opened->fd.get(),
                     .size = opened->size,
                     .bytes_left = limits.max_bytes,
                     .deadline = steady_clock::now() + limits.timeout};
    auto input = open_input(state, file, limits);
    if (!input) return input.error().context(what);
    if (int rc = avformat_find_stream_info(input->context.get(), nullptr); rc < 0)
        return probe_error(state, rc, limits.timeout).context(what);
    // find_stream_info may stop early when interrupted and still report success; what it read is partial.
    if (state.timed_out) return probe_error(state, AVERROR_EXIT, limits.timeout).context(what);
    auto info = describe(*input->context);
    if (!info) return info.error().context(what);
    return info;
}

}  // namespace blocking

Task<Result<MediaInfo>> probe(net::thread_pool& pool, std::filesystem::path file, ProbeLimits limits) {
    co_return co_await offload(pool, blocking::probe, std::move(file), limits);
}

}  // namespace onda::media
