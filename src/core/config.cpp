#include "core/config.hpp"

#include <cctype>
#include <charconv>
#include <limits>

#include <fmt/format.h>
#include <functional>

#include <toml++/toml.h>

namespace onda {

std::vector<std::string> split_list(std::string_view text) {
    std::vector<std::string> items;
    while (!text.empty()) {
        auto comma = text.find(',');
        auto item = text.substr(0, comma);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
        if (!item.empty()) items.emplace_back(item);
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
    }
    return items;
}

namespace {

using Setter = std::function<Result<void>(Config&, std::string_view)>;

Result<std::uint64_t> parse_unsigned(std::string_view text) {
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || text.empty())
        return Error(Errc::invalid_argument, "not a whole number: '" + std::string(text) + "'");
    return value;
}

template <class Field>
Setter text_setter(Field field) {
    return [field](Config& c, std::string_view v) -> Result<void> {
        std::invoke(field, c) = std::string(v);
        return ok();
    };
}

template <class Field>
Setter number_setter(Field field) {
    return [field](Config& c, std::string_view v) -> Result<void> {
        auto n = parse_unsigned(v);
        if (!n) return n.error();
        auto& target = std::invoke(field, c);
        using T = std::remove_reference_t<decltype(target)>;
        if (*n > std::numeric_limits<T>::max()) return Error(Errc::invalid_argument, "number too large");
        target = static_cast<T>(*n);
        return ok();
    };
}

template <class Field>
Setter bool_setter(Field field) {
    return [field](Config& c, std::string_view v) -> Result<void> {
        if (v == "true" || v == "1" || v == "yes" || v == "on") {
            std::invoke(field, c) = true;
        } else if (v == "false" || v == "0" || v == "no" || v == "off") {
            std::invoke(field, c) = false;
        } else {
            return Error(Errc::invalid_argument, "expected true or false, got '" + std::string(v) + "'");
        }
        return ok();
    };
}

template <class Field>
Setter duration_setter(Field field) {
    return [field](Config& c, std::string_view v) -> Result<void> {
        auto d = parse_duration(v);
        if (!d) return d.error();
        std::invoke(field, c) = *d;
        return ok();
    };
}

// For intervals and lifetimes, where zero would spin or expire everything at once.
template <class Field>
Setter positive_duration_setter(Field field) {
    return [field](Config& c, std::string_view v) -> Result<void> {
        auto d = parse_duration(v);
        if (!d) return d.error();
        if (d->count() <= 0) return Error(Errc::invalid_argument, "must be above zero");
        std::invoke(field, c) = *d;
        return ok();
    };
}

template <class Field>
Setter size_setter(Field field) {
    return [field](Config& c, std::string_view v) -> Result<void> {
        auto n = parse_size(v);
        if (!n) return n.error();
        std::invoke(field, c) = static_cast<std::remove_reference_t<decltype(std::invoke(field, c))>>(*n);
        return ok();
    };
}

// realtime.history.<kind>.size and .max_age, one pair per room kind.
void add_history_setters(std::map<std::string, Setter, std::less<>>& table) {
    for (std::string kind : {"user", "upload", "media", "chat", "stream", "tts"}) {
        table.emplace("realtime.history." + kind + ".size", [kind](Config& c, std::string_view v) -> Result<void> {
            auto n = parse_unsigned(v);
            if (!n) return n.error();
            c.realtime.history_by_kind[kind].size = static_cast<std::size_t>(*n);
            return ok();
        });
        table.emplace("realtime.history." + kind + ".max_age", [kind](Config& c, std::string_view v) -> Result<void> {
            auto d = parse_duration(v);
            if (!d) return d.error();
            c.realtime.history_by_kind[kind].max_age = *d;
            return ok();
        });
    }
}

std::map<std::string, Setter, std::less<>> const& setters() {
    static std::map<std::string, Setter, std::less<>> const table = [] {
        std::map<std::string, Setter, std::less<>> keys = {
        {"server.listen", text_setter([](Config& c) -> auto& { return c.server.listen; })},
        {"server.threads", number_setter([](Config& c) -> auto& { return c.server.threads; })},
        {"server.public_url", text_setter([](Config& c) -> auto& { return c.server.public_url; })},
        {"data_dir", [](Config& c, std::string_view v) -> Result<void> { c.data_dir = std::string(v); return ok(); }},
        {"log.level", [](Config& c, std::string_view v) -> Result<void> {
             if (v != "trace" && v != "debug" && v != "info" && v != "warn" && v != "error" && v != "off")
                 return Error(Errc::invalid_argument, "log.level must be trace, debug, info, warn, error or off");
             c.log_level = std::string(v);
             return ok();
         }},
        {"limits.max_header_bytes", size_setter([](Config& c) -> auto& { return c.limits.max_header_bytes; })},
        {"limits.max_json_body_bytes", size_setter([](Config& c) -> auto& { return c.limits.max_json_body_bytes; })},
        {"limits.max_upload_bytes", size_setter([](Config& c) -> auto& { return c.limits.max_upload_bytes; })},
        {"limits.header_timeout", duration_setter([](Config& c) -> auto& { return c.limits.header_timeout; })},
        {"limits.idle_timeout", duration_setter([](Config& c) -> auto& { return c.limits.idle_timeout; })},
        {"limits.body_timeout", duration_setter([](Config& c) -> auto& { return c.limits.body_timeout; })},
        {"limits.send_timeout", duration_setter([](Config& c) -> auto& { return c.limits.send_timeout; })},
        {"limits.shutdown_timeout", duration_setter([](Config& c) -> auto& { return c.limits.shutdown_timeout; })},
        {"limits.max_connections_per_thread",
         number_setter([](Config& c) -> auto& { return c.limits.max_connections_per_thread; })},
        {"auth.secret", text_setter([](Config& c) -> auto& { return c.auth.secret; })},
        {"auth.default_visibility", [](Config& c, std::string_view v) -> Result<void> {
             if (v != "public" && v != "private")
                 return Error(Errc::invalid_argument, "auth.default_visibility must be public or private");
             c.auth.default_visibility = std::string(v);
             return ok();
         }},
        {"auth.rate_limit_per_minute", number_setter([](Config& c) -> auto& { return c.auth.rate_limit_per_minute; })},
        {"cors.allowed_origins", [](Config& c, std::string_view v) -> Result<void> {
             c.cors.allowed_origins = split_list(v);
             return ok();
         }},
        // A zero budget probes nothing: every upload would be refused.
        {"probe.timeout", positive_duration_setter([](Config& c) -> auto& { return c.probe.timeout; })},
        {"probe.max_bytes", size_setter([](Config& c) -> auto& { return c.probe.max_bytes; })},
        {"uploads.tus_max_size", size_setter([](Config& c) -> auto& { return c.uploads.tus_max_size; })},
        {"uploads.expire_after", positive_duration_setter([](Config& c) -> auto& { return c.uploads.expire_after; })},
        {"uploads.sweep_interval",
         positive_duration_setter([](Config& c) -> auto& { return c.uploads.sweep_interval; })},
        {"uploads.sync_writes", bool_setter([](Config& c) -> auto& { return c.uploads.sync_writes; })},
        {"blocking.threads", number_setter([](Config& c) -> auto& { return c.blocking.threads; })},
        {"transcode.max_live_conversions",
         number_setter([](Config& c) -> auto& { return c.transcode.max_live_conversions; })},
        {"realtime.history_size", number_setter([](Config& c) -> auto& { return c.realtime.history_size; })},
        {"realtime.history_max_age", duration_setter([](Config& c) -> auto& { return c.realtime.history_max_age; })},
        {"realtime.sse_keepalive", [](Config& c, std::string_view v) -> Result<void> {
             auto d = parse_duration(v);
             if (!d) return d.error();
             if (d->count() <= 0) return Error(Errc::invalid_argument, "realtime.sse_keepalive must be above zero");
             c.realtime.sse_keepalive = *d;
             return ok();
         }},
        {"transcode.workers", number_setter([](Config& c) -> auto& { return c.transcode.workers; })},
        {"transcode.max_attempts", [](Config& c, std::string_view v) -> Result<void> {
             auto n = parse_unsigned(v);
             if (!n) return n.error();
             if (*n < 1 || *n > 100) return Error(Errc::invalid_argument, "transcode.max_attempts must be 1 to 100");
             c.transcode.max_attempts = static_cast<unsigned>(*n);
             return ok();
         }},
        {"transcode.audio_hls", text_setter([](Config& c) -> auto& { return c.transcode.audio_hls; })},
        {"transcode.audio_files", text_setter([](Config& c) -> auto& { return c.transcode.audio_files; })},
        {"transcode.video", text_setter([](Config& c) -> auto& { return c.transcode.video; })},
        {"transcode.video_audio_bitrate",
         text_setter([](Config& c) -> auto& { return c.transcode.video_audio_bitrate; })},
        {"transcode.segment_duration",
         positive_duration_setter([](Config& c) -> auto& { return c.transcode.segment_duration; })},
        {"transcode.video_preset", text_setter([](Config& c) -> auto& { return c.transcode.video_preset; })},
        {"transcode.lease", positive_duration_setter([](Config& c) -> auto& { return c.transcode.lease; })},
        {"transcode.stall_timeout",
         positive_duration_setter([](Config& c) -> auto& { return c.transcode.stall_timeout; })},
        {"realtime.ping_interval",
         positive_duration_setter([](Config& c) -> auto& { return c.realtime.ping_interval; })},
        {"realtime.ping_timeout", positive_duration_setter([](Config& c) -> auto& { return c.realtime.ping_timeout; })},
        {"realtime.max_payload", size_setter([](Config& c) -> auto& { return c.realtime.max_payload; })},
        {"realtime.connect_timeout",
         positive_duration_setter([](Config& c) -> auto& { return c.realtime.connect_timeout; })},
        {"realtime.max_devices", number_setter([](Config& c) -> auto& { return c.realtime.max_devices; })},
        {"realtime.events_per_minute", number_setter([](Config& c) -> auto& { return c.realtime.events_per_minute; })},
        {"realtime.send_queue_frames", number_setter([](Config& c) -> auto& { return c.realtime.send_queue_frames; })},
        {"realtime.send_queue_bytes", size_setter([](Config& c) -> auto& { return c.realtime.send_queue_bytes; })},
        };
        add_history_setters(keys);
        return keys;
    }();
    return table;
}

// TOML values come in typed; the setters take text, so each scalar is turned back into text.
Result<std::string> toml_value_text(toml::node const& node) {
    if (auto s = node.value<std::string>()) return *s;
    if (auto b = node.value_exact<bool>()) return std::string(*b ? "true" : "false");
    if (auto i = node.value_exact<std::int64_t>()) {
        if (*i < 0) return Error(Errc::invalid_argument, "negative numbers are not allowed");
        return std::to_string(*i);
    }
    if (auto array = node.as_array()) {
        std::string joined;
        for (auto const& item : *array) {
            auto text = toml_value_text(item);
            if (!text) return text.error();
            if (!joined.empty()) joined += ',';
            joined += *text;
        }
        return joined;
    }
    return Error(Errc::invalid_argument, "unsupported value type");
}

Result<void> apply_table(Config& config, toml::table const& table, std::string const& prefix) {
    for (auto const& [name, node] : table) {
        std::string key = prefix.empty() ? std::string(name.str()) : prefix + "." + std::string(name.str());
        if (auto const* sub = node.as_table()) {
            if (auto r = apply_table(config, *sub, key); !r) return r;
            continue;
        }
        auto text = toml_value_text(node);
        if (!text) return text.error().context(key);
        if (auto r = set_config_value(config, key, *text); !r) return r;
    }
    return ok();
}

}  // namespace

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    auto number = parse_unsigned(text.substr(0, digits));
    if (!number) return Error(Errc::invalid_argument, "not a duration: '" + std::string(text) + "'");
    auto unit = text.substr(digits);
    std::uint64_t ms_per_unit = 0;
    if (unit.empty() || unit == "s")
        ms_per_unit = 1000;
    else if (unit == "ms")
        ms_per_unit = 1;
    else if (unit == "m")
        ms_per_unit = 60'000;
    else if (unit == "h")
        ms_per_unit = 3'600'000;
    else if (unit == "d")
        ms_per_unit = 86'400'000;
    else
        return Error(Errc::invalid_argument, "unknown duration unit in '" + std::string(text) + "'");
    if (*number > std::numeric_limits<std::int64_t>::max() / ms_per_unit)
        return Error(Errc::invalid_argument, "duration too long: '" + std::string(text) + "'");
    return std::chrono::milliseconds(static_cast<std::int64_t>(*number * ms_per_unit));
}

