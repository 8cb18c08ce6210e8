#include "media/library.hpp"

#include <charconv>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "auth/signed_url.hpp"
#include "core/ids.hpp"
#include "core/text.hpp"
#include "core/log.hpp"
#include "http/content_disposition.hpp"
#include "http/delivery.hpp"
#include "media/detail/child_process.hpp"
#include "media/detail/delivery_policy.hpp"

namespace onda::media {
namespace {

namespace json = boost::json;
using http::Request;
using http::Response;

constexpr std::int64_t max_presign_seconds = 7 * 24 * 3600;
constexpr std::size_t max_title_bytes = 500;
constexpr std::size_t max_metadata_bytes = 16 * 1024;

using detail::error;

std::string media_path(std::string_view id) { return "/v1/media/" + std::string(id); }

std::optional<std::int64_t> parse_int(std::string_view text) {
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return value;
}

std::string strip_extension(std::string_view filename) {
    auto dot = filename.rfind('.');
    if (dot == std::string_view::npos || dot == 0) return std::string(filename);
    return std::string(filename.substr(0, dot));
}

// A store's not_found, whatever its wording, is "no such media" to the client; other errors pass.
Error as_media_error(Error const& error) {
    return error.code() == Errc::not_found ? Error(Errc::not_found, "no such media") : error;
}

}  // namespace

std::string original_key(std::string_view media_id) { return "media/" + std::string(media_id) + "/original"; }

std::string hls_signed_path(std::string_view media_id) { return media_path(media_id) + "/hls"; }

std::string sanitize_filename(std::string_view name) {
    // Browsers send "C:\path\file.wav" or "dir/file.wav" at times: keep the last component.
    auto slash = name.find_last_of("/\\");
    if (slash != std::string_view::npos) name = name.substr(slash + 1);
    std::string out;
    for (char c : replace_invalid_utf8(name))
        if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) out += c;
    if (out == "." || out == "..") out.clear();
    if (out.size() > 255) out.resize(255);
    while (!out.empty() && !is_valid_utf8(out)) out.pop_back();  // the cut may split a character
    return out;
}

Library::Library(storage::MetaStore& meta, storage::BlobStore& blobs, net::thread_pool& pool,
                 auth::Authenticator const& auth, LibraryOptions options)
    : meta_(meta),
      blobs_(blobs),
      pool_(pool),
      auth_(auth),
      options_(std::move(options)),
      caches_(std::max<std::size_t>(1, options_.io_threads)) {
    if (!options_.prober.empty()) prober_ = std::make_unique<Prober>(options_.prober, options_.probe);
    start_spare_converter();
}

Task<Result<storage::MediaRecord>> Library::ingest(NewMedia media) {
    if (media.file.size() == 0) co_return Error(Errc::unsupported_media, "the file is empty");
    if (!prober_) co_return Error(Errc::unavailable, "this server cannot read media");
    auto info = co_await prober_->probe(pool_, media.file.path());
    if (!info) {
        auto reason = info.error();
        // No probe child could be started: the file's fault is unknown, and trying again may work.
        if (reason.code() == Errc::unavailable) co_return reason;
        co_return Error(Errc::unsupported_media, "not audio or video this server can read (" + reason.message() + ")");
    }

    storage::MediaRecord record;
    record.id = media.id.empty() ? make_id("m") : media.id;
    record.filename = sanitize_filename(media.filename);
    if (record.filename.empty()) record.filename = record.id + "." + info->format;
    record.title = media.title.empty() ? strip_extension(record.filename) : replace_invalid_utf8(media.title);
    if (record.title.size() > max_title_bytes) record.title.resize(max_title_bytes);
    while (!record.title.empty() && !is_valid_utf8(record.title)) record.title.pop_back();
    record.owner = media.owner;
    record.visibility = media.visibility.empty() ? options_.default_visibility : media.visibility;
    record.source = media.source;
    record.kind = info->kind;
    record.content_type = info->content_type;
    if (record.content_type == "application/octet-stream" &&
        (media.declared_content_type.starts_with("audio/") || media.declared_content_type.starts_with("video/")))
        record.content_type = media.declared_content_type;
    record.size = media.file.size();
    record.sha256 = media.sha256;
    record.duration = info->duration;
    record.bit_rate = info->bit_rate;
    record.format = info->format;
    if (info->audio) record.audio = media::to_json(*info->audio);
    if (info->video) record.video = media::to_json(*info->video);
    record.metadata = std::move(media.metadata);
    record.created_at = auth_.clock().now();
    record.transcode_state = "queued";  // mark_media_ready() enqueues its transcode job with it

    if (auto inserted = co_await meta_.insert_media(record); !inserted)
        co_return inserted.error().context("record media " + record.id);
    auto key = original_key(record.id);
    auto source = media.file.path();
    auto put = [this, key, source] { return blobs_.put_file(key, source); };  // named: GCC 12 and co_await temporaries
    auto committed = co_await offload(pool_, put);
    if (!committed) {
        // The pending row is invisible; drop it now rather than wait for the next start-up.
        co_await meta_.delete_media(record.id);
        co_return committed.error().context("store media " + record.id);
    }
    media.file.release();
    if (auto ready = co_await meta_.mark_media_ready(record.id); !ready)
        co_return ready.error().context("publish media " + record.id);
    log::info("media {} stored: {} {} bytes, {:.2f} s, owner={}", record.id, record.format, record.size,
              record.duration, record.owner);
    co_return record;
}

