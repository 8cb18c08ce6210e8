// The lines an `onda-media worker` writes on its standard output, which is a pipe to the `onda serve` that
// started it: one JSON object per line for each change of a job it runs (media::JobEvent),
//   {"mediaId":"m_…","state":"running","progress":0.42,"error":null}
// The pipe only makes progress events fast; the job's durable state is in the MetaStore.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "media/transcode_worker.hpp"

namespace onda::app {

// The exit code of a worker whose transcode stalled (sysexits' EX_TEMPFAIL: try again); its
// supervisor tells it from a crash by it.
inline constexpr int stalled_exit_code = 75;

// Lines longer than this are not reports (a reader drops them).
inline constexpr std::size_t max_job_report_bytes = 16 * 1024;

// The line for `event`, with its '\n'.
std::string format_job_report(media::JobEvent const& event);

// The event of one line (without its '\n'); nullopt for anything else: not JSON, a field missing or of
// the wrong type, a media id that is not one, an unknown state, progress outside 0..1.
std::optional<media::JobEvent> parse_job_report(std::string_view line);

}  // namespace onda::app
