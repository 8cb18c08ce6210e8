// The media library as realtime's playback sees it (realtime::TrackCatalog): realtime and media do
// not know each other, so app hands one to the other.
#pragma once

#include <chrono>

#include "media/library.hpp"
#include "realtime/playback/track_catalog.hpp"

namespace onda::app {

class PlaybackTracks final : public realtime::TrackCatalog {
public:
    // `library` must outlive this. Preload links stay valid for `link_lifetime`.
    explicit PlaybackTracks(media::Library& library, std::chrono::seconds link_lifetime = std::chrono::hours(6))
        : library_(library), link_lifetime_(link_lifetime) {}

    Task<Result<realtime::TrackInfo>> find(auth::Identity who, std::string id) override;
    Task<Result<boost::json::object>> urls(auth::Identity who, std::string id, std::string quality) override;
    Task<Result<realtime::Mp3Feed>> open_mp3(auth::Identity who, std::string id, std::int64_t bit_rate,
                                             std::int64_t first_frame) override;

private:
    media::Library& library_;
    std::chrono::seconds link_lifetime_;
};

}  // namespace onda::app
