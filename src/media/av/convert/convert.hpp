// `onda convert`'s work: a source file turned into the bytes of a conversion plan, written to a
// file descriptor as they are made (the child's standard output, which the server streams).
//
// MP3 and WAV start at any byte offset and give the bytes a full run gives from there:
//   mp3  the audio frames are made in blocks of mp3_block_frames. Each block is encoded by a fresh
//        libmp3lame encoder with the bit reservoir off (no frame borrows bytes from the one
//        before), fed from mp3_preroll_frames before the block (silence before the start) to
//        mp3_tail_frames after it, and only the block's own frames are kept. A block is therefore
//        the same bytes whether the run began at 0 or at that block; a run for offset X starts at
//        the block holding X and drops the bytes before X.
//   wav  the header, then blocks of one second of samples; a sample's bytes depend on that sample.
// Both pad the source with silence, or cut it, to exactly plan.samples, so that they end at the
// length announced before the run began.
// The streamed formats (aac, opus, ogg, flac) start at 0 and end with the source.
//
// This runs untrusted decoders: only in the `onda-media convert` child process, never in the server.
#pragma once

#include <cstdint>
#include <filesystem>

#include "core/error.hpp"
#include "media/convert/plan.hpp"

namespace onda::media::av {

inline constexpr int mp3_block_frames = 40;   // about one second at 48 kHz
inline constexpr int mp3_preroll_frames = 2;  // what the encoder's analysis looks back on
inline constexpr int mp3_tail_frames = 2;     // input past the block, so its last frames see what follows

namespace blocking {
// Writes bytes [offset, end) of the conversion of `file` to `out_fd`, blocking on each write.
// invalid_argument for an offset a streamed format cannot start at (anything but 0) or one past the
// end; unsupported_media when the file cannot be decoded; cancelled when the reader went away.
Result<void> convert(std::filesystem::path const& file, ConversionPlan const& plan, std::uint64_t offset, int out_fd);
}  // namespace blocking

}  // namespace onda::media::av
