#include "media/convert/mp3_layout.hpp"

#include <algorithm>
#include <array>

namespace onda::media {
namespace {

// MPEG-1 Layer III bit rate indexes (ISO/IEC 11172-3 §2.4.2.3), in kbit/s; index 0 is "free".
constexpr std::array<int, 15> bit_rate_kbps{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320};

int bit_rate_index(std::int64_t bit_rate) {
    for (std::size_t i = 1; i < bit_rate_kbps.size(); ++i)
        if (std::int64_t{bit_rate_kbps[i]} * 1000 == bit_rate) return static_cast<int>(i);
    return -1;
}

int sample_rate_index(int sample_rate) {
    switch (sample_rate) {
    case 44'100: return 0;
    case 48'000: return 1;
    case 32'000: return 2;
    default: return -1;
    }
}

void put_be(std::string& out, std::size_t at, std::uint64_t value, int bytes) {
    for (int i = bytes - 1; i >= 0; --i, value >>= 8)
        out[at + static_cast<std::size_t>(i)] = static_cast<char>(value & 0xff);
}

}  // namespace

std::int64_t Mp3Layout::audio_frames() const {
    std::int64_t const needed = std::max<std::int64_t>(samples, 0) + mp3_total_delay;
    return (needed + mp3_samples_per_frame - 1) / mp3_samples_per_frame;
}

bool is_exact_mp3_rate(int sample_rate, std::int64_t bit_rate) {
    if (sample_rate_index(sample_rate) < 0 || bit_rate_index(bit_rate) < 0) return false;
    return (144 * bit_rate) % sample_rate == 0;
}

std::uint32_t mp3_frame_header(Mp3Layout const& layout) {
    // ISO/IEC 11172-3 §2.4.1.3: syncword (12 bits of 1), ID 1 (MPEG-1), layer 01 (III),
    // protection_bit 1 (no CRC), bitrate_index, sampling_frequency, padding_bit 0, private_bit 0,
    // mode (01 joint stereo, 11 single channel), mode_extension 0, copyright 0, original 1, emphasis 0.
    std::uint32_t const mode = layout.channels == 1 ? 3 : 1;
    return 0xFFFB0000u | (static_cast<std::uint32_t>(bit_rate_index(layout.bit_rate)) << 12) |
           (static_cast<std::uint32_t>(sample_rate_index(layout.sample_rate)) << 10) | (mode << 6) | (1u << 2);
}

std::uint16_t crc16_arc(std::string_view bytes) {
    std::uint16_t crc = 0;
    for (char c : bytes) {
        crc ^= static_cast<unsigned char>(c);
        for (int bit = 0; bit < 8; ++bit) crc = (crc & 1) ? static_cast<std::uint16_t>((crc >> 1) ^ 0xA001) : crc >> 1;
    }
    return crc;
}

std::string mp3_info_frame(Mp3Layout const& layout, std::string const& encoder) {
    std::string frame(static_cast<std::size_t>(layout.frame_bytes()), '\0');
    put_be(frame, 0, mp3_frame_header(layout), 4);
    std::size_t const side_info = layout.channels == 1 ? 17 : 32;
    std::size_t at = 4 + side_info;
    frame.replace(at, 4, "Info");
    put_be(frame, at + 4, 0x0F, 4);
    auto const frames = layout.audio_frames();
    auto const length = layout.length();
    put_be(frame, at + 8, static_cast<std::uint64_t>(frames), 4);
    put_be(frame, at + 12, std::min<std::uint64_t>(length, 0xFFFFFFFFu), 4);
    for (int i = 0; i < 100; ++i) frame[at + 16 + static_cast<std::size_t>(i)] = static_cast<char>(i * 256 / 100);
    // at + 116: quality, 0.
    std::size_t const lame = at + 120;
    frame.replace(lame, std::min<std::size_t>(encoder.size(), 9), encoder, 0, 9);
    frame[lame + 9] = 0x01;  // tag revision 0, method 1: constant bit rate
    frame[lame + 20] = static_cast<char>(std::min<std::int64_t>(layout.bit_rate / 1000, 255));
    auto const padding = static_cast<std::uint64_t>(std::clamp<std::int64_t>(layout.end_padding(), 0, 4095));
    put_be(frame, lame + 21, (std::uint64_t{mp3_encoder_delay} << 12) | padding, 3);
    put_be(frame, lame + 28, std::min<std::uint64_t>(length, 0xFFFFFFFFu), 4);
    std::size_t const crc_at = lame + 34;
    put_be(frame, crc_at, crc16_arc(std::string_view(frame).substr(0, crc_at)), 2);
    return frame;
}

}  // namespace onda::media
