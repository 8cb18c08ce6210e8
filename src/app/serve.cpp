// `onda serve`: the wiring of every module, in one function, in dependency order. Nothing here is a
// global: each object is built from the ones above it and lives until the function returns.
#include <csignal>
#include <functional>
#include <fstream>
#include <thread>

#include <unistd.h>

#include <boost/asio/signal_set.hpp>

#include "app/api_service.hpp"
#include "app/commands.hpp"
#include "app/media_events.hpp"
#include "app/media_progress.hpp"
#include "app/ops.hpp"
#include "app/playback_tracks.hpp"
#include "app/worker_supervisor.hpp"
#include "auth/device_limit.hpp"
#include "auth/identity.hpp"
#include "auth/rate_limit.hpp"
#include "auth/secret.hpp"
#include "core/run_alone.hpp"
#include "core/log.hpp"
#include "http/server.hpp"
#include "media/library.hpp"
#include "media/transcode/ladder_config.hpp"
#include "realtime/hub.hpp"
#include "realtime/playback/playback_sync.hpp"
#include "realtime/room.hpp"
#include "realtime/socketio_server.hpp"
#include "realtime/sse_door.hpp"
#include "storage/local_blob_store.hpp"
#include "storage/spool_file.hpp"
#include "storage/sqlite_meta_store.hpp"
#include "storage/upload_files.hpp"
#include "uploads/media_upload.hpp"
#include "uploads/tus_server.hpp"

