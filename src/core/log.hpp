// The only logging API of onda: one line per event, fmt-style messages, key=value fields.
// Levels: error (a person should look), warn (degraded but handled), info (lifecycle),
// debug (per request), trace (per packet, off by default).
//
// Example:
//   log::Context ctx("req", request_id);
//   ctx.debug("GET {} -> {}", path, status);   // "req=r5f2 GET /v1/media -> 200"
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace onda::log {

enum class Level { trace, debug, info, warn, error, off };

// Parses "trace".."error"/"off"; anything else is nullopt.
std::optional<Level> parse_level(std::string_view name);

// Sets up the process logger (stderr, one line per event). Call once at start.
void init(Level level);

template <class... Args>
void trace(fmt::format_string<Args...> f, Args&&... args) {
    spdlog::trace(f, std::forward<Args>(args)...);
}
template <class... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
    spdlog::debug(f, std::forward<Args>(args)...);
}
template <class... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
    spdlog::info(f, std::forward<Args>(args)...);
}
template <class... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
    spdlog::warn(f, std::forward<Args>(args)...);
}
template <class... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
    spdlog::error(f, std::forward<Args>(args)...);
}

// A prefix of key=value fields (request id, peer, user) that every line of one conversation carries.
class Context {
public:
    Context() = default;
    Context(std::string_view key, std::string_view value) { add(key, value); }
    void add(std::string_view key, std::string_view value);
    std::string const& prefix() const { return prefix_; }

    template <class... Args>
    void debug(fmt::format_string<Args...> f, Args&&... args) const {
        if (spdlog::should_log(spdlog::level::debug))
            emit(spdlog::level::debug, fmt::format(f, std::forward<Args>(args)...));
    }
    template <class... Args>
    void info(fmt::format_string<Args...> f, Args&&... args) const {
        if (spdlog::should_log(spdlog::level::info))
            emit(spdlog::level::info, fmt::format(f, std::forward<Args>(args)...));
    }
    template <class... Args>
    void warn(fmt::format_string<Args...> f, Args&&... args) const {
        if (spdlog::should_log(spdlog::level::warn))
            emit(spdlog::level::warn, fmt::format(f, std::forward<Args>(args)...));
    }
    template <class... Args>
    void error(fmt::format_string<Args...> f, Args&&... args) const {
        emit(spdlog::level::err, fmt::format(f, std::forward<Args>(args)...));
    }

private:
    void emit(spdlog::level::level_enum level, std::string const& message) const;
    std::string prefix_;
};

}  // namespace onda::log
