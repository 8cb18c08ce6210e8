// Fuzzes onda::parse_duration and onda::parse_size (src/core/config.hpp) on arbitrary text.
// Grammar accepted: 1*DIGIT [unit], durations "ms" "s" "m" "h" "d" (bare number: seconds), sizes
// "B" "KiB" "MiB" "GiB" "KB"/"kB" "MB" "GB" (bare number: bytes).
// Properties: a success means the text is digits followed by one of those units (so it starts
// with a digit); a duration is never negative; the value is the number times what "1<unit>" is,
// without wrapping around; the result written back in the base unit ("<n>ms", "<n>" bytes) parses
// to the same value; the digits alone and with the default unit agree; every failure is
// Errc::invalid_argument.
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "core/config.hpp"
#include "fuzz_check.hpp"

namespace {

using namespace onda;

constexpr std::string_view duration_units[] = {"", "ms", "s", "m", "h", "d"};
constexpr std::string_view size_units[] = {"", "B", "KiB", "MiB", "GiB", "KB", "kB", "MB", "GB"};

std::uint64_t number_value(std::string_view digits) {
    std::uint64_t value = 0;
    auto const [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    ONDA_FUZZ_CHECK(ec == std::errc{} && end == digits.data() + digits.size(), "an accepted number fits 64 bits");
    return value;
}

// Splits "123abc" into "123" and "abc".
std::pair<std::string_view, std::string_view> split_number(std::string_view text) {
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    return {text.substr(0, digits), text.substr(digits)};
}

template <std::size_t N>
bool is_one_of(std::string_view unit, std::string_view const (&units)[N]) {
    for (auto u : units)
        if (unit == u) return true;
    return false;
}

void check_duration(std::string_view text) {
    auto const parsed = parse_duration(text);
    if (!parsed) {
        ONDA_FUZZ_CHECK(parsed.error().code() == Errc::invalid_argument, "a bad duration is invalid_argument");
        return;
    }
    auto const [number, unit] = split_number(text);
    ONDA_FUZZ_CHECK(!number.empty(), "a duration starts with a digit");
    ONDA_FUZZ_CHECK(is_one_of(unit, duration_units), "a duration ends in a known unit");
    ONDA_FUZZ_CHECK(parsed->count() >= 0, "a duration is never negative");
    auto const one = parse_duration("1" + std::string(unit));
    ONDA_FUZZ_CHECK(one && one->count() > 0, "1<unit> is a positive duration");
    // Checked by division, so that a result that wrapped around cannot pass.
    auto const ms = static_cast<std::uint64_t>(parsed->count()), ms_per_unit = static_cast<std::uint64_t>(one->count());
    ONDA_FUZZ_CHECK(ms % ms_per_unit == 0 && ms / ms_per_unit == number_value(number), "n<unit> is n times 1<unit>");
    auto const again = parse_duration(std::to_string(parsed->count()) + "ms");
    ONDA_FUZZ_CHECK(again && *again == *parsed, "a duration written in ms parses to itself");
    if (unit.empty()) {
        auto const with_unit = parse_duration(std::string(text) + "s");
        ONDA_FUZZ_CHECK(with_unit && *with_unit == *parsed, "a bare number is seconds");
    }
}

void check_size(std::string_view text) {
    auto const parsed = parse_size(text);
    if (!parsed) {
        ONDA_FUZZ_CHECK(parsed.error().code() == Errc::invalid_argument, "a bad size is invalid_argument");
        return;
    }
    auto const [number, unit] = split_number(text);
    ONDA_FUZZ_CHECK(!number.empty(), "a size starts with a digit");
    ONDA_FUZZ_CHECK(is_one_of(unit, size_units), "a size ends in a known unit");
    auto const one = parse_size("1" + std::string(unit));
    ONDA_FUZZ_CHECK(one && *one > 0, "1<unit> is a positive size");
    // Checked by division, so that a result that wrapped around cannot pass.
    ONDA_FUZZ_CHECK(*parsed % *one == 0 && *parsed / *one == number_value(number), "n<unit> is n times 1<unit>");
    auto const again = parse_size(std::to_string(*parsed));
    ONDA_FUZZ_CHECK(again && *again == *parsed, "a size written in bytes parses to itself");
    if (unit.empty()) {
        auto const with_unit = parse_size(std::string(text) + "B");
        ONDA_FUZZ_CHECK(with_unit && *with_unit == *parsed, "a bare number is bytes");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    std::string_view const text(reinterpret_cast<char const*>(data), size);
    check_duration(text);
    check_size(text);
    return 0;
}