Result<std::uint64_t> parse_size(std::string_view text) {
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    auto number = parse_unsigned(text.substr(0, digits));
    if (!number) return Error(Errc::invalid_argument, "not a size: '" + std::string(text) + "'");
    auto unit = text.substr(digits);
    std::uint64_t multiplier = 0;
    if (unit.empty() || unit == "B")
        multiplier = 1;
    else if (unit == "KiB")
        multiplier = 1ull << 10;
    else if (unit == "MiB")
        multiplier = 1ull << 20;
    else if (unit == "GiB")
        multiplier = 1ull << 30;
    else if (unit == "KB" || unit == "kB")
        multiplier = 1000;
    else if (unit == "MB")
        multiplier = 1000 * 1000;
    else if (unit == "GB")
        multiplier = 1000ull * 1000 * 1000;
    else
        return Error(Errc::invalid_argument, "unknown size unit in '" + std::string(text) + "'");
    if (*number > std::numeric_limits<std::uint64_t>::max() / multiplier)
        return Error(Errc::invalid_argument, "size too large: '" + std::string(text) + "'");
    return *number * multiplier;
}

Result<void> set_config_value(Config& config, std::string_view key, std::string_view value) {
    auto const& table = setters();
    auto it = table.find(key);
    if (it == table.end()) return Error(Errc::invalid_argument, "unknown setting '" + std::string(key) + "'");
    if (auto r = it->second(config, value); !r) return r.error().context(std::string(key));
    return ok();
}

Result<void> apply_config_file(Config& config, std::filesystem::path const& file) {
    toml::table table;
    try {
        table = toml::parse_file(file.string());
    } catch (toml::parse_error const& e) {
        return Error(Errc::invalid_argument,
                     fmt::format("{}: line {}: {}", file.string(), e.source().begin.line, e.description()));
    }
    if (auto r = apply_table(config, table, ""); !r) return r.error().context(file.string());
    return ok();
}

Result<void> apply_config_env(Config& config, std::map<std::string, std::string> const& environment) {
    for (auto const& [key, setter] : setters()) {
        // "limits.max_upload_bytes" -> "ONDA_LIMITS_MAX_UPLOAD_BYTES"
        std::string name = "ONDA_";
        for (char c : key) name += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        auto it = environment.find(name);
        if (it == environment.end()) continue;
        if (auto r = setter(config, it->second); !r) return r.error().context(name);
    }
    return ok();
}

std::vector<std::string_view> config_keys() {
    std::vector<std::string_view> keys;
    for (auto const& [key, _] : setters()) keys.push_back(key);
    return keys;
}

}  // namespace onda
