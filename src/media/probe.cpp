#include "media/probe.hpp"

namespace onda::media {
namespace {

// Reads a MediaInfo member by member; the first missing or mistyped one is the error.
class JsonReader {
public:
    explicit JsonReader(boost::json::object const& object) : object_(object) {}

    std::string text(std::string_view key) {
        auto const* value = find(key);
        if (value && value->is_string()) return std::string(value->as_string());
        fail(key);
        return {};
    }
    double number(std::string_view key) {
        auto const* value = find(key);
        if (value && value->is_number()) return value->to_number<double>();
        fail(key);
        return 0;
    }
    std::int64_t integer(std::string_view key) {
        auto const* value = find(key);
        if (value && value->is_int64()) return value->as_int64();
        if (value && value->is_uint64() && value->as_uint64() <= INT64_MAX)
            return static_cast<std::int64_t>(value->as_uint64());
        fail(key);
        return 0;
    }
    bool flag(std::string_view key) {
        auto const* value = find(key);
        if (value && value->is_bool()) return value->as_bool();
        fail(key);
        return false;
    }
    // nullptr when the member is null; an object otherwise (or a failure).
    boost::json::object const* part(std::string_view key) {
        auto const* value = find(key);
        if (value && value->is_null()) return nullptr;
        if (value && value->is_object()) return &value->as_object();
        fail(key);
        return nullptr;
    }
    Result<void> outcome() const {
        if (failed_.empty()) return ok();
        return Error(Errc::invalid_argument, "the probe's answer has no valid '" + failed_ + "'");
    }

private:
    boost::json::value const* find(std::string_view key) const { return object_.if_contains(key); }
    void fail(std::string_view key) {
        if (failed_.empty()) failed_ = key;
    }
    boost::json::object const& object_;
    std::string failed_;
};

}  // namespace

boost::json::object to_json(AudioInfo const& info) {
    return {{"codec", info.codec},
            {"sample_rate", info.sample_rate},
            {"channels", info.channels},
            {"bit_rate", info.bit_rate}};
}

boost::json::object to_json(VideoInfo const& info) {
    return {{"codec", info.codec},
            {"width", info.width},
            {"height", info.height},
            {"fps", info.fps},
            {"bit_rate", info.bit_rate}};
}

boost::json::object to_json(MediaInfo const& info) {
    auto or_null = [](auto const& part) {
        return part ? boost::json::value(to_json(*part)) : boost::json::value(nullptr);
    };
    return {{"kind", info.kind},
            {"format", info.format},
            {"content_type", info.content_type},
            {"duration", info.duration},
            {"bit_rate", info.bit_rate},
            {"audio", or_null(info.audio)},
            {"video", or_null(info.video)},
            {"has_cover_art", info.has_cover_art}};
}

Result<MediaInfo> media_info_from_json(boost::json::value const& value) {
    if (!value.is_object()) return Error(Errc::invalid_argument, "the probe's answer is not an object");
    JsonReader read(value.as_object());
    MediaInfo info{.kind = read.text("kind"),
                   .format = read.text("format"),
                   .content_type = read.text("content_type"),
                   .duration = read.number("duration"),
                   .bit_rate = read.integer("bit_rate"),
                   .has_cover_art = read.flag("has_cover_art")};
    if (auto const* audio = read.part("audio")) {
        JsonReader part(*audio);
        info.audio = AudioInfo{.codec = part.text("codec"),
                               .sample_rate = static_cast<int>(part.integer("sample_rate")),
                               .channels = static_cast<int>(part.integer("channels")),
                               .bit_rate = part.integer("bit_rate")};
        if (auto valid = part.outcome(); !valid) return valid.error().context("audio");
    }
    if (auto const* video = read.part("video")) {
        JsonReader part(*video);
        info.video = VideoInfo{.codec = part.text("codec"),
                               .width = static_cast<int>(part.integer("width")),
                               .height = static_cast<int>(part.integer("height")),
                               .fps = part.number("fps"),
                               .bit_rate = part.integer("bit_rate")};
        if (auto valid = part.outcome(); !valid) return valid.error().context("video");
    }
    if (auto valid = read.outcome(); !valid) return valid.error();
    return info;
}

}  // namespace onda::media
