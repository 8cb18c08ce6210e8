// Playback that follows a listener across devices (API.md "Realtime", the playback events): the
// Socket.IO handlers of play_track, pause_track, seek_position, volume_change, quality_change,
// audio_control, queue_set, get_state, position_update and stream_track, on top of
// playback_state.hpp (what an event does) and track_stream.hpp (stream_track).
//
// - Each user's state is kept in the MetaStore, so it survives a restart, and cached here while
//   any of their devices is connected. A change is applied to the cached state (one short lock, no
//   waiting inside), sent as `sync_state` to the user's other sockets (never back to the sender),
//   saved, and acked {ok, state}. Saves carry the state's version, so two changes racing to the
//   database from two threads keep the newer.
// - A socket that connects gets `sync_state` {action: "connect"} with the current state.
// - Anonymous viewers may stream public tracks and read nothing else: their control events are
//   acked `unauthenticated`. Bad payloads are acked `invalid_argument`, unknown tracks `not_found`.
// - position_update: once per socket and track, when at most 10 s remain and the queue has a next
//   track, `preload {trackId, urls}` goes to that socket.
// - quality changes that change something count in onda_playback_quality_switches_total; a
//   socket's own stream_track follows its quality_change at the next chunk.
//
// Threads: handlers run on their client's thread. The client table and the state cache are shared
// by every thread under one mutex, held only for lookups and the pure apply(). sync_state goes
// through the hub (room user:<sub>, without the sender), which reaches the sockets on every thread.
// Scale-out note: the cache assumes one server per user's devices (no Redis fan-out yet).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/metrics.hpp"
#include "realtime/hub.hpp"
#include "realtime/playback/playback_state.hpp"
#include "realtime/playback/track_catalog.hpp"
#include "realtime/playback/track_stream.hpp"
#include "realtime/socketio_server.hpp"
#include "storage/meta_store.hpp"

namespace onda::realtime {

class PlaybackSync {
public:
    // Every reference must outlive the Socket.IO server's sessions. `hub` carries sync_state to the
    // user's room (user:<sub>), where every socket of theirs is.
    PlaybackSync(storage::MetaStore& meta, TrackCatalog& catalog, Hub& hub, Clock const& clock,
                 MetricsRegistry& metrics);
    PlaybackSync(PlaybackSync const&) = delete;
    PlaybackSync& operator=(PlaybackSync const&) = delete;

    // Registers the events and the connect/disconnect hooks. At start-up, before serving.
    void register_with(SocketIoServer& server);

    // The handlers (public for the registration's plain lambdas).
    Task<> connected(std::shared_ptr<SocketIoClient> client);
    Task<> disconnected(std::shared_ptr<SocketIoClient> client);
    Task<> control(PlaybackEvent event, std::shared_ptr<SocketIoClient> client, ClientEvent event_args, Ack ack);
    Task<> audio_control(std::shared_ptr<SocketIoClient> client, ClientEvent event, Ack ack);
    Task<> get_state(std::shared_ptr<SocketIoClient> client, ClientEvent event, Ack ack);
    Task<> position_update(std::shared_ptr<SocketIoClient> client, ClientEvent event, Ack ack);
    Task<> stream_track(std::shared_ptr<SocketIoClient> client, ClientEvent event, Ack ack);

private:
    struct Socket;
    // A user with connected sockets (or saves still running). Dropped once both are gone, so a
    // later load reads the newest saved version.
    struct CachedState {
        std::optional<PlaybackState> state;  // nullopt until loaded
        std::vector<std::shared_ptr<Socket>> sockets;
        std::size_t saves_due = 0;
    };
    using States = std::map<std::string, CachedState, std::less<>>;  // by user
    // One connected socket. `client` is weak (the connection owns itself); preloaded and stream are
    // touched only on the socket's own thread.
    struct Socket {
        std::weak_ptr<SocketIoClient> client;
        // Its user's entry, which stays while the socket is in it (no copy of the name per socket);
        // none for a viewer.
        std::optional<States::iterator> state;
        std::string preloaded_for;  // the track whose next one was preloaded
        std::shared_ptr<TrackStream> stream;
    };

    // The user's state, loaded from the store when it is not cached.
    Task<Result<PlaybackState>> load(std::string user);
    // Applies `action`, tells the other sockets, saves, acks.
    Task<> change(PlaybackAction action, std::shared_ptr<SocketIoClient> client, Ack ack);
    // Sends sync_state to every socket of `user` but `except` (a socket id), through the hub: encoded
    // once, posted once per thread, and on to the user's other servers once a broker joins them.
    void broadcast(std::string const& user, std::string const& except, boost::json::object message);
    std::shared_ptr<Socket> socket_of(SocketIoClient const& client);
    // Drops the user's entry if it is idle. With mutex_ held.
    void forget_if_idle(std::string const& user);
    void forget_if_idle(States::iterator user);

    storage::MetaStore& meta_;
    TrackCatalog& catalog_;
    Hub& hub_;
    Clock const& clock_;
    TrackStream::Metrics stream_metrics_;
    std::map<std::string, Counter*, std::less<>> quality_switches_;  // by the quality switched to
    Counter* save_failures_ = nullptr;

    std::mutex mutex_;  // guards what follows; never held across a co_await
    // Anonymous ones too. By the client's address, with no copy of its id per connection: the
    // connect hook adds an entry only while the client is connected, so its disconnect hook follows
    // and removes it, and the client lives until then.
    std::map<SocketIoClient const*, std::shared_ptr<Socket>> sockets_;
    States states_;
};

}  // namespace onda::realtime
