// The byte layout of a constant-bit-rate MP3 whose length is known before it is encoded, and its
// first frame, the "Info" frame (the Xing header's name for CBR files) that tells players the
// duration and lets them seek.
//
// Why the length is known: an MPEG-1 Layer III frame holds 1152 samples in
// 144 * bit_rate / sample_rate bytes, plus one padding byte in some frames when that is not a whole
// number. At 32 and 48 kHz every offered bit rate gives a whole number, so no frame is padded and
// every frame has the same size. The file is then
//
//   [Info frame][audio frame 0][audio frame 1] … [audio frame N-1]      (1 + N) * frame_bytes
//
// with N = ceil((S + 1105) / 1152) for S samples: libmp3lame's decoded output starts 1105 samples
// late (576 of encoder delay, 529 of decoder delay), and the last frame must reach the last sample.
//
// The Info frame (Xing/Info tag, with LAME's extension; gabriel.mp3-tech.org "mp3infotag"):
//   4     frame header: sync, MPEG-1, Layer III, no CRC, bit rate, sample rate, no padding, mode
//   32|17 side information, zeroed (stereo | mono): a decoder reads it as a frame of silence
//   4     "Info"
//   4     flags 0x0F: frames, bytes, TOC and quality follow (big-endian, like every field)
//   4     N, the audio frames after this one
//   4     the file's length in bytes, this frame included
//   100   TOC: entry i is the byte position of i % of the duration, in 1/256 of the length; for CBR
//         the line floor(i * 256 / 100)
//   4     quality (0)
//   36    LAME extension: encoder name (9), revision and method (1: CBR), lowpass, peak, replay
//         gains, flags, bit rate in kbit/s (255 at most), encoder delay and padding (12 bits each,
//         the gapless playback information), misc, mp3 gain, preset, music length (the file's
//         length), music CRC (0: not known before encoding), and the CRC-16 (0x8005, reflected)
//         of the frame's bytes before it.
//   …     zeros to frame_bytes
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace onda::media {

inline constexpr int mp3_samples_per_frame = 1152;
inline constexpr int mp3_encoder_delay = 576;  // libmp3lame's, in samples
inline constexpr int mp3_decoder_delay = 529;  // every Layer III decoder's
inline constexpr int mp3_total_delay = mp3_encoder_delay + mp3_decoder_delay;

struct Mp3Layout {
    int sample_rate = 48'000;  // 32000 or 48000
    std::int64_t bit_rate = 128'000;
    int channels = 2;          // 1: mono, else joint stereo
    std::int64_t samples = 0;  // the source's samples at sample_rate

    // Bytes of every frame, the Info frame included.
    int frame_bytes() const { return static_cast<int>(144 * bit_rate / sample_rate); }
    // N: the audio frames (the Info frame not counted).
    std::int64_t audio_frames() const;
    std::uint64_t length() const { return static_cast<std::uint64_t>(audio_frames() + 1) * frame_bytes(); }
    // Samples of silence the last frame carries past the source (the gapless "padding").
    std::int64_t end_padding() const { return audio_frames() * mp3_samples_per_frame - samples - mp3_total_delay; }
};

// Whether `bit_rate` at `sample_rate` gives frames of a whole number of bytes that an MPEG-1 Layer
// III header can name.
bool is_exact_mp3_rate(int sample_rate, std::int64_t bit_rate);

// The four header bytes of every frame of `layout` (the mode extension bits zero).
std::uint32_t mp3_frame_header(Mp3Layout const& layout);

// The whole Info frame, frame_bytes() long. `encoder` names the encoder in the LAME extension
// (9 bytes used; readers take the gapless fields only from "LAME", "Lavf" or "Lavc").
std::string mp3_info_frame(Mp3Layout const& layout, std::string const& encoder);

// CRC-16 with polynomial 0x8005, reflected, initial value 0 (CRC-16/ARC), as the LAME tag uses.
std::uint16_t crc16_arc(std::string_view bytes);

}  // namespace onda::media
