#include "app/playback_tracks.hpp"

#include "media/convert/mp3_layout.hpp"
#include "realtime/playback/playback_state.hpp"

namespace onda::app {

Task<Result<realtime::TrackInfo>> PlaybackTracks::find(auth::Identity who, std::string id) {
    Task<Result<storage::MediaRecord>> finding = library_.find_readable(std::move(who), std::move(id));
    auto record = co_await std::move(finding);
    if (!record) co_return record.error();
    co_return realtime::TrackInfo{.id = record->id, .duration = record->duration};
}

Task<Result<boost::json::object>> PlaybackTracks::urls(auth::Identity who, std::string id, std::string quality) {
    Task<Result<storage::MediaRecord>> finding = library_.find_readable(std::move(who), std::move(id));
    auto record = co_await std::move(finding);
    if (!record) co_return record.error();
    auto bit_rate = realtime::quality_bit_rate(quality);
    if (bit_rate == 0) bit_rate = realtime::quality_bit_rate(realtime::default_quality);
    co_return library_.playback_urls(*record, bit_rate, link_lifetime_);
}

Task<Result<realtime::Mp3Feed>> PlaybackTracks::open_mp3(auth::Identity who, std::string id, std::int64_t bit_rate,
                                                         std::int64_t first_frame) {
    Task<Result<media::Library::Mp3Stream>> opening =
        library_.open_mp3(std::move(who), std::move(id), bit_rate, first_frame);
    auto stream = co_await std::move(opening);
    if (!stream) co_return stream.error();
    co_return realtime::Mp3Feed{.frame_bytes = stream->frame_bytes,
                                .sample_rate = stream->sample_rate,
                                .samples_per_frame = media::mp3_samples_per_frame,
                                .audio_frames = stream->audio_frames,
                                .bit_rate = bit_rate,
                                .duration = stream->duration,
                                .bytes = std::move(stream->bytes)};
}

}  // namespace onda::app
