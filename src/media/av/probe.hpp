// Probing with libavformat: what a file is (media/probe.hpp has the answer's types), read under a
// time and size budget so that a hostile file cannot hold a thread or read gigabytes. Only audio or
// video the server can read passes; anything else is Errc::unsupported_media with a reason.
//
// This runs untrusted demuxers and parsers: only in an `onda-media` process (`onda-media probe`,
// which the server starts for each upload, and the worker and converter), never in the server.
#pragma once

#include <filesystem>
#include <string_view>

#include "core/error.hpp"
#include "media/probe.hpp"

namespace onda::media::av {

namespace blocking {
// May take up to limits.timeout. Errors name the file `name` (default: its file name; never its
// directories, as errors reach clients).
Result<MediaInfo> probe(std::filesystem::path const& file, ProbeLimits limits, std::string_view name = {});
}  // namespace blocking

}  // namespace onda::media::av
