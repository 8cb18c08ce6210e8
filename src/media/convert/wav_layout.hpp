// The WAV file a conversion writes: the canonical 44-byte RIFF header of 16-bit PCM, then the
// samples, interleaved, little-endian. Its length is known before anything is decoded.
//
//   "RIFF" size-8 "WAVE"  "fmt " 16  format 1 (PCM)  channels  rate  rate*block  block  16
//   "data" data-size  samples…                         (every number little-endian)
//
// A body past 4 GiB cannot state its sizes; they are then 0xFFFFFFFF, which players read as
// "until the end of the file".
#pragma once

#include <cstdint>
#include <string>

namespace onda::media {

inline constexpr std::uint64_t wav_header_bytes = 44;

struct WavLayout {
    int sample_rate = 0;
    int channels = 0;
    std::int64_t samples = 0;  // per channel

    std::uint64_t block_bytes() const { return static_cast<std::uint64_t>(channels) * 2; }
    std::uint64_t data_bytes() const { return static_cast<std::uint64_t>(samples) * block_bytes(); }
    std::uint64_t length() const { return wav_header_bytes + data_bytes(); }
};

std::string wav_header(WavLayout const& layout);

}  // namespace onda::media
