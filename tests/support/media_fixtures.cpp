#include "support/media_fixtures.hpp"

#include <cmath>
#include <cstdint>

namespace onda::test {
namespace {
void put_le(std::string& out, std::uint32_t value, int bytes) {
    for (int i = 0; i < bytes; ++i) out += static_cast<char>((value >> (8 * i)) & 0xff);
}
}  // namespace

std::string make_wav(double seconds, int sample_rate) {
    auto const samples = static_cast<std::uint32_t>(seconds * sample_rate);
    std::uint32_t const data_bytes = samples * 2;
    std::string out = "RIFF";
    put_le(out, 36 + data_bytes, 4);
    out += "WAVEfmt ";
    put_le(out, 16, 4);  // fmt chunk size
    put_le(out, 1, 2);   // PCM
    put_le(out, 1, 2);   // mono
    put_le(out, static_cast<std::uint32_t>(sample_rate), 4);
    put_le(out, static_cast<std::uint32_t>(sample_rate) * 2, 4);  // byte rate
    put_le(out, 2, 2);                                            // block align
    put_le(out, 16, 2);                                           // bits per sample
    out += "data";
    put_le(out, data_bytes, 4);
    for (std::uint32_t i = 0; i < samples; ++i) {
        auto value = static_cast<std::int16_t>(8000 * std::sin(2 * M_PI * 440 * i / sample_rate));
        put_le(out, static_cast<std::uint16_t>(value), 2);
    }
    return out;
}

std::string make_undecodable_wav() {
    std::string const data(4000, '\0');
    std::string out = "RIFF";
    put_le(out, 4 + 8 + 16 + 8 + static_cast<std::uint32_t>(data.size()), 4);
    out += "WAVEfmt ";
    put_le(out, 16, 4);
    put_le(out, 0x55, 2);  // MPEG layer 3
    put_le(out, 1, 2);     // mono
    put_le(out, 8000, 4);  // sample rate
    put_le(out, 1000, 4);  // byte rate: 8 kbit/s
    put_le(out, 1, 2);     // block align
    put_le(out, 0, 2);     // bits per sample
    out += "data";
    put_le(out, static_cast<std::uint32_t>(data.size()), 4);
    return out + data;
}

}  // namespace onda::test
