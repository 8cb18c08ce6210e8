#include "media/transcode/ladder_report.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <utility>

#include "media/transcode/playlist.hpp"

namespace onda::media {
namespace {

namespace fs = std::filesystem;

char const* content_type_of(std::string const& container) {
    if (container == "mp3") return "audio/mpeg";
    if (container == "ogg") return "audio/ogg";
    return "audio/flac";
}

// BANDWIDTH and AVERAGE-BANDWIDTH of a finished rendition, from its playlist and segment sizes.
Result<std::pair<std::int64_t, std::int64_t>> measure_rendition(fs::path const& dir) {
    std::ifstream in(dir / "index.m3u8", std::ios::binary);
    std::string const text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto const segments = playlist_segments(text);
    if (segments.empty()) return Error(Errc::unsupported_media, "a rendition came out with no segments");
    double total_seconds = 0, peak = 0, total_bits = 0;
    for (auto const& segment : segments) {
        std::error_code ec;
        auto const bytes = fs::file_size(dir / segment.uri, ec);
        if (ec) return Error(Errc::internal, "segment " + segment.uri + ": " + ec.message());
        double const bits = double(bytes) * 8;
        total_bits += bits;
        total_seconds += segment.duration;
        // A short last segment carries the same headers in less time; it does not set the peak.
        if (segment.duration >= 1.0 || segments.size() == 1)
            peak = std::max(peak, bits / std::max(segment.duration, 0.001));
    }
    auto const average = static_cast<std::int64_t>(total_bits / std::max(total_seconds, 0.001));
    return std::pair{std::max(static_cast<std::int64_t>(peak), average), average};
}

// Every file below `root`, relative to it, sorted.
std::vector<fs::path> files_below(fs::path const& root) {
    std::vector<fs::path> files;
    for (auto const& entry : fs::recursive_directory_iterator(root))
        if (entry.is_regular_file()) files.push_back(fs::relative(entry.path(), root));
    std::ranges::sort(files);
    return files;
}

}  // namespace

fs::path progressive_file(PlannedAudio const& plan) { return fs::path("files") / (plan.name + "." + plan.container); }

Result<void> write_text(fs::path const& path, std::string const& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) return Error(Errc::internal, "cannot write " + path.filename().string());
    return ok();
}

Result<LadderResult> report_ladder(fs::path const& out_dir, LadderOutputs const& outputs) {
    LadderResult result;
    std::vector<Variant> variants;
    for (auto const& made : outputs.video) {
        auto measured = measure_rendition(out_dir / "hls" / made.plan.name);
        if (!measured) return measured.error();
        variants.push_back({.uri = made.plan.name + "/index.m3u8",
                            .peak_bit_rate = measured->first,
                            .average_bit_rate = measured->second,
                            .codecs = made.codecs,
                            .width = made.plan.width,
                            .height = made.plan.height,
                            .frame_rate = made.fps});
        boost::json::object rendition{{"name", made.plan.name},
                                      {"codec", "h264"},
                                      {"bit_rate", made.plan.bit_rate},
                                      {"width", made.plan.width},
                                      {"height", made.plan.height},
                                      {"fps", made.fps},
                                      {"container", "hls"},
                                      {"bandwidth", measured->first}};
        if (made.with_audio) rendition["audio_codec"] = "aac";
        result.renditions.push_back(std::move(rendition));
    }
    for (auto const& plan : outputs.audio) {
        boost::json::object rendition{{"name", plan.name},         {"codec", plan.codec},
                                      {"bit_rate", plan.bit_rate}, {"sample_rate", plan.sample_rate},
                                      {"channels", plan.channels}, {"container", plan.container}};
        if (plan.container == "hls") {
            auto measured = measure_rendition(out_dir / "hls" / plan.name);
            if (!measured) return measured.error();
            variants.push_back({.uri = plan.name + "/index.m3u8",
                                .peak_bit_rate = measured->first,
                                .average_bit_rate = measured->second,
                                .codecs = "mp4a.40.2"});
            rendition["bandwidth"] = measured->first;
        } else {
            auto const file = progressive_file(plan);
            std::error_code ec;
            auto const size = fs::file_size(out_dir / file, ec);
            if (ec) return Error(Errc::internal, file.string() + ": " + ec.message());
            rendition["size"] = size;
            // A lossless rendition has no set rate; its average tells clients what it costs.
            if (plan.bit_rate == 0 && outputs.audio_seconds > 0)
                rendition["bit_rate"] = static_cast<std::int64_t>(double(size) * 8 / outputs.audio_seconds);
            rendition["content_type"] = content_type_of(plan.container);
            rendition["file"] = file.string();
        }
        result.renditions.push_back(std::move(rendition));
    }
    if (!variants.empty()) {
        if (auto written = write_text(out_dir / "hls" / "master.m3u8", master_playlist(variants)); !written)
            return written.error();
        result.hls = true;
    }
    result.thumbnail = outputs.thumbnail;
    result.waveform = outputs.waveform;
    result.files = files_below(out_dir);
    return result;
}

}  // namespace onda::media