Task<Result<std::size_t>> Library::recover() {
    auto pending = co_await meta_.take_pending_media();
    if (!pending) co_return pending.error().context("recover pending media");
    for (auto const& id : *pending) {
        auto prefix = "media/" + id;
        auto remove_blobs = [this, prefix] { return blobs_.remove_all(prefix); };
        auto removed = co_await offload(pool_, remove_blobs);
        if (!removed) log::warn("recover: could not remove {}: {}", prefix, removed.error().message());
    }
    if (!pending->empty()) log::info("recover: removed {} media that a crash left half-written", pending->size());
    co_return pending->size();
}

json::object Library::to_json(storage::MediaRecord const& r) const {
    json::object o;
    o["id"] = r.id;
    o["title"] = r.title;
    o["filename"] = r.filename;
    o["owner"] = r.owner;
    o["visibility"] = r.visibility;
    o["source"] = r.source;
    o["kind"] = r.kind;
    o["content_type"] = r.content_type;
    o["size"] = r.size;
    o["sha256"] = r.sha256;
    o["duration"] = r.duration;
    o["bit_rate"] = r.bit_rate;
    o["format"] = r.format;
    o["audio"] = r.audio;
    o["video"] = r.video;
    o["metadata"] = r.metadata;
    o["created_at"] = format_rfc3339(r.created_at);
    json::object transcode;
    transcode["state"] = r.transcode_state;
    transcode["progress"] = r.transcode_progress;
    transcode["error"] = r.transcode_error ? json::value(*r.transcode_error) : json::value(nullptr);
    o["transcode"] = std::move(transcode);
    o["renditions"] = public_renditions(r.renditions);
    auto base = media_path(r.id);
    auto url_if = [&base](bool made, std::string_view file) {
        return made ? json::value(base + std::string(file)) : json::value(nullptr);
    };
    json::object urls;
    urls["stream"] = base + "/stream";
    urls["download"] = base + "/download";
    urls["hls"] = url_if(r.has_hls, "/hls/master.m3u8");
    urls["thumbnail"] = url_if(r.has_thumbnail, "/thumbnail.jpg");
    urls["waveform"] = url_if(r.has_waveform, "/waveform.json");
    o["urls"] = std::move(urls);
    return o;
}

