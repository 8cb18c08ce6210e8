#include "uploads/tus_protocol.hpp"

#include <charconv>
#include <limits>

#include "auth/base64.hpp"

namespace onda::uploads::tus {
namespace {

bool is_key_char(char c) { return c > ' ' && c < 0x7f && c != ','; }

}  // namespace

Result<std::uint64_t> parse_size(std::string_view text, std::string_view header) {
    auto invalid = [&] {
        return Error(Errc::invalid_argument, std::string(header) + " must be a non-negative integer");
    };
    if (text.empty() || text.size() > 19) return invalid();
    for (char c : text)
        if (c < '0' || c > '9') return invalid();
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() ||
        value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        return invalid();
    return value;
}

Result<MetadataPairs> parse_metadata(std::string_view header) {
    MetadataPairs pairs;
    if (header.empty()) return pairs;
    for (;;) {
        auto const comma = header.find(',');
        std::string_view item = header.substr(0, comma);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        auto const space = item.find(' ');
        std::string_view const key = item.substr(0, space);
        if (key.empty()) return Error(Errc::invalid_argument, "Upload-Metadata has an empty key");
        for (char c : key)
            if (!is_key_char(c)) return Error(Errc::invalid_argument, "Upload-Metadata has a malformed key");
        std::string value;
        if (space != std::string_view::npos) {
            auto decoded = auth::base64_decode(item.substr(space + 1));
            if (!decoded)
                return Error(Errc::invalid_argument, "Upload-Metadata value of " + std::string(key) + " is not base64");
            value = std::move(*decoded);
        }
        for (auto const& pair : pairs)
            if (pair.first == key) return Error(Errc::invalid_argument, "Upload-Metadata repeats " + std::string(key));
        if (pairs.size() == max_metadata_pairs)
            return Error(Errc::invalid_argument, "Upload-Metadata has too many keys");
        pairs.emplace_back(std::string(key), std::move(value));
        if (comma == std::string_view::npos) return pairs;
        header.remove_prefix(comma + 1);
    }
}

Result<Checksum> parse_checksum(std::string_view header) {
    auto const space = header.find(' ');
    if (space == std::string_view::npos)
        return Error(Errc::invalid_argument, "Upload-Checksum must be '<algorithm> <base64 digest>'");
    auto algorithm = parse_digest_algorithm(header.substr(0, space));
    if (!algorithm)
        return Error(Errc::invalid_argument,
                     "Upload-Checksum algorithm must be one of " + std::string(checksum_algorithms));
    auto digest = auth::base64_decode(header.substr(space + 1));
    if (!digest || digest->size() != digest_size(*algorithm))
        return Error(Errc::invalid_argument, "Upload-Checksum digest is not the base64 of a " +
                                                 std::string(header.substr(0, space)) + " digest");
    return Checksum{.algorithm = *algorithm, .digest = std::move(*digest)};
}

}  // namespace onda::uploads::tus