namespace onda::app {
namespace {

Result<void> write_ready_file(std::filesystem::path const& file, std::uint16_t port) {
    auto temp = file;
    temp += ".tmp";
    {
        std::ofstream out(temp);
        out << "{\"port\":" << port << "}\n";
        if (!out) return Error(Errc::internal, "cannot write " + temp.string());
    }
    std::error_code ec;
    std::filesystem::rename(temp, file, ec);
    if (ec) return Error(Errc::internal, "cannot write " + file.string() + ": " + ec.message());
    return ok();
}

// Runs `step` every `interval` until the main context stops (each step ends before the next wait).
Task<> repeat_every(std::chrono::milliseconds interval, std::function<Task<>()> step) {
    net::steady_timer timer(co_await net::this_coro::executor);
    for (;;) {
        timer.expires_after(interval);
        auto [ec] = co_await timer.async_wait(use_result);
        if (ec) co_return;
        co_await step();
    }
}

// The periodic steps (every object they use outlives the main context):
// idle rate-limit buckets go, so memory follows the active callers;
Task<> sweep_rate_limits(auth::RateLimiter& limiter, auth::RateLimiter& event_limiter) {
    limiter.sweep();
    event_limiter.sweep();
    co_return;
}

// expired resumable uploads go (files and rows);
Task<> sweep_uploads(uploads::TusServer& tus) {
    if (auto swept = co_await tus.sweep_expired(); !swept) log::warn("upload sweep: {}", swept.error().message());
}

// idle, unwatched event rooms go, so the hub's memory follows activity.
Task<> sweep_event_rooms(realtime::Hub& hub) {
    hub.sweep();
    co_return;
}

// Hands a finished upload to the library (uploads and media do not know each other).
Task<Result<boost::json::object>> ingest_upload(media::Library& library,
                                                uploads::UploadedFile file) {  // library outlives serving
    media::NewMedia media{.id = std::move(file.media_id),
                          .file = std::move(file.file),
                          .sha256 = std::move(file.sha256),
                          .owner = std::move(file.owner),
                          .filename = std::move(file.filename),
                          .title = std::move(file.title),
                          .visibility = std::move(file.visibility),
                          .declared_content_type = std::move(file.content_type),
                          .metadata = std::move(file.metadata)};
    auto record = co_await library.ingest(std::move(media));
    if (!record) co_return record.error();
    co_return library.to_json(*record);
}

// The hub's history limits from config: realtime.history_size / history_max_age for every room kind,
// and realtime.history.<kind>.* where set.
realtime::HistoryLimits history_limits(RealtimeConfig const& config) {
    realtime::HistoryLimits limits{.fallback = {.size = config.history_size, .max_age = config.history_max_age}};
    for (auto const& [kind, set] : config.history_by_kind)
        limits.by_kind.emplace_back(kind,
                                    realtime::HistoryLimit{.size = set.size.value_or(config.history_size),
                                                           .max_age = set.max_age.value_or(config.history_max_age)});
    return limits;
}

// Who may read the event rooms whose ids belong to other modules (realtime does not know them):
// media:{id} as the media itself; upload:{uid} its uploader (and admins); tts:{session} only admins
// until TTS sessions exist to say whose they are.
Task<Result<void>> may_read_room(media::Library& library, uploads::TusServer& tus, auth::Identity who,
                                 std::string room) {  // library and tus outlive serving
    auto const name = realtime::parse_room(room);
    if (name && name->kind == realtime::RoomKind::media) {
        Task<Result<void>> check = library.check_readable(std::move(who), std::string(name->id));
        co_return co_await std::move(check);
    }
    if (name && name->kind == realtime::RoomKind::upload) {
        Task<Result<void>> check = tus.check_watch(who, std::string(name->id));
        co_return co_await std::move(check);
    }
    if (who.is_admin()) co_return ok();
    if (who.is_anonymous()) co_return Error(Errc::unauthenticated, "a token is required for " + room);
    co_return Error(Errc::forbidden, "no access to " + room);
}

// GET /v1/uploads/{uid}/events: the upload's upload_progress events, for its owner (or an admin).
Task<http::Response> upload_events(uploads::TusServer& tus, realtime::SseDoor& sse_door,
                                   http::Request& request) {  // tus and the door outlive serving
    std::string uid(request.param("uid"));
    // Named, not built inside the co_await expressions (GCC 12 destroys such temporaries twice).
    Task<Result<void>> check = tus.check_watch(auth::identity_of(request), uid);
    if (auto allowed = co_await std::move(check); !allowed) co_return http::error_response(allowed.error());
    std::vector<std::string> rooms{uploads::TusServer::room_of(uid)};
    Task<http::Response> stream = sse_door.stream_rooms(request, std::move(rooms));
    co_return co_await std::move(stream);
}

// "<hostname>.<pid>.": the prefix of this server's worker names (lease owners), unique among the live
// processes that share the database.
std::string worker_name_prefix() {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
    std::string prefix;
    for (char const* c = host; *c; ++c) prefix += std::isalnum(static_cast<unsigned char>(*c)) || *c == '-' ? *c : '_';
    if (prefix.empty()) prefix = "onda";
    return prefix + "." + std::to_string(::getpid()) + ".";
}

int fail(std::string_view what, Error const& error) {
    log::error("{}: {}", what, error.message());
    return 1;
}

}  // namespace

int serve(ServeOptions options) {
    Config const& config = options.config;
    log::init(*log::parse_level(config.log_level));
    // A peer that closes mid-response must be an EPIPE for that connection, not the end of the
    // process: sendfile(2) has no MSG_NOSIGNAL.
    std::signal(SIGPIPE, SIG_IGN);
    // Likewise a write past RLIMIT_FSIZE must fail with EFBIG (a 507 for that upload), not kill us.
    std::signal(SIGXFSZ, SIG_IGN);

    auto const& data_dir = config.data_dir;
    auto const spool_dir = data_dir / "spool";
    std::error_code ec;
    std::filesystem::create_directories(spool_dir, ec);
    if (ec) return fail("create " + spool_dir.string(), Error(Errc::internal, ec.message()));
    if (auto cleared = storage::clear_spool_directory(spool_dir); !cleared) return fail("clear spool", cleared.error());
    // The scratch directories of workers of an earlier run (each worker empties its own at start).
    std::filesystem::remove_all(data_dir / "work", ec);
    if (ec) return fail("clear " + (data_dir / "work").string(), Error(Errc::internal, ec.message()));

    std::string secret = config.auth.secret;
    if (secret.empty()) {
        auto loaded = auth::blocking::load_or_create_secret(data_dir);
        if (!loaded) return fail("secret", loaded.error());
        secret = std::move(*loaded);
    }

    auto listen = http::parse_listen_address(config.server.listen);
    if (!listen) return fail("server.listen", listen.error());
    // The workers read the ladder's keys; a mistake there stops the server now, not every job later.
    if (auto ladder = media::ladder_options(config.transcode); !ladder) return fail("config", ladder.error());

    net::thread_pool blocking_pool(std::max(1u, config.blocking.threads));
    auto meta = storage::SqliteMetaStore::open(data_dir / "onda.db", blocking_pool);
    if (!meta) return fail("open metadata", meta.error());
    auto blobs = storage::LocalBlobStore::open(data_dir / "blobs");
    if (!blobs) return fail("open blobs", blobs.error());

    SystemClock clock;
    MetricsRegistry metrics;
    auth::Authenticator authenticator(secret, clock);
    auth::RateLimiter limiter(config.auth.rate_limit_per_minute, clock);
    auth::RateLimiter event_limiter(config.realtime.events_per_minute, clock);  // Socket.IO client events
    auth::DeviceLimiter devices(config.realtime.max_devices);

    unsigned const io_threads =
        config.server.threads ? config.server.threads : std::max(1u, std::thread::hardware_concurrency());
    media::LibraryOptions library_options{
        .default_visibility = config.auth.default_visibility,
        .public_url = config.server.public_url,
        .probe = {.timeout = config.probe.timeout, .max_bytes = config.probe.max_bytes},
        .max_json_body_bytes = config.limits.max_json_body_bytes,
        .io_threads = io_threads,
        // Probes and conversions run `onda-media probe|convert` in child processes: libav never
        // runs (or is even loaded) in this one.
        .prober = {media_program().string(), "probe"},
        .converter = {media_program().string(), "convert"},
        .max_live_conversions = config.transcode.max_live_conversions
                                    ? config.transcode.max_live_conversions
                                    : 2 * std::max(1u, std::thread::hardware_concurrency()),
        .conversion_spool = spool_dir,
    };
    media::Library library(**meta, **blobs, blocking_pool, authenticator, library_options);
    if (auto recovered = run_alone(library.recover()); !recovered) return fail("recover", recovered.error());

    // Before the server: streams on its threads hold subscribers, which must leave before the hub goes.
    realtime::Hub hub(realtime::HubOptions{.history = history_limits(config.realtime)}, clock, &metrics);
    MediaProgress media_progress(**meta, hub);
    MediaEvents media_events(library, **meta, hub, config.realtime.sse_keepalive);

    uploads::IngestFn const ingest = [&library](uploads::UploadedFile file) {
        return ingest_upload(library, std::move(file));
    };
    uploads::MediaUpload media_upload(
        ingest,
        uploads::MediaUploadOptions{.max_upload_bytes = config.limits.max_upload_bytes, .spool_dir = spool_dir});
    auto upload_files = storage::UploadFiles::open(data_dir / "uploads");
    if (!upload_files) return fail("open uploads", upload_files.error());
    uploads::TusServer tus(**meta, std::move(*upload_files), blocking_pool, hub, clock, ingest,
                           uploads::TusOptions{.spool_dir = spool_dir,
                                               .max_size = config.uploads.tus_max_size,
                                               .expire_after = config.uploads.expire_after,
                                               .sync_writes = config.uploads.sync_writes,
                                               .public_url = config.server.public_url});
    if (auto orphans = run_alone(tus.remove_orphans()); !orphans) return fail("recover uploads", orphans.error());
    realtime::RoomAccess const room_access = [&library, &tus](auth::Identity const& who, std::string_view room) {
        return may_read_room(library, tus, who, std::string(room));
    };
    realtime::SseDoor sse_door(hub, realtime::SseOptions{.keepalive = config.realtime.sse_keepalive}, room_access);
    // Its sessions run on the server's threads: it must outlive the server (declared before it).
    realtime::SocketIoServer socketio(
        realtime::SocketIoOptions{.engine = {.ping_interval = config.realtime.ping_interval,
                                             .ping_timeout = config.realtime.ping_timeout,
                                             .max_payload = config.realtime.max_payload,
                                             .max_queued_frames = config.realtime.send_queue_frames,
                                             .max_queued_bytes = config.realtime.send_queue_bytes},
                                  .connect_timeout = config.realtime.connect_timeout},
        hub, authenticator, devices, event_limiter, room_access, metrics);
    // Playback sync and stream_track, on the Socket.IO server; the library answers for the tracks.
    PlaybackTracks playback_tracks(library);
    realtime::PlaybackSync playback(**meta, playback_tracks, hub, clock, metrics);
    playback.register_with(socketio);
    Ops ops(**meta, **blobs, blocking_pool, metrics);

    http::Router router;
    library.add_routes(router);
    media_events.add_routes(router);
    router.add("POST", "/v1/media", "media.upload",
               [&media_upload](http::Request& r) { return media_upload.handle(r); });
    tus.add_routes(router);
    router.add("GET", "/v1/uploads/{uid}/events", "uploads.events",
               [&tus, &sse_door](http::Request& r) { return upload_events(tus, sse_door, r); });
    ops.add_routes(router);
    sse_door.add_routes(router);
    socketio.add_routes(router);

    ApiService service(router, authenticator, limiter, config.cors.allowed_origins, metrics);
    http::ServerOptions server_options{
        .host = listen->first,
        .port = listen->second,
        .threads = io_threads,
        .max_header_bytes = config.limits.max_header_bytes,
        .header_timeout = config.limits.header_timeout,
        .idle_timeout = config.limits.idle_timeout,
        .body_timeout = config.limits.body_timeout,
        .send_timeout = config.limits.send_timeout,
        .shutdown_timeout = config.limits.shutdown_timeout,
        .max_connections_per_thread = config.limits.max_connections_per_thread,
    };
    http::Server server(server_options, service, metrics);
    socketio.set_executors(server.executors());
    if (auto started = server.start(); !started) return fail("start", started.error());
    log::info("onda serving data_dir={} http://{}:{}/", data_dir.string(), listen->first, server.port());

    // Runs on this (the main) thread, which lives as long as the process: the workers' parent-death
    // signal follows the thread that started them.
    net::io_context main_context;
    JobEventHandler const on_job_event = [&media_progress](media::JobEvent event) {
        return media_progress.publish(std::move(event));
    };
    WorkerSupervisor supervisor(main_context, **meta, clock, on_job_event,
                                SupervisorOptions{.workers = config.transcode.workers,
                                                  .program = media_program(),
                                                  .arguments = options.worker_arguments,
                                                  .name_prefix = worker_name_prefix(),
                                                  .max_attempts = config.transcode.max_attempts});
    supervisor.start();
    if (config.transcode.workers == 0) log::info("transcode.workers = 0: media stay queued for transcoding");
    auto shut_down = [&] {
        hub.close();       // event streams end now instead of holding up the drain
        socketio.close();  // so do Socket.IO sessions (held polls, WebSockets)
        server.stop();
        supervisor.begin_stop();
        main_context.stop();
    };
    net::signal_set signals(main_context, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code, int signal) {
        log::info("signal {}: shutting down", signal);
        shut_down();
    });
    // Written once SIGINT and SIGTERM are handled: whoever waits for the file may stop the server
    // at once (before, a SIGTERM right after it could kill the process uncleanly).
    int exit_code = 0;
    if (!options.ready_file.empty())
        if (auto written = write_ready_file(options.ready_file, server.port()); !written) {
            exit_code = fail("ready file", written.error());
            shut_down();
        }
    auto const executor = main_context.get_executor();
    spawn(executor,
          repeat_every(std::chrono::minutes(1),
                       [&limiter, &event_limiter] { return sweep_rate_limits(limiter, event_limiter); }),
          "rate limit sweep");
    spawn(executor, repeat_every(config.uploads.sweep_interval, [&tus] { return sweep_uploads(tus); }), "upload sweep");
    spawn(executor, repeat_every(std::chrono::minutes(1), [&hub] { return sweep_event_rooms(hub); }),
          "event room sweep");
    main_context.run();
    supervisor.finish_stop(std::chrono::seconds(5));
    server.wait();
    blocking_pool.join();
    log::info("stopped");
    return exit_code;
}

}  // namespace onda::app