void Library::add_routes(http::Router& router) {
    http::RouteOptions const bytes{.rate_limited = false};
    router.add("GET", "/v1/media", "media.list", [this](Request& r) { return list(r); });
    router.add("GET", "/v1/media/{id}", "media.get", [this](Request& r) { return get(r); });
    router.add("PATCH", "/v1/media/{id}", "media.patch", [this](Request& r) { return patch(r); });
    router.add("DELETE", "/v1/media/{id}", "media.delete", [this](Request& r) { return remove(r); });
    router.add(
        "GET", "/v1/media/{id}/stream", "media.stream", [this](Request& r) { return stream(r); }, bytes);
    router.add(
        "GET", "/v1/media/{id}/download", "media.download", [this](Request& r) { return download(r); }, bytes);
    router.add("GET", "/v1/media/{id}/presigned-url", "media.presign", [this](Request& r) { return presign(r); });
    router.add(
        "GET", "/v1/media/{id}/hls/{file}", "media.hls", [this](Request& r) { return hls(r); }, bytes);
    router.add(
        "GET", "/v1/media/{id}/hls/{rendition}/{file}", "media.hls", [this](Request& r) { return hls(r); }, bytes);
    router.add(
        "GET", "/v1/media/{id}/thumbnail.jpg", "media.thumbnail", [this](Request& r) { return thumbnail(r); }, bytes);
    router.add(
        "GET", "/v1/media/{id}/waveform.json", "media.waveform", [this](Request& r) { return waveform(r); }, bytes);
    router.add("GET", "/v1/media/{id}/renditions", "media.renditions", [this](Request& r) { return renditions(r); });
    router.add("GET", "/podcast/audio/list", "podcast.list", [this](Request& r) { return list_podcast_audio(r); });
    router.add(
        "GET", "/podcast/audio/{id}/stream", "podcast.stream", [this](Request& r) { return stream(r); }, bytes);
    router.add(
        "GET", "/podcast/audio/{id}/stream-range", "podcast.stream_range", [this](Request& r) { return stream(r); },
        bytes);
    router.add(
        "GET", "/podcast/audio/{id}/download", "podcast.download", [this](Request& r) { return download(r); }, bytes);
    router.add("GET", "/podcast/audio/{id}/presigned-url", "podcast.presign",
               [this](Request& r) { return presign(r); });
}

Task<Response> Library::list(Request& request) { co_return co_await list_with(request, std::nullopt); }

Task<Response> Library::list_podcast_audio(Request& request) {
    co_return co_await list_with(request, std::string("audio"));
}

Task<Response> Library::list_with(Request& request, std::optional<std::string> forced_kind) {
    auto const& who = auth::identity_of(request);
    storage::MediaQuery query;
    query.viewer = who.user;
    query.viewer_is_admin = who.is_admin();
    if (auto limit = request.query("limit")) {
        auto n = parse_int(*limit);
        if (!n || *n < 1 || *n > 200)
            co_return error(Errc::invalid_argument, "limit must be a whole number from 1 to 200");
        query.limit = static_cast<std::size_t>(*n);
    }
    query.kind = forced_kind ? forced_kind : request.query("kind");
    if (query.kind && *query.kind != "audio" && *query.kind != "video")
        co_return error(Errc::invalid_argument, "kind must be audio or video");
    query.source = request.query("source");
    if (query.source && *query.source != "upload" && *query.source != "tts" && *query.source != "live")
        co_return error(Errc::invalid_argument, "source must be upload, tts or live");
    query.text = request.query("q");
    if (query.text && query.text->size() > 200) co_return error(Errc::invalid_argument, "q is longer than 200 bytes");
    if (query.text && query.text->empty()) query.text.reset();
    query.cursor = request.query("cursor");
    if (query.cursor && query.cursor->empty()) query.cursor.reset();

    auto page = co_await meta_.list_media(std::move(query));
    if (!page) co_return http::error_response(page.error());
    json::array items;
    for (auto const& record : page->items) items.push_back(to_json(record));
    json::object body;
    body["items"] = std::move(items);
    body["next_cursor"] = page->next_cursor ? json::value(*page->next_cursor) : json::value(nullptr);
    co_return http::json_response(200, body);
}

Result<void> Library::check_read(Request const& request, storage::MediaRecord const& record, bool signed_ok) const {
    if (!signed_ok) return check_owner_read(auth::identity_of(request), record);
    return check_signed_read(request, record, request.path(), request.query("rendition").value_or(""));
}

Result<void> Library::check_signed_read(Request const& request, storage::MediaRecord const& record,
                                        std::string_view signed_path, std::string_view signed_rendition) const {
    if (record.visibility == "public") return ok();
    auto sig = request.query("sig");
    auto exp = request.query("exp");
    if (sig || exp)
        return auth::verify_url_signature(auth_.secret(), signed_path, signed_rendition, exp.value_or(""),
                                          sig.value_or(""), auth_.clock().now());
    return check_owner_read(auth::identity_of(request), record);
}

