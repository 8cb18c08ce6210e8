#include "realtime/playback/track_stream.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/log.hpp"
#include "realtime/playback/playback_state.hpp"
#include "realtime/socketio_packet.hpp"

namespace onda::realtime {
namespace {

namespace json = boost::json;
using std::chrono::microseconds;

std::int64_t to_millis(microseconds t) { return t.count() / 1000; }

}  // namespace

std::int64_t chunk_count(std::int64_t audio_frames) {
    if (audio_frames <= 0) return 0;
    return (audio_frames + frames_per_chunk - 1) / frames_per_chunk;
}

ChunkSpan chunk_span(Mp3Feed const& feed, std::int64_t seq) {
    std::int64_t const first_audio = seq * frames_per_chunk + 1;
    std::int64_t const end_audio = std::min(first_audio + frames_per_chunk, feed.audio_frames + 1);
    std::int64_t const audio = std::max<std::int64_t>(0, end_audio - first_audio);
    auto const frame_time = [&](std::int64_t frames) {
        return microseconds(frames * feed.samples_per_frame * 1'000'000LL / std::max(1, feed.sample_rate));
    };
    return ChunkSpan{.first_frame = seq == 0 ? 0 : first_audio,
                     .frames = seq == 0 ? audio + 1 : audio,  // the Info frame rides with the first chunk
                     .media_time = frame_time(first_audio - 1),
                     .duration = frame_time(audio)};
}

std::chrono::steady_clock::time_point chunk_due(std::chrono::steady_clock::time_point start, microseconds media_time,
                                                std::chrono::milliseconds lead) {
    return start + std::max(microseconds(0), media_time - std::chrono::duration_cast<microseconds>(lead));
}

TrackStream::TrackStream(net::any_io_executor executor, TrackCatalog& catalog, auth::Identity who, std::string track_id,
                         std::string quality, Mp3Feed feed, Metrics metrics)
    : catalog_(catalog),
      who_(std::move(who)),
      track_id_(std::move(track_id)),
      quality_(quality),
      wanted_quality_(std::move(quality)),
      feed_(std::move(feed)),
      metrics_(metrics),
      wake_(std::move(executor)) {}

void TrackStream::switch_quality(std::string quality) { wanted_quality_ = std::move(quality); }

void TrackStream::stop() {
    stopped_ = true;
    wake_.cancel();
}

Task<> TrackStream::run(std::shared_ptr<TrackStream> self, std::shared_ptr<SocketIoClient> client) {
    if (self->metrics_.active) self->metrics_.active->add(1);
    Task<> sending = self->send_all(*client);
    co_await std::move(sending);
    if (self->metrics_.active) self->metrics_.active->add(-1);
    self->feed_.bytes.reset();  // the conversion stops now, not when the last reference goes
}

Task<> TrackStream::send_all(SocketIoClient& client) {
    auto const start = std::chrono::steady_clock::now();
    std::int64_t const chunks = chunk_count(feed_.audio_frames);
    for (std::int64_t seq = 0; seq < chunks; ++seq) {
        if (stopped_ || !client.is_connected()) co_return;
        ChunkSpan span = chunk_span(feed_, seq);
        if (wanted_quality_ != quality_) {
            Task<> following = follow_quality(span.first_frame);
            co_await std::move(following);
            if (stopped_) co_return;
            span = chunk_span(feed_, seq);
        }
        Task<Result<std::string>> reading = read_exact(static_cast<std::size_t>(span.frames * feed_.frame_bytes));
        auto bytes = co_await std::move(reading);
        if (stopped_) co_return;
        if (!bytes) {
            log::warn("stream_track {} to {}: {}", track_id_, client.id(), bytes.error().message());
            client.emit("audio_end", json::object{{"trackId", track_id_},
                                                  {"chunks", seq},
                                                  {"error", json::object{{"code", code_name(bytes.error().code())},
                                                                         {"message", bytes.error().message()}}}});
            co_return;
        }
        wake_.expires_at(chunk_due(start, span.media_time));
        co_await wake_.async_wait(use_result);  // cancelled by stop()
        if (stopped_) co_return;
        json::object chunk{{"trackId", track_id_},
                           {"seq", seq},
                           {"timestamp", to_millis(span.media_time)},
                           {"duration", to_millis(span.duration)},
                           {"quality", quality_},
                           {"data", make_placeholder(0)}};
        std::vector<std::string> attachments;
        attachments.push_back(std::move(*bytes));
        // False: the client left, or fell so far behind that it was cut off.
        if (!client.emit("audio_chunk", chunk, std::move(attachments))) co_return;
        if (metrics_.chunks) metrics_.chunks->add();
    }
    if (!stopped_) client.emit("audio_end", json::object{{"trackId", track_id_}, {"chunks", chunks}});
}

Task<Result<std::string>> TrackStream::read_exact(std::size_t bytes) {
    while (buffered_.size() < bytes) {
        auto next = co_await feed_.bytes->next();
        if (!next) co_return next.error();
        if (!*next)
            co_return Error(Errc::internal,
                            fmt::format("the conversion ended {} bytes short of a chunk", bytes - buffered_.size()));
        buffered_ += **next;
    }
    std::string chunk = buffered_.substr(0, bytes);
    buffered_.erase(0, bytes);
    co_return chunk;
}

Task<> TrackStream::follow_quality(std::int64_t first_frame) {
    std::string const wanted = wanted_quality_;
    Task<Result<Mp3Feed>> opening = catalog_.open_mp3(who_, track_id_, quality_bit_rate(wanted), first_frame);
    auto reopened = co_await std::move(opening);
    if (stopped_) co_return;
    if (reopened && (reopened->sample_rate != feed_.sample_rate || reopened->audio_frames != feed_.audio_frames))
        reopened = Error(Errc::internal, "the new quality's frames do not line up with the old one's");
    if (!reopened) {
        log::warn("stream_track {}: staying at {}: {}", track_id_, quality_, reopened.error().message());
        wanted_quality_ = quality_;  // asked again only by a new quality_change
        co_return;
    }
    feed_ = std::move(*reopened);  // the old conversion is killed here
    buffered_.clear();
    quality_ = wanted;
    if (metrics_.restarts) metrics_.restarts->add();
}

}  // namespace onda::realtime
