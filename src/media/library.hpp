// The media library (API.md "Media library"): turning an uploaded file into a media object, and the
// HTTP handlers that list, describe, change, delete and deliver media.
//
// Durability: ingest() probes the spooled file, inserts a pending row, commits the bytes with one
// atomic BlobStore::put_file, then marks the row ready; recover() at start-up removes what a crash
// between those steps left. A media object is therefore either whole and visible, or absent.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/thread_pool.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "auth/identity.hpp"
#include "core/task.hpp"
#include "http/request.hpp"
#include "http/response.hpp"
#include "http/router.hpp"
#include "media/probe.hpp"
#include "media/prober.hpp"
#include "storage/blob_store.hpp"
#include "storage/meta_store.hpp"
#include "storage/spool_file.hpp"

namespace onda::media {

namespace detail {
class ChildProcess;
class SpareChild;
}  // namespace detail
struct ConversionPlan;

// A file that has fully arrived in the spool, with what the uploader said about it.
struct NewMedia {
    std::string id;  // empty: a new id; else this one (conflict if a media object has it)
    storage::SpoolFile file;
    std::string sha256;  // lowercase hex of the file's bytes
    std::string owner;
    std::string filename;               // as the client named it; sanitised here
    std::string title;                  // empty: derived from the file name
    std::string visibility;             // empty: the configured default
    std::string declared_content_type;  // the client's Content-Type, used only when probing names none
    std::string source = "upload";
    boost::json::object metadata;
};

struct LibraryOptions {
    std::string default_visibility = "private";
    std::string public_url;  // base of presigned links; empty: http:// + the request's Host
    ProbeLimits probe;
    std::size_t max_json_body_bytes = 64 * 1024;
    std::size_t io_threads = 1;                 // one delivery cache per server thread
    std::size_t cached_media_per_thread = 256;  // open files kept per thread
    // The command that probes a file in a child process (app: {"<dir>/onda-media", "probe"}; see
    // prober.hpp); empty: uploads are refused (503), the server has no way to read media.
    std::vector<std::string> prober;
    // On-the-fly conversions (`stream?format=`): the command that runs one, to which the plan's
    // options and the file are appended (app: `onda-media convert`); empty: not offered (503).
    std::vector<std::string> converter;
    std::size_t max_live_conversions = 4;  // running at once, server-wide; past it 503 with Retry-After
    std::chrono::milliseconds conversion_stall_timeout{30'000};  // a child silent this long is killed
    // A full MP3 conversion is written here as it is sent, then kept in the BlobStore
    // ("media/{id}/live/mp3-192k.mp3") and served as a stored file next time; empty: none are kept.
    std::filesystem::path conversion_spool;
};

class Library {
public:
    // Every reference must outlive the library.
    // With a prober and a converter, one child of each is started at once and kept waiting for work.
    Library(storage::MetaStore& meta, storage::BlobStore& blobs, net::thread_pool& pool,
            auth::Authenticator const& auth, LibraryOptions options);
    ~Library();
    Library(Library const&) = delete;
    Library& operator=(Library const&) = delete;

    // unsupported_media when the file is not audio/video the server can read (the spool file is
    // then dropped, nothing is kept).
    Task<Result<storage::MediaRecord>> ingest(NewMedia media);

    // Start-up: removes pending rows and the blobs they may have left.
    Task<Result<std::size_t>> recover();

    // The API's media object.
    boost::json::object to_json(storage::MediaRecord const& record) const;

    // Whether `who` may read media `id` without a signed link (public, owner or admin): not_found,
    // unauthenticated or forbidden otherwise. For other modules' access checks (event rooms).
    Task<Result<void>> check_readable(auth::Identity who, std::string id);

    // For Socket.IO playback (wired in app): the row of media `id` if `who` may read it without a
    // signed link (as check_readable); links a player may load it from (playback_urls); and an
    // MP3 conversion read as a stream (open_mp3, library_convert.cpp).
    Task<Result<storage::MediaRecord>> find_readable(auth::Identity who, std::string id);
    // {stream, mp3 (converted at `mp3_bit_rate` bits/s), hls (when the ladder is ready)}: paths
    // below public_url (relative when none is set), signed for `expires_in` when the media is private.
    boost::json::object playback_urls(storage::MediaRecord const& record, std::int64_t mp3_bit_rate,
                                      std::chrono::seconds expires_in) const;
    // The media converted to constant-bit-rate MP3 at `bit_rate`, from frame `first_frame` of the
    // conversion on (0 is the Info frame; mp3_layout.hpp), in a child process like
    // `stream?format=mp3`. Counts as a running conversion until `bytes` is destroyed. The stream's
    // next() runs on the executor this was awaited on.
    struct Mp3Stream {
        int frame_bytes = 0;
        int sample_rate = 0;
        std::int64_t audio_frames = 0;  // after the Info frame (mp3_layout.hpp)
        double duration = 0;            // of the media, seconds
        std::unique_ptr<http::BodyStream> bytes;
    };
    Task<Result<Mp3Stream>> open_mp3(auth::Identity who, std::string id, std::int64_t bit_rate,
                                     std::int64_t first_frame);

    // Registers the /v1/media routes (but POST, which belongs to uploads) and the /podcast/audio
    // compatibility routes.
    void add_routes(http::Router& router);

