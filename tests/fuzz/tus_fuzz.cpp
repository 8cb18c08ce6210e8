// Fuzzes the tus header parsers (src/uploads/tus_protocol.hpp) with one input split three ways.
// Properties, for any bytes x:
//   - parse_size(x) succeeds exactly when x is 1..19 decimal digits worth at most 2^63 - 1, and then
//     printing the value gives x back without its leading zeros;
//   - parse_metadata(x) gives at most max_metadata_pairs pairs with distinct keys of printable ASCII
//     (no space or comma), and re-encoding those pairs parses to the same pairs;
//   - parse_checksum(x) yields a digest of exactly the algorithm's length.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "auth/base64.hpp"
#include "fuzz_check.hpp"
#include "uploads/tus_protocol.hpp"

namespace {

using namespace onda::uploads;

void check_size(std::string_view text) {
    auto const parsed = tus::parse_size(text, "Upload-Offset");
    bool digits = !text.empty() && text.size() <= 19;
    for (char c : text) digits = digits && c >= '0' && c <= '9';
    if (!digits) {
        ONDA_FUZZ_CHECK(!parsed, "only digits parse");
        return;
    }
    if (!parsed) {
        ONDA_FUZZ_CHECK(text.size() == 19 && text > "9223372036854775807", "only values past 2^63 - 1 are refused");
        return;
    }
    std::string_view trimmed = text;
    while (trimmed.size() > 1 && trimmed.front() == '0') trimmed.remove_prefix(1);
    ONDA_FUZZ_CHECK(std::to_string(*parsed) == trimmed, "the value prints back as the digits");
}

void check_metadata(std::string_view text) {
    auto const parsed = tus::parse_metadata(text);
    if (!parsed) return;
    ONDA_FUZZ_CHECK(parsed->size() <= tus::max_metadata_pairs, "at most max_metadata_pairs keys");
    std::set<std::string> keys;
    std::string encoded;
    for (auto const& [key, value] : *parsed) {
        ONDA_FUZZ_CHECK(!key.empty(), "keys are not empty");
        for (char c : key) ONDA_FUZZ_CHECK(c > ' ' && c < 0x7f && c != ',', "keys are printable ASCII");
        ONDA_FUZZ_CHECK(keys.insert(key).second, "keys are distinct");
        if (!encoded.empty()) encoded += ',';
        encoded += key;
        if (!value.empty()) encoded += ' ' + onda::auth::base64_encode(value);
    }
    auto const again = tus::parse_metadata(encoded);
    ONDA_FUZZ_CHECK(again && *again == *parsed, "re-encoded pairs parse the same");
}

void check_checksum(std::string_view text) {
    auto const parsed = tus::parse_checksum(text);
    if (parsed) ONDA_FUZZ_CHECK(parsed->digest.size() == digest_size(parsed->algorithm), "digest length fits");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    std::string_view const input(reinterpret_cast<char const*>(data), size);
    // "size\nmetadata\nchecksum": each parser sees its part; the whole input goes to each as well.
    auto const first = input.find('\n');
    auto const second = first == std::string_view::npos ? first : input.find('\n', first + 1);
    check_size(input.substr(0, first));
    if (first != std::string_view::npos) check_metadata(input.substr(first + 1, second - first - 1));
    if (second != std::string_view::npos) check_checksum(input.substr(second + 1));
    check_metadata(input);
    check_checksum(input);
    return 0;
}
