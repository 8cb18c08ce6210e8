#include "media/convert/wav_layout.hpp"

#include <algorithm>

namespace onda::media {
namespace {

void put_le(std::string& out, std::uint64_t value, int bytes) {
    for (int i = 0; i < bytes; ++i, value >>= 8) out += static_cast<char>(value & 0xff);
}

}  // namespace

std::string wav_header(WavLayout const& layout) {
    constexpr std::uint64_t unknown = 0xFFFFFFFFu;
    std::uint64_t const data = layout.data_bytes();
    std::string out;
    out.reserve(wav_header_bytes);
    out += "RIFF";
    put_le(out, std::min(data + wav_header_bytes - 8, unknown), 4);
    out += "WAVEfmt ";
    put_le(out, 16, 4);
    put_le(out, 1, 2);  // PCM
    put_le(out, static_cast<std::uint64_t>(layout.channels), 2);
    put_le(out, static_cast<std::uint64_t>(layout.sample_rate), 4);
    put_le(out, static_cast<std::uint64_t>(layout.sample_rate) * layout.block_bytes(), 4);
    put_le(out, layout.block_bytes(), 2);
    put_le(out, 16, 2);
    out += "data";
    put_le(out, std::min(data, unknown), 4);
    return out;
}

}  // namespace onda::media
