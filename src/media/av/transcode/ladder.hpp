// Running a transcode ladder (media/transcode/ladder.hpp has its options, rungs and outputs).
//
// This runs untrusted decoders: call it only in an `onda-media worker` process (or `onda-media
// transcode`, by hand), never in the server.
#pragma once

#include <filesystem>

#include "core/error.hpp"
#include "media/transcode/ladder.hpp"

namespace onda::media::av {

namespace blocking {
// Decodes `source` once and writes every rung that fits it (never upscaled: a rung above the
// source's sample rate, a lossy source's bit rate or its picture height is skipped; the lowest rung
// is always made) below `out_dir`, which must exist and be empty. unsupported_media with a reason
// when the source cannot be decoded; the directory may then hold partial output.
Result<LadderResult> run_ladder(std::filesystem::path const& source, std::filesystem::path const& out_dir,
                                LadderOptions const& options, LadderProgress const& progress);
}  // namespace blocking

}  // namespace onda::media::av
