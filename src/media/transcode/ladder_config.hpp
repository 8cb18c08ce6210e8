// The ladder's configuration keys (`transcode.audio_hls`, `transcode.audio_files`, `transcode.video`,
// …; core keeps them as text) read into LadderOptions. Rung lists are comma-separated:
//
//   transcode.audio_hls   = "64k@22050, 128k@44100, 320k@48000"    AAC HLS rungs: bitrate[@Hz]
//   transcode.audio_files = "mp3:128k, mp3:192k@44100, opus:160k, flac"   codec[:bitrate][@Hz]
//   transcode.video       = "1080p:5000k, 720p:2500k"             H.264 rungs: <height>p:bitrate
//
// A rung's name (the rendition's, in URLs and `renditions`) follows from it: "aac-64", "mp3-192",
// "opus-160", "flac", "720p".
#pragma once

#include "core/config.hpp"
#include "core/error.hpp"
#include "media/transcode/ladder.hpp"

namespace onda::media {

// invalid_argument naming the key and what is wrong with it.
Result<LadderOptions> ladder_options(TranscodeConfig const& config);

}  // namespace onda::media
