// Poster images: a decoded picture written as a JPEG no wider than a player needs.
#pragma once

#include <filesystem>

#include "core/error.hpp"
#include "media/av/libav.hpp"

namespace onda::media::av {

constexpr int thumbnail_max_width = 1280;

// Scales `frame` down to at most thumbnail_max_width (keeping its displayed aspect ratio) and writes
// it to `path` as a JPEG.
Result<void> write_jpeg(AVFrame const& frame, std::filesystem::path const& path);

// Audio cover art (an attached picture): its bytes as they are when it is a JPEG, else decoded and
// written as one. unsupported_media when it cannot be decoded.
Result<void> write_cover_art(AVStream const& stream, std::filesystem::path const& path);

}  // namespace onda::media::av
