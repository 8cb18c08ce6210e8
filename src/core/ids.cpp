#include "core/ids.hpp"

#include <algorithm>
#include <span>
#include <stdexcept>
#include <sys/random.h>

namespace onda {
namespace {
constexpr std::string_view base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr std::size_t id_chars = 20;
}  // namespace

void random_bytes(std::span<unsigned char> out) {
    std::size_t filled = 0;
    while (filled < out.size()) {
        ssize_t n = ::getrandom(out.data() + filled, out.size() - filled, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw std::runtime_error("getrandom failed");
        }
        filled += static_cast<std::size_t>(n);
    }
}

std::string make_id(std::string_view prefix) {
    std::string id(prefix);
    id += '_';
    unsigned char bytes[id_chars * 2];
    random_bytes(bytes);
    // Rejection sampling keeps every character equally likely: 248 = 4 * 62.
    std::size_t used = 0;
    for (unsigned char b : bytes) {
        if (b >= 248) continue;
        id += base62[b % 62];
        if (++used == id_chars) return id;
    }
    // Too many rejected bytes (vanishingly rare): draw again.
    return make_id(prefix);
}

bool is_valid_id(std::string_view id, std::string_view prefix) {
    if (id.size() != prefix.size() + 1 + id_chars) return false;
    if (id.substr(0, prefix.size()) != prefix || id[prefix.size()] != '_') return false;
    // The alphabet is ASCII letters and digits (checked per request: a range test, not a search).
    auto const is_base62 = [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    };
    return std::ranges::all_of(id.substr(prefix.size() + 1), is_base62);
}

}  // namespace onda
