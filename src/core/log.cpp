#include "core/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>

namespace onda::log {

std::optional<Level> parse_level(std::string_view name) {
    if (name == "trace") return Level::trace;
    if (name == "debug") return Level::debug;
    if (name == "info") return Level::info;
    if (name == "warn" || name == "warning") return Level::warn;
    if (name == "error") return Level::error;
    if (name == "off") return Level::off;
    return std::nullopt;
}

void init(Level level) {
    auto logger = spdlog::stderr_logger_mt("onda");
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
    spdlog::set_default_logger(logger);
    spdlog::set_level(static_cast<spdlog::level::level_enum>(level));
}

void Context::add(std::string_view key, std::string_view value) {
    if (!prefix_.empty()) prefix_ += ' ';
    prefix_.append(key).append("=").append(value);
}

void Context::emit(spdlog::level::level_enum level, std::string const& message) const {
    spdlog::log(level, "{} {}", prefix_, message);
}

}  // namespace onda::log
