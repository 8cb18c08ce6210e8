// What a finished ladder made, as the API tells it: each rendition measured from its files (HLS
// bit rates from the segments, file sizes), the master playlist written from those measures, and
// the list of every file to store.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "media/transcode/ladder.hpp"
#include "media/transcode/plan.hpp"

namespace onda::media {

struct MadeVideo {
    PlannedVideo plan;
    std::string codecs;  // for the master playlist: "avc1.64001f,mp4a.40.2"
    double fps = 0;
    bool with_audio = false;
};

struct LadderOutputs {
    std::vector<MadeVideo> video;
    std::vector<PlannedAudio> audio;  // HLS rungs and progressive files
    double audio_seconds = 0;         // decoded; gives a lossless file its average bit rate
    bool thumbnail = false;
    bool waveform = false;
};

// Where a progressive rendition is written below the output directory: files/{name}.{container}.
std::filesystem::path progressive_file(PlannedAudio const& plan);

Result<void> write_text(std::filesystem::path const& path, std::string const& text);

// Measures what `outputs` names below `out_dir`, writes hls/master.m3u8 when there are HLS
// renditions, and returns the result.
Result<LadderResult> report_ladder(std::filesystem::path const& out_dir, LadderOutputs const& outputs);

}  // namespace onda::media
