// RFC 4648: every 3 input bytes become 4 characters of 6 bits each. A final group of 1 or 2 bytes
// becomes 2 or 3 characters; §4 base64 then pads to 4 with '=', while §5 base64url as JWS uses it
// (RFC 7515 §2) leaves the padding out. Decoding is canonical (§3.5): the bits a final partial
// group does not use must be zero, so each byte string has exactly one accepted encoding and a
// signature cannot be altered without changing its bytes.
#include "auth/base64.hpp"

#include <array>
#include <cstdint>

namespace onda::auth {
namespace {

constexpr std::string_view standard_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view url_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::int8_t not_in_alphabet = -1;

using DecodeTable = std::array<std::int8_t, 256>;

constexpr DecodeTable make_decode_table(std::string_view alphabet) {
    DecodeTable table{};
    table.fill(not_in_alphabet);
    for (std::size_t i = 0; i < alphabet.size(); ++i)
        table[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
    return table;
}

constexpr DecodeTable standard_table = make_decode_table(standard_alphabet);
constexpr DecodeTable url_table = make_decode_table(url_alphabet);

std::string encode(std::span<unsigned char const> bytes, std::string_view alphabet, bool pad) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        std::uint32_t group = (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
        out += alphabet[(group >> 18) & 0x3f];
        out += alphabet[(group >> 12) & 0x3f];
        out += alphabet[(group >> 6) & 0x3f];
        out += alphabet[group & 0x3f];
    }
    std::size_t const rest = bytes.size() - i;
    if (rest == 1) {
        std::uint32_t group = std::uint32_t{bytes[i]} << 16;
        out += alphabet[(group >> 18) & 0x3f];
        out += alphabet[(group >> 12) & 0x3f];
        if (pad) out += "==";
    } else if (rest == 2) {
        std::uint32_t group = (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8);
        out += alphabet[(group >> 18) & 0x3f];
        out += alphabet[(group >> 12) & 0x3f];
        out += alphabet[(group >> 6) & 0x3f];
        if (pad) out += '=';
    }
    return out;
}

// Decodes characters of one alphabet with no padding; nullopt on any character outside it, on a
// length that cannot come from whole bytes, or on non-zero unused bits.
std::optional<std::string> decode_unpadded(std::string_view text, DecodeTable const& table) {
    // One leftover character carries 6 bits, less than a byte: no encoder produces it.
    if (text.size() % 4 == 1) return std::nullopt;
    std::string out;
    out.reserve(text.size() / 4 * 3 + 2);
    std::uint32_t group = 0;
    int bits = 0;
    for (char c : text) {
        std::int8_t const value = table[static_cast<unsigned char>(c)];
        if (value == not_in_alphabet) return std::nullopt;
        group = (group << 6) | static_cast<std::uint32_t>(value);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((group >> bits) & 0xff);
            group &= (1u << bits) - 1;
        }
    }
    if (group != 0) return std::nullopt;  // unused trailing bits must be zero (RFC 4648 §3.5)
    return out;
}

std::span<unsigned char const> as_bytes(std::string_view text) {
    return {reinterpret_cast<unsigned char const*>(text.data()), text.size()};
}

}  // namespace

std::string base64url_encode(std::span<unsigned char const> bytes) { return encode(bytes, url_alphabet, false); }

std::string base64url_encode(std::string_view bytes) { return encode(as_bytes(bytes), url_alphabet, false); }

std::optional<std::string> base64url_decode(std::string_view text) { return decode_unpadded(text, url_table); }

std::string base64_encode(std::span<unsigned char const> bytes) { return encode(bytes, standard_alphabet, true); }
std::string base64_encode(std::string_view bytes) { return encode(as_bytes(bytes), standard_alphabet, true); }

std::optional<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) return std::nullopt;
    // Up to two '=' may close the last group, and nowhere else; the table rejects any other '='.
    std::size_t padding = 0;
    while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') ++padding;
    return decode_unpadded(text.substr(0, text.size() - padding), standard_table);
}

}  // namespace onda::auth