Result<void> Library::check_owner_read(auth::Identity const& who, storage::MediaRecord const& record) const {
    if (record.visibility == "public") return ok();
    if (who.may_manage(record.owner)) return ok();
    if (who.is_anonymous())
        return Error(Errc::unauthenticated, "this media is private: a token or a signed link is required");
    return Error(Errc::forbidden, "this media is private");
}

Task<Result<void>> Library::check_readable(auth::Identity who, std::string id) {
    if (!is_valid_id(id, "m")) co_return Error(Errc::not_found, "no such media");
    auto record = co_await meta_.find_media(id);
    if (!record) co_return as_media_error(record.error());
    co_return check_owner_read(who, *record);
}

Task<Result<storage::MediaRecord>> Library::find_readable(auth::Identity who, std::string id) {
    if (!is_valid_id(id, "m")) co_return Error(Errc::not_found, "no such media");
    auto record = co_await meta_.find_media(id);
    if (!record) co_return as_media_error(record.error());
    if (auto allowed = check_owner_read(who, *record); !allowed) co_return allowed.error();
    co_return record;
}

json::object Library::playback_urls(storage::MediaRecord const& record, std::int64_t mp3_bit_rate,
                                    std::chrono::seconds expires_in) const {
    std::string base = options_.public_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    std::string const stream_path = media_path(record.id) + "/stream";
    // The query that lets a player in: none for public media, else a signature as presign makes one.
    std::string stream_query;
    std::string hls_query;
    if (record.visibility != "public") {
        std::int64_t const exp =
            std::chrono::duration_cast<std::chrono::seconds>(auth_.clock().now().time_since_epoch() + expires_in)
                .count();
        stream_query =
            "?exp=" + std::to_string(exp) + "&sig=" + auth::url_signature(auth_.secret(), stream_path, "", exp);
        hls_query = "?exp=" + std::to_string(exp) + "&sig=" +
                    auth::url_signature(auth_.secret(), hls_signed_path(record.id), hls_signed_rendition, exp);
    }
    std::string const mp3 = std::string(stream_query.empty() ? "?" : "&") +
                            "format=mp3&bitrate=" + std::to_string(mp3_bit_rate / 1000) + "k";
    json::object urls;
    urls["stream"] = base + stream_path + stream_query;
    urls["mp3"] = base + stream_path + stream_query + mp3;
    urls["hls"] = record.has_hls ? json::value(base + hls_signed_path(record.id) + "/master.m3u8" + hls_query)
                                 : json::value(nullptr);
    return urls;
}

Task<Result<storage::MediaRecord>> Library::readable(Request& request, bool signed_ok) {
    std::string id(request.param("id"));
    // An id of any other shape (path traversal included) names nothing here.
    if (!is_valid_id(id, "m")) co_return Error(Errc::not_found, "no such media");
    auto record = co_await meta_.find_media(id);
    if (!record) co_return as_media_error(record.error());
    if (auto allowed = check_read(request, *record, signed_ok); !allowed) co_return allowed.error();
    co_return record;
}

std::shared_ptr<Library::OpenMedia const> Library::cached_media(std::string const& id, std::size_t worker) {
    if (worker >= caches_.size()) return nullptr;
    DeliveryCache& cache = caches_[worker];
    auto const generation = generation_.load(std::memory_order_acquire);
    if (cache.generation != generation) {
        cache.entries.clear();
        cache.generation = generation;
    }
    auto it = cache.entries.find(id);
    return it == cache.entries.end() ? nullptr : it->second;
}