    Task<http::Response> list(http::Request& request);
    Task<http::Response> list_podcast_audio(http::Request& request);
    Task<http::Response> get(http::Request& request);
    Task<http::Response> patch(http::Request& request);
    Task<http::Response> remove(http::Request& request);
    Task<http::Response> stream(http::Request& request);
    Task<http::Response> download(http::Request& request);
    Task<http::Response> presign(http::Request& request);
    // What the transcode made (library_renditions.cpp): HLS playlists and segments, the poster, the
    // waveform, and the renditions with a recommendation for a bandwidth.
    Task<http::Response> hls(http::Request& request);
    Task<http::Response> thumbnail(http::Request& request);
    Task<http::Response> waveform(http::Request& request);
    Task<http::Response> renditions(http::Request& request);

private:
    // A media row with its bytes open, as delivery needs them. Immutable once built; shared by the
    // responses that are sending it.
    struct OpenMedia {
        storage::MediaRecord record;
        std::shared_ptr<storage::BlobReader> reader;
        std::string etag;  // of the original's bytes, made once rather than per request
    };
    // One server thread's recently delivered media. Only that thread touches it (Request::worker()).
    // Emptied whenever `generation_` moved, so a PATCH or DELETE is never answered around.
    struct DeliveryCache {
        std::uint64_t generation = 0;
        std::unordered_map<std::string, std::shared_ptr<OpenMedia const>> entries;
    };

    // From the thread's cache, else from the stores (and then cached). not_found for unknown ids.
    Task<Result<std::shared_ptr<OpenMedia const>>> open_media(std::string id, std::size_t worker);
    // The thread's cached entry, or null: what open_media() looks at first, without a coroutine (most
    // deliveries find their media here).
    std::shared_ptr<OpenMedia const> cached_media(std::string const& id, std::size_t worker);
    // Marks every cached media stale: call after a row changed or went away.
    void media_changed() { generation_.fetch_add(1, std::memory_order_acq_rel); }
    // Whether the caller may read `record`: public, owner/admin, or (signed_ok) a valid signature.
    Result<void> check_read(http::Request const& request, storage::MediaRecord const& record, bool signed_ok) const;
    // The same where the signature covers `signed_path` and `signed_rendition` instead of the request's
    // own path and rendition (every file of an HLS ladder is read with the master's signature).
    Result<void> check_signed_read(http::Request const& request, storage::MediaRecord const& record,
                                   std::string_view signed_path, std::string_view signed_rendition) const;
    // The same without a signature: public, or the caller is the owner or an admin.
    Result<void> check_owner_read(auth::Identity const& who, storage::MediaRecord const& record) const;

    Task<http::Response> list_with(http::Request& request, std::optional<std::string> forced_kind);
    Task<http::Response> deliver(http::Request& request, bool as_attachment);
    // `?rendition=NAME` of stream and download: a progressive rendition file.
    Task<http::Response> deliver_rendition(http::Request& request, storage::MediaRecord record, std::string name,
                                           bool as_attachment);
    // `?format=F&bitrate=B` of stream and download: an on-the-fly conversion (library_convert.cpp).
    Task<http::Response> deliver_conversion(http::Request& request, std::shared_ptr<OpenMedia const> media,
                                            std::string format, bool as_attachment);
    // A stored file of the media (not the original) with the Delivery rules.
    Task<http::Response> deliver_blob(http::Request& request, storage::MediaRecord const& record, std::string key,
                                      std::string content_type, std::string disposition_name = {});
    // The row, if the caller may read it: public, owner/admin, or a valid signature when `signed_ok`.
    Task<Result<storage::MediaRecord>> readable(http::Request& request, bool signed_ok);
    Task<Result<storage::MediaRecord>> manageable(http::Request& request);
    std::string base_url(http::Request const& request) const;

    storage::MetaStore& meta_;
    storage::BlobStore& blobs_;
    net::thread_pool& pool_;
    auth::Authenticator const& auth_;
    LibraryOptions options_;
    std::vector<DeliveryCache> caches_;  // one per server thread
    std::atomic<std::uint64_t> generation_{0};
    // Conversions running now (their children alive), across every server thread.
    std::atomic<std::size_t> live_conversions_{0};
    std::unique_ptr<Prober> prober_;  // none without options_.prober
    // A conversion child started ahead of need (library_convert.cpp); whichever thread starts a
    // conversion takes it and starts the next. None without options_.converter.
    std::unique_ptr<detail::SpareChild> spare_converter_;
    void start_spare_converter();
    // A conversion child for `plan` from byte `first` of its output, reading the media from
    // `source_fd`, on `executor`: the waiting one when there is one, else a new one.
    Result<std::unique_ptr<detail::ChildProcess>> start_converter(net::any_io_executor executor,
                                                                  ConversionPlan const& plan, std::uint64_t first,
                                                                  int source_fd, std::string const& what);
};

// The BlobStore key of a media object's original bytes.
std::string original_key(std::string_view media_id);

// A progressive rendition file the transcode stored ("files/mp3-192.mp3" below "media/{id}/").
struct RenditionFile {
    std::string path;
    std::string content_type;
};
std::optional<RenditionFile> find_rendition_file(storage::MediaRecord const& record, std::string_view name);

// The API's `renditions`: the stored ones without what only the server needs.
boost::json::array public_renditions(boost::json::array const& stored);

// What a signed HLS link covers: the path of the media's hls/ folder, and this rendition name.
std::string hls_signed_path(std::string_view media_id);
inline constexpr std::string_view hls_signed_rendition = "hls";

// A file name safe to store and echo: no directories, no control characters, at most 255 bytes.
std::string sanitize_filename(std::string_view name);

}  // namespace onda::media
