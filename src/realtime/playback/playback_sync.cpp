#include "realtime/playback/playback_sync.hpp"

#include <algorithm>
#include <set>

#include <boost/asio/post.hpp>

#include "core/log.hpp"

namespace onda::realtime {
namespace {

namespace json = boost::json;

Error sign_in_first() { return Error(Errc::unauthenticated, "playback state belongs to a user: sign in first"); }

json::object ok_with_state(PlaybackState const& state, SystemTime now) {
    return json::object{{"ok", true}, {"state", state_json(state, now)}};
}

}  // namespace

PlaybackSync::PlaybackSync(storage::MetaStore& meta, TrackCatalog& catalog, Hub& hub, Clock const& clock,
                           MetricsRegistry& metrics)
    : meta_(meta), catalog_(catalog), hub_(hub), clock_(clock) {
    for (std::string_view quality : {"128k", "192k", "320k"})
        quality_switches_[std::string(quality)] = &metrics.counter(
            "onda_playback_quality_switches_total", "Playback quality changes of a user, by the quality switched to",
            {{"quality", std::string(quality)}});
    stream_metrics_ = TrackStream::Metrics{
        .chunks = &metrics.counter("onda_playback_stream_chunks_total", "stream_track audio_chunk events sent", {}),
        .active = &metrics.gauge("onda_playback_streams", "stream_track streams running now", {}),
        .restarts = &metrics.counter("onda_playback_stream_restarts_total",
                                     "stream_track conversions restarted at another quality", {}),
    };
    save_failures_ = &metrics.counter("onda_playback_save_failures_total",
                                      "Playback state changes that could not be saved to the MetaStore", {});
}

void PlaybackSync::register_with(SocketIoServer& server) {
    server.on_connect([this](std::shared_ptr<SocketIoClient> client) { return connected(std::move(client)); });
    server.on_disconnect([this](std::shared_ptr<SocketIoClient> client) { return disconnected(std::move(client)); });
    auto const control_of = [this](PlaybackEvent which) {
        return [this, which](std::shared_ptr<SocketIoClient> client, ClientEvent event, Ack ack) {
            return control(which, std::move(client), std::move(event), std::move(ack));
        };
    };
    server.on("play_track", control_of(PlaybackEvent::play));
    server.on("pause_track", control_of(PlaybackEvent::pause));
    server.on("seek_position", control_of(PlaybackEvent::seek));
    server.on("volume_change", control_of(PlaybackEvent::volume));
    server.on("quality_change", control_of(PlaybackEvent::quality));
    server.on("queue_set", control_of(PlaybackEvent::queue));
    server.on("audio_control", [this](std::shared_ptr<SocketIoClient> client, ClientEvent event, Ack ack) {
        return audio_control(std::move(client), std::move(event), std::move(ack));
    });
    server.on("get_state", [this](std::shared_ptr<SocketIoClient> client, ClientEvent event, Ack ack) {
        return get_state(std::move(client), std::move(event), std::move(ack));
    });
    server.on("position_update", [this](std::shared_ptr<SocketIoClient> client, ClientEvent event, Ack ack) {
        return position_update(std::move(client), std::move(event), std::move(ack));
    });
    server.on("stream_track", [this](std::shared_ptr<SocketIoClient> client, ClientEvent event, Ack ack) {
        return stream_track(std::move(client), std::move(event), std::move(ack));
    });
}

Task<> PlaybackSync::connected(std::shared_ptr<SocketIoClient> client) {
    // Gone already (its disconnect hook may have run first): nothing to add, nothing left behind.
    if (!client->is_connected()) co_return;
    std::string const user = client->identity().user;  // a copy: a later CONNECT may change it
    auto socket = std::make_shared<Socket>(Socket{.client = client});
    {
        std::lock_guard lock(mutex_);
        sockets_[client.get()] = socket;
        if (!user.empty()) {
            socket->state = states_.try_emplace(user).first;
            (*socket->state)->second.sockets.push_back(socket);
        }
    }
    if (user.empty()) co_return;  // a viewer has no playback state
    auto state = co_await load(user);
    if (!state) {
        log::warn("playback state of {}: {}", user, state.error().message());
        co_return;
    }
    auto const now = clock_.now();
    client->emit("sync_state", sync_state_json("connect", {}, now, state->device, *state));
}

Task<> PlaybackSync::disconnected(std::shared_ptr<SocketIoClient> client) {
    std::shared_ptr<Socket> socket;
    {
        std::lock_guard lock(mutex_);
        auto it = sockets_.find(client.get());
        if (it == sockets_.end()) co_return;
        socket = std::move(it->second);
        sockets_.erase(it);
        if (socket->state) {
            std::erase((*socket->state)->second.sockets, socket);
            forget_if_idle(*socket->state);
        }
    }
    if (socket->stream) socket->stream->stop();  // its conversion ends with it
}

void PlaybackSync::forget_if_idle(std::string const& user) {
    if (auto it = states_.find(user); it != states_.end()) forget_if_idle(it);
}

void PlaybackSync::forget_if_idle(States::iterator user) {
    if (user->second.sockets.empty() && user->second.saves_due == 0) states_.erase(user);
}

std::shared_ptr<PlaybackSync::Socket> PlaybackSync::socket_of(SocketIoClient const& client) {
    std::lock_guard lock(mutex_);
    auto it = sockets_.find(&client);
    return it == sockets_.end() ? nullptr : it->second;
}

Task<Result<PlaybackState>> PlaybackSync::load(std::string user) {
    std::optional<PlaybackState> cached;
    {
        std::lock_guard lock(mutex_);
        if (auto it = states_.find(user); it != states_.end()) cached = it->second.state;
    }
    if (cached) co_return std::move(*cached);
    Task<Result<std::optional<PlaybackState>>> finding = meta_.find_playback(user);
    auto stored = co_await std::move(finding);
    if (!stored) co_return stored.error().context("load playback state");
    PlaybackState loaded = *stored ? std::move(**stored) : initial_playback_state(user);
    {
        std::lock_guard lock(mutex_);
        // Every socket may have left meanwhile: then there is nothing to cache. Another load (or a
        // change after it) may have filled the entry meanwhile: that one is at least as new.
        if (auto it = states_.find(user); it != states_.end()) {
            if (!it->second.state) it->second.state = loaded;
            loaded = *it->second.state;
        }
    }
    co_return loaded;
}

Task<> PlaybackSync::control(PlaybackEvent which, std::shared_ptr<SocketIoClient> client, ClientEvent event, Ack ack) {
    if (client->identity().is_anonymous()) co_return ack.fail(sign_in_first());
    auto action = parse_action(which, event.arg(0));
    if (!action) co_return ack.fail(action.error());
    Task<> changing = change(std::move(*action), std::move(client), std::move(ack));
    co_await std::move(changing);
}

Task<> PlaybackSync::audio_control(std::shared_ptr<SocketIoClient> client, ClientEvent event, Ack ack) {
    if (client->identity().is_anonymous()) co_return ack.fail(sign_in_first());
    auto action = parse_audio_control(event.arg(0));
    if (!action) co_return ack.fail(action.error());
    Task<> changing = change(std::move(*action), std::move(client), std::move(ack));
    co_await std::move(changing);
}

Task<> PlaybackSync::change(PlaybackAction action, std::shared_ptr<SocketIoClient> client, Ack ack) {
    auto const& who = client->identity();
    // Tracks must exist and be the user's to hear before anyone is told about them.
    if (action.track_id) {
        Task<Result<TrackInfo>> finding = catalog_.find(who, *action.track_id);  // named: GCC 12 and co_await
        auto track = co_await std::move(finding);
        if (!track) co_return ack.fail(track.error());
        action.track_duration = track->duration;
    }
    std::set<std::string> const queued(action.queue.begin(), action.queue.end());
    for (auto const& id : queued) {
        Task<Result<TrackInfo>> finding = catalog_.find(who, id);
        auto track = co_await std::move(finding);
        if (!track) co_return ack.fail(track.error().context("queue entry " + id));
    }
    auto loaded = co_await load(who.user);
    if (!loaded) co_return ack.fail(Error(Errc::unavailable, loaded.error().message()));

    auto const now = clock_.now();
    Result<PlaybackState> next = Error(Errc::internal, "not applied");
    std::string previous_quality;
    bool save_counted = false;  // the cache entry stays until this save has finished
    {
        std::lock_guard lock(mutex_);
        auto it = states_.find(who.user);
        // The cached state when there is one (it may be newer than what this task loaded).
        PlaybackState const& current = it != states_.end() && it->second.state ? *it->second.state : *loaded;
        previous_quality = current.quality;
        next = apply(current, action, now, client->device());
        if (next && it != states_.end()) {
            it->second.state = *next;
            ++it->second.saves_due;
            save_counted = true;
        }
    }
    if (!next) co_return ack.fail(next.error());

    if (next->quality != previous_quality) {
        if (auto counter = quality_switches_.find(next->quality); counter != quality_switches_.end())
            counter->second->add();
    }
    if (action.event == PlaybackEvent::quality || !action.quality.empty()) {
        // This socket's own stream follows from its next chunk.
        if (auto socket = socket_of(*client); socket && socket->stream && !socket->stream->stopped())
            socket->stream->switch_quality(next->quality);
    }
    broadcast(who.user, client->id(),
              sync_state_json(action_name(action.event), std::move(action.payload), now, client->device(), *next));

    Task<Result<bool>> saving = meta_.save_playback(*next);
    auto saved = co_await std::move(saving);
    if (save_counted) {
        std::lock_guard lock(mutex_);
        if (auto it = states_.find(who.user); it != states_.end()) {
            --it->second.saves_due;
            forget_if_idle(who.user);
        }
    }
    if (!saved) {
        save_failures_->add();
        log::warn("playback state of {} not saved: {}", who.user, saved.error().message());
        co_return ack.fail(Error(Errc::unavailable, "the change was made but could not be saved; try again"));
    }
    ack.reply(ok_with_state(*next, now));
}

void PlaybackSync::broadcast(std::string const& user, std::string const& except, json::object message) {
    hub_.publish_except("user:" + user, "sync_state", std::move(message), except);
}

Task<> PlaybackSync::get_state(std::shared_ptr<SocketIoClient> client, ClientEvent, Ack ack) {
    if (client->identity().is_anonymous()) co_return ack.fail(sign_in_first());
    auto state = co_await load(client->identity().user);
    if (!state) co_return ack.fail(Error(Errc::unavailable, state.error().message()));
    ack.reply(ok_with_state(*state, clock_.now()));
}

Task<> PlaybackSync::position_update(std::shared_ptr<SocketIoClient> client, ClientEvent event, Ack ack) {
    auto const& who = client->identity();
    if (who.is_anonymous()) co_return ack.fail(sign_in_first());
    auto report = parse_position_update(event.arg(0));
    if (!report) co_return ack.fail(report.error());
    auto state = co_await load(who.user);
    if (!state) co_return ack.fail(Error(Errc::unavailable, state.error().message()));
    auto socket = socket_of(*client);
    auto next = track_to_preload(*state, *report);
    // Once per socket and place in the queue: players report their position every few seconds.
    std::string const place = state->track_id + "@" + std::to_string(state->queue_index);
    if (!next || !socket || socket->preloaded_for == place) co_return ack.reply(json::object{{"ok", true}});
    Task<Result<json::object>> linking = catalog_.urls(who, *next, state->quality);
    auto urls = co_await std::move(linking);
    if (!urls) {
        // The next track went away or became private: nothing to preload, and nothing wrong with this report.
        log::debug("preload {} for {}: {}", *next, who.user, urls.error().message());
        co_return ack.reply(json::object{{"ok", true}});
    }
    socket->preloaded_for = place;
    client->emit("preload", json::object{{"trackId", *next}, {"urls", std::move(*urls)}});
    ack.reply(json::object{{"ok", true}, {"preload", *next}});
}

Task<> PlaybackSync::stream_track(std::shared_ptr<SocketIoClient> client, ClientEvent event, Ack ack) {
    auto const* args = event.arg(0).if_object();
    auto const* track = args ? args->if_contains("trackId") : nullptr;
    if (!track || !track->is_string() || track->get_string().empty() || track->get_string().size() > max_track_id_bytes)
        co_return ack.fail(Error(Errc::invalid_argument, "stream_track needs {trackId, quality}"));
    std::string quality(default_quality);
    if (auto const* asked = args->if_contains("quality"); asked && !asked->is_null()) {
        if (!asked->is_string() || quality_bit_rate(asked->get_string()) == 0)
            co_return ack.fail(Error(Errc::invalid_argument, "quality must be \"128k\", \"192k\" or \"320k\""));
        quality = std::string(asked->get_string());
    }
    std::string const track_id(track->get_string());
    auto socket = socket_of(*client);
    if (!socket) co_return;  // it left meanwhile
    // A new stream replaces the socket's old one at once, whether or not the new one opens.
    if (socket->stream) socket->stream->stop();
    socket->stream.reset();

    Task<Result<Mp3Feed>> opening = catalog_.open_mp3(client->identity(), track_id, quality_bit_rate(quality), 0);
    auto feed = co_await std::move(opening);
    if (!feed) co_return ack.fail(feed.error());
    if (!client->is_connected()) co_return;
    auto const chunks = chunk_count(feed->audio_frames);
    double const duration = feed->duration;
    auto stream = std::make_shared<TrackStream>(client->executor(), catalog_, client->identity(), track_id, quality,
                                                std::move(*feed), stream_metrics_);
    socket->stream = stream;
    ack.reply(json::object{
        {"ok", true}, {"trackId", track_id}, {"quality", quality}, {"duration", duration}, {"chunks", chunks}});
    auto const executor = client->executor();
    spawn(executor, TrackStream::run(std::move(stream), std::move(client)), "stream_track");
}

}  // namespace onda::realtime
