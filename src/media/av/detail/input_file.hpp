// A media file opened for libav through onda's own reader, shared by the probe and the transcoder.
// Every byte libav reads goes through read callbacks that enforce a byte budget and a deadline,
// and the input may not open any other file or URL (playlists, references, network protocols):
// what a file names is never followed.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <memory>

#include "core/error.hpp"
#include "media/av/libav.hpp"

namespace onda::media::av::detail {

struct ReadLimits {
    std::optional<std::chrono::milliseconds> timeout;  // none: no deadline
    std::uint64_t max_bytes = std::numeric_limits<std::uint64_t>::max();
    std::uint64_t probe_bytes = 5'000'000;  // AVFormatContext::probesize
};

class InputFile {
public:
    // unsupported_media for bytes libav cannot open (and for an empty file), not_found, timeout.
    static Result<std::unique_ptr<InputFile>> open(std::filesystem::path const& file, ReadLimits limits);

    ~InputFile();
    InputFile(InputFile const&) = delete;
    InputFile& operator=(InputFile const&) = delete;

    AVFormatContext& context() { return *context_; }
    std::int64_t size() const;
    // The Error for a failed libav call on this input, told from what the reader saw: a fired
    // deadline or a refused open explains the return code better than its own text.
    Error error(int rc) const;
    bool timed_out() const;

    struct State;

private:
    InputFile();

    std::unique_ptr<State> state_;
    IoContext io_;
    InputContext context_;  // declared after io_: destroyed first
};

// The audio stream to decode, or nullptr when there is none. no_decoder-style unsupported_media
// when the only audio has no decoder.
Result<AVStream const*> best_audio_stream(AVFormatContext& input);
// The picture stream to decode (never cover art), or nullptr when there is none.
Result<AVStream const*> best_video_stream(AVFormatContext const& input);
bool is_cover_art(AVStream const& stream);

}  // namespace onda::media::av::detail
