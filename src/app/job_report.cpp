#include "app/job_report.hpp"

#include <cmath>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "core/ids.hpp"

namespace onda::app {

namespace json = boost::json;

std::string format_job_report(media::JobEvent const& event) {
    json::object line{{"mediaId", event.media_id},
                      {"state", event.state},
                      {"progress", event.progress},
                      {"error", event.error ? json::value(*event.error) : json::value(nullptr)}};
    return json::serialize(line) + "\n";
}

std::optional<media::JobEvent> parse_job_report(std::string_view line) {
    if (line.size() > max_job_report_bytes) return std::nullopt;
    boost::system::error_code ec;
    json::value value = json::parse(line, ec);
    if (ec || !value.is_object()) return std::nullopt;
    auto const& object = value.get_object();
    auto const* media_id = object.if_contains("mediaId");
    auto const* state = object.if_contains("state");
    auto const* progress = object.if_contains("progress");
    auto const* error = object.if_contains("error");
    if (!media_id || !media_id->is_string() || !is_valid_id(media_id->get_string(), "m")) return std::nullopt;
    if (!state || !state->is_string()) return std::nullopt;
    std::string_view const name = state->get_string();
    if (name != "queued" && name != "running" && name != "done" && name != "failed") return std::nullopt;
    if (!progress || !progress->is_number()) return std::nullopt;
    double const fraction = progress->to_number<double>();
    if (!(fraction >= 0 && fraction <= 1)) return std::nullopt;  // NaN fails both
    if (error && !error->is_null() && !error->is_string()) return std::nullopt;
    media::JobEvent event{
        .media_id = std::string(media_id->get_string()), .state = std::string(name), .progress = fraction};
    if (error && error->is_string()) event.error = std::string(error->get_string());
    return event;
}

}  // namespace onda::app
