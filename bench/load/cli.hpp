// What the load tools (http_load, tus_upload, socketio_load) share on their command lines: a refusal
// of bad arguments, numbers and sizes read from flag values, and the open-file limit.
#pragma once

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include <sys/resource.h>

namespace onda::bench {

// Prints "<tool>: <why>" and exits with status 2, the usual status for a command used wrongly, so a
// script can tell a bad invocation (2) from a failed measurement (1).
[[noreturn]] inline void exit_usage_error(char const* tool, std::string const& why) {
    std::fprintf(stderr, "%s: %s\n", tool, why.c_str());
    std::exit(2);
}

// Lets this process hold as many sockets as its hard limit allows (10,000 connections need it).
inline void raise_open_file_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
}

// The whole of `text` as a decimal number; nullopt for anything else.
template <class Number>
std::optional<Number> parse_number(std::string_view text) {
    Number value{};
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return value;
}

// "5242880", or with a unit: 5MiB, 5MB, 512KiB, 512kB (binary for *iB, decimal for *B).
inline std::optional<std::uint64_t> parse_size(std::string_view text) {
    struct Unit {
        std::string_view suffix;
        std::uint64_t factor;
    };
    static constexpr Unit units[] = {{"GiB", 1ULL << 30}, {"MiB", 1ULL << 20}, {"KiB", 1ULL << 10}, {"GB", 1000000000},
                                     {"MB", 1000000},     {"kB", 1000},        {"KB", 1000}};
    for (auto const& unit : units)
        if (text.ends_with(unit.suffix)) {
            auto n = parse_number<std::uint64_t>(text.substr(0, text.size() - unit.suffix.size()));
            if (!n) return std::nullopt;
            return *n * unit.factor;
        }
    return parse_number<std::uint64_t>(text);
}

}  // namespace onda::bench
