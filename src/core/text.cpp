#include "core/text.hpp"

namespace onda {

bool is_valid_utf8(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size()) {
        auto const lead = static_cast<unsigned char>(text[i]);
        if (lead < 0x80) {
            ++i;
            continue;
        }
        // The length from the lead byte, and the range the second byte must fall in (which is what
        // excludes overlong forms, surrogates and code points past U+10FFFF: RFC 3629 §4's table).
        std::size_t length = 0;
        unsigned char low = 0x80, high = 0xBF;
        if (lead >= 0xC2 && lead <= 0xDF)
            length = 2;
        else if (lead == 0xE0)
            length = 3, low = 0xA0;
        else if (lead >= 0xE1 && lead <= 0xEC)
            length = 3;
        else if (lead == 0xED)
            length = 3, high = 0x9F;
        else if (lead >= 0xEE && lead <= 0xEF)
            length = 3;
        else if (lead == 0xF0)
            length = 4, low = 0x90;
        else if (lead >= 0xF1 && lead <= 0xF3)
            length = 4;
        else if (lead == 0xF4)
            length = 4, high = 0x8F;
        else
            return false;
        if (i + length > text.size()) return false;
        auto const second = static_cast<unsigned char>(text[i + 1]);
        if (second < low || second > high) return false;
        for (std::size_t k = 2; k < length; ++k) {
            auto const next = static_cast<unsigned char>(text[i + k]);
            if (next < 0x80 || next > 0xBF) return false;
        }
        i += length;
    }
    return true;
}

std::string replace_invalid_utf8(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        auto const lead = static_cast<unsigned char>(text[i]);
        std::size_t const length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
        if (i + length <= text.size() && is_valid_utf8(text.substr(i, length))) {
            out.append(text.substr(i, length));
            i += length;
        } else {
            out += '_';
            ++i;
        }
    }
    return out;
}

}  // namespace onda