Task<Result<std::shared_ptr<Library::OpenMedia const>>> Library::open_media(std::string id, std::size_t worker) {
    if (auto cached = cached_media(id, worker)) co_return cached;
    DeliveryCache* cache = worker < caches_.size() ? &caches_[worker] : nullptr;
    auto const generation = generation_.load(std::memory_order_acquire);
    auto record = co_await meta_.find_media(id);
    if (!record) co_return as_media_error(record.error());
    auto key = original_key(id);
    auto open_blob = [this, key] { return blobs_.open(key); };  // named: GCC 12 and co_await temporaries
    auto opened = co_await offload(pool_, open_blob);
    if (!opened) co_return opened.error().context("open " + id);
    std::string etag = "\"" + record->sha256.substr(0, 32) + "\"";
    auto media = std::make_shared<OpenMedia const>(OpenMedia{std::move(*record), std::move(*opened), std::move(etag)});
    // Cache only what no change overtook while we waited; a later change empties the cache anyway.
    if (cache && generation_.load(std::memory_order_acquire) == generation && cache->generation == generation) {
        if (cache->entries.size() >= options_.cached_media_per_thread) cache->entries.erase(cache->entries.begin());
        cache->entries.emplace(std::move(id), media);
    }
    co_return media;
}

Task<Result<storage::MediaRecord>> Library::manageable(Request& request) {
    auto record = co_await readable(request, false);
    if (!record) co_return record;
    auto const& who = auth::identity_of(request);
    if (who.may_manage(record->owner)) co_return record;
    if (who.is_anonymous()) co_return Error(Errc::unauthenticated, "a token is required");
    co_return Error(Errc::forbidden, "only the owner or an admin may do this");
}

Task<Response> Library::get(Request& request) {
    auto record = co_await readable(request, false);
    if (!record) co_return http::error_response(record.error());
    co_return http::json_response(200, to_json(*record));
}

Task<Response> Library::patch(Request& request) {
    auto record = co_await manageable(request);
    if (!record) co_return http::error_response(record.error());
    auto body = co_await request.read_body(options_.max_json_body_bytes);
    if (!body) co_return http::error_response(body.error());
    boost::system::error_code ec;
    auto parsed = json::parse(*body, ec);
    if (ec || !parsed.is_object()) co_return error(Errc::invalid_argument, "the body must be a JSON object");

    storage::MediaPatch change;
    for (auto const& [key, value] : parsed.as_object()) {
        if (key == "title") {
            if (!value.is_string() || value.as_string().empty() || value.as_string().size() > max_title_bytes)
                co_return error(Errc::invalid_argument, "title must be a non-empty string of at most 500 bytes");
            change.title = std::string(value.as_string());
        } else if (key == "visibility") {
            if (!value.is_string() || (value.as_string() != "public" && value.as_string() != "private"))
                co_return error(Errc::invalid_argument, "visibility must be public or private");
            change.visibility = std::string(value.as_string());
        } else if (key == "metadata") {
            if (!value.is_object()) co_return error(Errc::invalid_argument, "metadata must be an object");
            if (json::serialize(value).size() > max_metadata_bytes)
                co_return error(Errc::too_large, "metadata is larger than 16 KiB");
            change.metadata = value.as_object();
        } else {
            co_return error(Errc::invalid_argument,
                            "unknown field '" + std::string(key) + "': title, visibility and metadata may change");
        }
    }
    auto updated = co_await meta_.update_media(record->id, std::move(change));
    media_changed();
    if (!updated) co_return http::error_response(updated.error());
    co_return http::json_response(200, to_json(*updated));
}

Task<Response> Library::remove(Request& request) {
    auto record = co_await manageable(request);
    if (!record) co_return http::error_response(record.error());
    auto deleted = co_await meta_.delete_media(record->id);
    media_changed();
    if (!deleted) co_return http::error_response(deleted.error());
    // The row is gone, so nothing serves these bytes any more; a failure here only leaks disk space.
    auto prefix = "media/" + record->id;
    auto remove_blobs = [this, prefix] { return blobs_.remove_all(prefix); };
    auto removed = co_await offload(pool_, remove_blobs);
    if (!removed) log::warn("req={} delete {}: {}", request.id(), prefix, removed.error().message());
    log::info("media {} deleted by {}", record->id, auth::identity_of(request).user);
    co_return Response(204);
}

// Not coroutines: one frame fewer on the path every range request takes.
Task<Response> Library::stream(Request& request) { return deliver(request, false); }

Task<Response> Library::download(Request& request) { return deliver(request, true); }

