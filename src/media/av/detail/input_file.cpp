#include "media/av/detail/input_file.hpp"

#include <algorithm>
#include <cerrno>
#include <string>
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

namespace onda::media::av::detail {

using std::chrono::steady_clock;

// What libav's callbacks see while the input is open: the file, how far it may still read, and
// until when. Owned by the InputFile, so it outlives every libav object that points to it.
struct InputFile::State {
    int fd = -1;
    std::int64_t size = 0;      // bytes in the file, for AVSEEK_SIZE
    std::int64_t position = 0;  // where the next read starts
    std::uint64_t bytes_left = 0;
    std::optional<steady_clock::time_point> deadline;
    std::chrono::milliseconds timeout{0};
    bool timed_out = false;
    bool refused_open = false;  // a demuxer asked to open another file or URL

    bool past_deadline() {
        if (!timed_out && deadline && steady_clock::now() >= *deadline) timed_out = true;
        return timed_out;
    }
};

namespace {

using State = InputFile::State;

Error errno_error(int code, std::string_view what) {
    auto errc = (code == ENOENT || code == ENOTDIR) ? Errc::not_found : Errc::internal;
    return Error(errc, std::string(what) + ": " + std::generic_category().message(code));
}

// AVIOContext read callback. The budget counts every byte handed to libav, wherever it seeks, and
// past it the file simply ends: a demuxer sees a short file, never a read of gigabytes.
int read_file(void* opaque, std::uint8_t* buffer, int buffer_size) {
    auto& state = *static_cast<State*>(opaque);
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
    auto& state = *static_cast<State*>(opaque);
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
int interrupt_reads(void* opaque) { return static_cast<State*>(opaque)->past_deadline() ? 1 : 0; }

// AVFormatContext::io_open. Playlists (HLS, DASH, concat), image sequences and references in a
// container would make libav open other files or URLs named by the upload; a file must stand alone.
int refuse_open(AVFormatContext* context, AVIOContext**, char const*, int, AVDictionary**) {
    static_cast<State*>(context->opaque)->refused_open = true;
    return AVERROR(EPERM);
}

char const* codec_name(AVStream const& stream) { return avcodec_get_name(stream.codecpar->codec_id); }

Error no_decoder(AVStream const& stream) {
    std::string const type = av_get_media_type_string(stream.codecpar->codec_type);
    return Error(Errc::unsupported_media, "no decoder for " + type + " codec " + codec_name(stream));
}

}  // namespace

InputFile::InputFile() : state_(std::make_unique<State>()) {}

InputFile::~InputFile() {
    context_.reset();  // before the I/O context it reads through
    io_.reset();
    if (state_->fd >= 0) ::close(state_->fd);
}

std::int64_t InputFile::size() const { return state_->size; }

bool InputFile::timed_out() const { return state_->timed_out; }

Error InputFile::error(int rc) const {
    if (state_->timed_out)
        return Error(Errc::timeout, "gave up after " + std::to_string(state_->timeout.count()) + " ms");
    if (state_->refused_open) return Error(Errc::unsupported_media, "the file refers to other files or URLs");
    // libav is handed nothing but the file, so an argument it finds invalid came from the file's bytes
    // (the MP3 demuxer says so of a file that ends inside its first frame header).
    if (rc == AVERROR(EINVAL)) return Error(Errc::unsupported_media, av_error(rc).message());
    return av_error(rc);
}

Result<std::unique_ptr<InputFile>> InputFile::open(std::filesystem::path const& file, ReadLimits limits) {
    std::unique_ptr<InputFile> input(new InputFile());
    State& state = *input->state_;
    // O_NONBLOCK so that a FIFO cannot hold the thread in open(2); regular files ignore it.
    state.fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (state.fd < 0) return errno_error(errno, "open");
    struct stat status {};
    if (::fstat(state.fd, &status) != 0) return errno_error(errno, "stat");
    if (!S_ISREG(status.st_mode)) return Error(Errc::invalid_argument, "not a regular file");
    if (status.st_size == 0) return Error(Errc::unsupported_media, "empty file");
    state.size = status.st_size;
    state.bytes_left = limits.max_bytes;
    if (limits.timeout) {
        state.timeout = *limits.timeout;
        state.deadline = steady_clock::now() + *limits.timeout;
    }

    constexpr int io_buffer_bytes = 32 * 1024;
    IoBuffer buffer(static_cast<unsigned char*>(av_malloc(io_buffer_bytes)));
    if (!buffer) return Error(Errc::internal, "out of memory");
    input->io_.reset(avio_alloc_context(buffer.get(), io_buffer_bytes, 0, &state, read_file, nullptr, seek_file));
    if (!input->io_) return Error(Errc::internal, "out of memory");
    buffer.release();  // the I/O context owns it now

    InputContext context(avformat_alloc_context());
    if (!context) return Error(Errc::internal, "out of memory");
    context->pb = input->io_.get();
    context->flags |= AVFMT_FLAG_CUSTOM_IO;  // closing the input must leave io to its owner
    context->opaque = &state;
    context->io_open = refuse_open;
    context->interrupt_callback = AVIOInterruptCB{.callback = interrupt_reads, .opaque = &state};
    constexpr std::uint64_t min_probe_bytes = 32;  // libav's floor for probesize
    context->probesize = static_cast<std::int64_t>(std::max(limits.probe_bytes, min_probe_bytes));
    // Media time read to find every stream and a frame rate: libav's default, set here so that it is
    // one number for every container instead of a per-demuxer guess.
    constexpr std::int64_t analyze_seconds = 5;
    context->max_analyze_duration = analyze_seconds * AV_TIME_BASE;
    // A demuxer that opens network protocols by itself (RTP for an .sdp file) checks this list; no
    // protocol is called "none", so none is allowed.
    if (int rc = av_opt_set(context.get(), "protocol_whitelist", "none", 0); rc < 0) return av_error(rc);

    // avformat_open_input frees a context it was given when it fails, so it takes the raw pointer.
    AVFormatContext* raw = context.release();
    if (int rc = avformat_open_input(&raw, file.c_str(), nullptr, nullptr); rc < 0) return input->error(rc);
    input->context_.reset(raw);
    return input;
}

bool is_cover_art(AVStream const& stream) { return (stream.disposition & AV_DISPOSITION_ATTACHED_PIC) != 0; }

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

// av_find_best_stream cannot pass over cover art, so this ranks the other video streams the way it
// does, on their public fields: a decoder first, then the default disposition, then picture size,
// then bit rate.
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

}  // namespace onda::media::av::detail
