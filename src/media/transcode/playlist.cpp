#include "media/transcode/playlist.hpp"

#include <charconv>
#include <optional>

#include <fmt/format.h>

namespace onda::media {
namespace {

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    return text;
}

}  // namespace

std::vector<PlaylistSegment> playlist_segments(std::string_view playlist) {
    std::vector<PlaylistSegment> segments;
    std::optional<double> pending;  // the duration of the next URI line
    while (!playlist.empty()) {
        auto const end = playlist.find('\n');
        auto line = trim(playlist.substr(0, end));
        playlist = end == std::string_view::npos ? std::string_view{} : playlist.substr(end + 1);
        if (line.starts_with("#EXTINF:")) {
            auto value = line.substr(8);
            double seconds = 0;
            auto [rest, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
            if (ec == std::errc{}) pending = seconds;
        } else if (!line.empty() && line.front() != '#' && pending) {
            segments.push_back({.duration = *pending, .uri = std::string(line)});
            pending.reset();
        }
    }
    return segments;
}

std::string master_playlist(std::vector<Variant> const& variants) {
    std::string text = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n";
    for (auto const& variant : variants) {
        text += fmt::format("#EXT-X-STREAM-INF:BANDWIDTH={},AVERAGE-BANDWIDTH={},CODECS=\"{}\"", variant.peak_bit_rate,
                            variant.average_bit_rate, variant.codecs);
        if (variant.width > 0) text += fmt::format(",RESOLUTION={}x{}", variant.width, variant.height);
        if (variant.frame_rate > 0) text += fmt::format(",FRAME-RATE={:.3f}", variant.frame_rate);
        text += "\n" + variant.uri + "\n";
    }
    return text;
}

std::string sign_playlist_uris(std::string_view playlist, std::string_view query) {
    auto with_query = [query](std::string_view uri) {
        return std::string(uri) + (uri.find('?') == std::string_view::npos ? "?" : "&") + std::string(query);
    };
    std::string out;
    out.reserve(playlist.size() + 4096);
    while (!playlist.empty()) {
        auto const end = playlist.find('\n');
        std::string_view line = playlist.substr(0, end);
        playlist = end == std::string_view::npos ? std::string_view{} : playlist.substr(end + 1);
        bool const cr = line.ends_with('\r');
        if (cr) line.remove_suffix(1);
        auto const attribute = line.find("URI=\"");
        auto const close = attribute == std::string_view::npos ? attribute : line.find('"', attribute + 5);
        if (!line.empty() && line.front() != '#') {
            out += with_query(line);
        } else if (!line.empty() && close != std::string_view::npos) {
            auto const start = attribute + 5;
            out += line.substr(0, start);
            out += with_query(line.substr(start, close - start));
            out += line.substr(close);
        } else {
            out += line;
        }
        if (cr) out += '\r';
        if (end != std::string_view::npos) out += '\n';
    }
    return out;
}

std::string avc_codec_string(std::span<std::uint8_t const> extradata) {
    auto format = [](std::uint8_t profile, std::uint8_t constraints, std::uint8_t level) {
        return fmt::format("avc1.{:02x}{:02x}{:02x}", profile, constraints, level);
    };
    // avcC: version 1, then profile, constraints and level of the first SPS.
    if (extradata.size() >= 4 && extradata[0] == 1) return format(extradata[1], extradata[2], extradata[3]);
    // Annex B: the bytes after the NAL header of the first SPS (type 7).
    for (std::size_t i = 0; i + 6 < extradata.size(); ++i) {
        bool const start_code = extradata[i] == 0 && extradata[i + 1] == 0 && extradata[i + 2] == 1;
        if (start_code && (extradata[i + 3] & 0x1f) == 7)
            return format(extradata[i + 4], extradata[i + 5], extradata[i + 6]);
    }
    return "avc1.640028";
}

}  // namespace onda::media