Task<Response> Library::deliver(Request& request, bool as_attachment) {
    std::string id(request.param("id"));
    if (!is_valid_id(id, "m")) co_return error(Errc::not_found, "no such media");
    std::shared_ptr<OpenMedia const> media = cached_media(id, request.worker());
    if (!media) {
        auto opened = co_await open_media(std::move(id), request.worker());
        if (!opened) co_return http::error_response(opened.error());
        media = std::move(*opened);
    }
    auto const& record = media->record;
    auto const& reader = media->reader;
    if (auto allowed = check_read(request, record, true); !allowed) co_return http::error_response(allowed.error());
    if (auto rendition = request.query("rendition"); rendition && !rendition->empty()) {
        Task<Response> rendition_response = deliver_rendition(request, record, *rendition, as_attachment);
        co_return co_await std::move(rendition_response);
    }
    if (auto format = request.query("format"); format && !format->empty()) {
        Task<Response> converted = deliver_conversion(request, media, *format, as_attachment);
        co_return co_await std::move(converted);
    }
    if (reader->native_handle() < 0) co_return error(Errc::internal, "this store cannot serve bytes directly");

    http::Representation representation;
    representation.fd = reader->native_handle();
    representation.size = reader->size();
    representation.owner = media;
    representation.content_type = record.content_type;
    representation.validators.etag = media->etag;
    representation.validators.last_modified = std::chrono::time_point_cast<std::chrono::seconds>(record.created_at);
    representation.cache_control = detail::cache_control_for(record.visibility);
    if (as_attachment || request.query("disposition") == "attachment")
        representation.content_disposition = http::content_disposition("attachment", record.filename);
    co_return http::deliver(request, std::move(representation));
}

std::string Library::base_url(Request const& request) const {
    if (!options_.public_url.empty()) {
        std::string base = options_.public_url;
        while (!base.empty() && base.back() == '/') base.pop_back();
        return base;
    }
    auto host = request.header("Host");
    return "http://" + std::string(host.empty() ? "localhost" : host);
}

Task<Response> Library::presign(Request& request) {
    auto record = co_await manageable(request);
    if (!record) co_return http::error_response(record.error());
    std::int64_t expires_in = 3600;
    if (auto text = request.query("expires_in")) {
        auto n = parse_int(*text);
        if (!n || *n < 1 || *n > max_presign_seconds)
            co_return error(Errc::invalid_argument, "expires_in must be a whole number of seconds from 1 to 604800");
        expires_in = *n;
    }
    auto rendition = request.query("rendition").value_or("");
    bool const hls = rendition == hls_signed_rendition;
    if (hls && !record->has_hls) co_return error(Errc::not_ready, "the HLS ladder of this media is not ready");
    if (!rendition.empty() && !hls && !find_rendition_file(*record, rendition))
        co_return error(Errc::not_found, "no rendition '" + rendition + "' of this media");
    auto disposition = request.query("disposition").value_or("");
    if (!disposition.empty() && disposition != "attachment" && disposition != "inline")
        co_return error(Errc::invalid_argument, "disposition must be attachment or inline");

    auto now = auth_.clock().now();
    std::int64_t const exp =
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count() + expires_in;
    std::string path = media_path(record->id) + (disposition == "attachment" ? "/download" : "/stream");
    std::string url;
    if (hls) {
        // One signature for the whole ladder: the master passes it on to every URL it lists.
        auto sig = auth::url_signature(auth_.secret(), hls_signed_path(record->id), rendition, exp);
        url =
            base_url(request) + hls_signed_path(record->id) + "/master.m3u8?exp=" + std::to_string(exp) + "&sig=" + sig;
    } else {
        auto sig = auth::url_signature(auth_.secret(), path, rendition, exp);
        url = base_url(request) + path + "?exp=" + std::to_string(exp) + "&sig=" + sig;
        if (!rendition.empty()) url += "&rendition=" + http::percent_encode(rendition);
    }
    json::object body;
    body["url"] = url;
    body["expires_at"] = format_rfc3339(now + std::chrono::seconds(expires_in));
    body["expires_in"] = expires_in;
    co_return http::json_response(200, body);
}

}  // namespace onda::media
