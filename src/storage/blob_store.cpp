#include "storage/blob_store.hpp"

namespace onda::storage {
namespace {

// The key alphabet, spelled out rather than taken from <cctype> so the locale cannot widen it.
bool is_key_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
}

bool is_valid_segment(std::string_view segment) {
    if (segment.empty() || segment == "." || segment == "..") return false;
    for (char c : segment)
        if (!is_key_char(c)) return false;
    return true;
}

}  // namespace

bool is_valid_key(std::string_view key) {
    // Splitting on '/' and checking every piece also rejects "", "/a", "a/" and "a//b": each has an empty segment.
    std::size_t start = 0;
    for (;;) {
        std::size_t const slash = key.find('/', start);
        if (!is_valid_segment(key.substr(start, slash == std::string_view::npos ? slash : slash - start))) return false;
        if (slash == std::string_view::npos) return true;
        start = slash + 1;
    }
}

}  // namespace onda::storage
