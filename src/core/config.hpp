// onda's configuration: defaults, then the TOML file (`onda.toml`), then `ONDA_*` environment
// variables, then command-line flags; a later source overrides an earlier one.
//
// Every setting has one dotted key ("server.listen"); the same key is the TOML path
// ([server] listen = "…"), the environment variable (ONDA_SERVER_LISTEN) and the generic flag
// (--set server.listen=…). Durations accept "500ms", "10s", "5m", "24h" or a number of seconds;
// sizes accept "64KiB", "2GiB", "10MB" or a number of bytes; lists are comma separated in env/flags.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace onda {

struct ServerConfig {
    std::string listen = "127.0.0.1:8080";
    unsigned threads = 0;    // 0: one per core
    std::string public_url;  // e.g. "https://media.example.com"; empty: from the request's Host
};

struct LimitsConfig {
    std::size_t max_header_bytes = 16 * 1024;
    std::size_t max_json_body_bytes = 1024 * 1024;
    std::uint64_t max_upload_bytes = 2ull * 1024 * 1024 * 1024;
    std::chrono::milliseconds header_timeout{10'000};  // from the first byte of a request to its last header
    std::chrono::milliseconds idle_timeout{60'000};    // a keep-alive connection with no request
    std::chrono::milliseconds body_timeout{30'000};    // the longest pause between body bytes
    std::chrono::milliseconds send_timeout{60'000};    // the longest a response write may stall
    std::chrono::milliseconds shutdown_timeout{10'000};
    std::size_t max_connections_per_thread = 50'000;
};

struct AuthConfig {
    std::string secret;  // empty: generated into <data_dir>/secret on first start
    std::string default_visibility = "private";
    unsigned rate_limit_per_minute = 100;  // per user or IP, API routes only; 0 disables
};

struct CorsConfig {
    std::vector<std::string> allowed_origins;  // "*" allows any
};

struct ProbeConfig {
    std::chrono::milliseconds timeout{10'000};
    std::uint64_t max_bytes = 64ull * 1024 * 1024;  // how far into a file the probe may read
};

struct UploadsConfig {
    std::uint64_t tus_max_size = 2ull * 1024 * 1024 * 1024;  // Tus-Max-Size
    std::chrono::milliseconds expire_after{24 * 3'600'000};  // a resumable upload's life after its last write
    std::chrono::milliseconds sweep_interval{60'000};        // how often expired uploads are removed
    bool sync_writes = true;                                 // fdatasync before a PATCH is acknowledged
};

struct BlockingConfig {
    unsigned threads = 4;
};

// How much history one kind of room keeps (`realtime.history.<kind>.size` / `.max_age`); what is
// not set falls back to realtime.history_size / history_max_age.
struct RoomHistoryConfig {
    std::optional<std::size_t> size;                   // events
    std::optional<std::chrono::milliseconds> max_age;  // 0: no age limit
};

struct RealtimeConfig {
    std::size_t history_size = 100;                      // events kept per room for SSE resume (Last-Event-ID)
    std::chrono::milliseconds history_max_age{300'000};  // older events are dropped; 0: no age limit
    // Per room kind (user, upload, media, chat, stream, tts). Chat: the last 100 messages of 5 minutes.
    std::map<std::string, RoomHistoryConfig, std::less<>> history_by_kind{
        {"chat", RoomHistoryConfig{.size = 100, .max_age = std::chrono::minutes(5)}}};
    std::chrono::milliseconds sse_keepalive{15'000};  // longest silence on an event stream before a comment
    // Socket.IO (Engine.IO handshake values, API.md "Realtime" limits).
    std::chrono::milliseconds ping_interval{25'000};    // a ping to each client this often
    std::chrono::milliseconds ping_timeout{20'000};     // a client that does not pong this long after is gone
    std::size_t max_payload = 1'000'000;                // bytes of one message or polling request body
    std::chrono::milliseconds connect_timeout{45'000};  // from the handshake to a successful CONNECT
    std::size_t max_devices = 3;                        // distinct devices one user may have connected; 0: any
    unsigned events_per_minute = 100;                   // client events per user (or anonymous address); 0: off
    std::size_t send_queue_frames = 1024;               // frames waiting for a client before it is dropped as slow
    std::size_t send_queue_bytes = 8 * 1024 * 1024;     // bytes likewise
};

// Transcoding runs in `onda-media worker` processes that `onda serve` starts and restarts (app/worker_supervisor).
struct TranscodeConfig {
    unsigned workers = 1;                              // worker processes; 0: nothing is transcoded (jobs wait)
    unsigned max_attempts = 3;                         // tries of one job before it fails for good
    std::chrono::milliseconds lease{30'000};           // a job unrenewed this long goes to another worker
    std::chrono::milliseconds stall_timeout{120'000};  // a transcode whose progress stays this long is a hang
    // On-the-fly conversions (`stream?format=`) running at once, each a child process; past it 503.
    unsigned max_live_conversions = 0;  // 0: two per core
    // The ladder, as text; media::ladder_options reads (and checks) it when serve and worker start.
    std::string audio_hls = "64k@22050, 128k@44100, 320k@48000";                // AAC HLS rungs: bitrate[@Hz]
    std::string audio_files = "mp3:128k, mp3:192k, mp3:320k, opus:160k, flac";  // codec[:bitrate][@Hz]
    std::string video = "1080p:5000k, 720p:2500k, 480p:1200k, 360p:800k";       // H.264: <height>p:bitrate
    std::string video_audio_bitrate = "128k";  // the AAC track of every video rendition
    std::chrono::milliseconds segment_duration{4'000};
    std::string video_preset = "veryfast";  // libx264's speed/quality trade-off
};

struct Config {
    ServerConfig server;
    std::filesystem::path data_dir = "./onda-data";
    std::string log_level = "info";
    LimitsConfig limits;
    AuthConfig auth;
    CorsConfig cors;
    ProbeConfig probe;
    UploadsConfig uploads;
    BlockingConfig blocking;
    RealtimeConfig realtime;
    TranscodeConfig transcode;
};

// Sets one key from its text form; invalid_argument for an unknown key or a bad value.
Result<void> set_config_value(Config& config, std::string_view key, std::string_view value);

// The items of a comma-separated list, trimmed of spaces and tabs; empty items are dropped.
std::vector<std::string> split_list(std::string_view text);

// Applies a TOML file. Unknown keys are errors, so typos do not pass silently.
Result<void> apply_config_file(Config& config, std::filesystem::path const& file);

// Applies every ONDA_<SECTION>_<KEY> variable in `environment` (a copy of environ as name -> value).
Result<void> apply_config_env(Config& config, std::map<std::string, std::string> const& environment);

// All known keys, for help texts.
std::vector<std::string_view> config_keys();

// Parsers shared with other text inputs.
Result<std::chrono::milliseconds> parse_duration(std::string_view text);
Result<std::uint64_t> parse_size(std::string_view text);

}  // namespace onda
