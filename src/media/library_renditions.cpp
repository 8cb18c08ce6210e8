// Delivery of what a transcode made: HLS playlists and segments (a signed master passes its
// signature on to every URL it lists), progressive rendition files, the poster and the waveform,
// and the list of renditions with a recommendation for a client's bandwidth.
#include <algorithm>
#include <charconv>

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "core/ids.hpp"
#include "http/content_disposition.hpp"
#include "http/delivery.hpp"
#include "media/detail/delivery_policy.hpp"
#include "http/percent.hpp"
#include "media/library.hpp"
#include "media/transcode/playlist.hpp"

namespace onda::media {
namespace {

namespace json = boost::json;
using http::Request;
using http::Response;

constexpr std::size_t max_playlist_bytes = 4 * 1024 * 1024;

using detail::error;

// A name the transcode gave a rendition or a file: letters, digits, '.', '_' and '-', not starting
// with a dot (so never "." or "..").
bool is_plain_name(std::string_view name) {
    if (name.empty() || name.size() > 100 || name.front() == '.') return false;
    return std::ranges::all_of(name, [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
               c == '-';
    });
}

std::string_view content_type_of_hls_file(std::string_view file) {
    if (file.ends_with(".m3u8")) return "application/vnd.apple.mpegurl";
    if (file.ends_with(".ts")) return "video/mp2t";
    return "video/mp4";  // init.mp4 and .m4s segments
}

std::int64_t bit_rate_of(json::value const& rendition) {
    auto const* object = rendition.if_object();
    if (!object) return 0;
    auto const* rate = object->if_contains("bit_rate");
    return rate && rate->is_int64() ? rate->as_int64() : 0;
}

}  // namespace

std::optional<RenditionFile> find_rendition_file(storage::MediaRecord const& record, std::string_view name) {
    for (auto const& value : record.renditions) {
        auto const* rendition = value.if_object();
        if (!rendition) continue;
        auto const* stored_name = rendition->if_contains("name");
        auto const* file = rendition->if_contains("file");
        if (!stored_name || !stored_name->is_string() || stored_name->as_string() != name) continue;
        if (!file || !file->is_string()) return std::nullopt;  // an HLS rendition: no single file
        auto const* type = rendition->if_contains("content_type");
        return RenditionFile{.path = std::string(file->as_string()),
                             .content_type = type && type->is_string() ? std::string(type->as_string())
                                                                       : std::string("application/octet-stream")};
    }
    return std::nullopt;
}

json::array public_renditions(json::array const& stored) {
    json::array out;
    for (auto const& value : stored) {
        json::value copy = value;
        if (auto* object = copy.if_object()) object->erase("file");
        out.push_back(std::move(copy));
    }
    return out;
}

Task<Response> Library::deliver_blob(Request& request, storage::MediaRecord const& record, std::string key,
                                     std::string content_type, std::string disposition_name) {
    auto open_blob = [this, key] { return blobs_.open(key); };  // named: GCC 12 and co_await temporaries
    auto opened = co_await offload(pool_, open_blob);
    if (!opened) {
        if (opened.error().code() == Errc::not_found) co_return error(Errc::not_found, "no such file of this media");
        co_return http::error_response(opened.error());
    }
    std::shared_ptr<storage::BlobReader const> reader = std::move(*opened);
    if (reader->native_handle() < 0) co_return error(Errc::internal, "this store cannot serve bytes directly");
    http::Representation representation;
    representation.fd = reader->native_handle();
    representation.size = reader->size();
    representation.owner = reader;
    representation.content_type = std::move(content_type);
    auto const modified = std::chrono::time_point_cast<std::chrono::seconds>(reader->modified());
    // A file of a transcode is replaced only by a new transcode; its time and size tell versions apart.
    representation.validators.etag =
        fmt::format("\"{:x}-{:x}\"", modified.time_since_epoch().count(), representation.size);
    representation.validators.last_modified = modified;
    representation.cache_control = detail::cache_control_for(record.visibility);
    if (!disposition_name.empty())
        representation.content_disposition = http::content_disposition("attachment", disposition_name);
    co_return http::deliver(request, std::move(representation));
}

Task<Response> Library::deliver_rendition(Request& request, storage::MediaRecord record, std::string name,
                                          bool as_attachment) {
    auto file = find_rendition_file(record, name);
    if (!file) {
        if (record.transcode_state != "done")
            co_return error(Errc::not_ready,
                            "the renditions of this media are not ready (transcode " + record.transcode_state + ")");
        co_return error(Errc::not_found, "no rendition '" + name + "' of this media as a file");
    }
    std::string disposition;
    if (as_attachment || request.query("disposition") == "attachment") {
        auto const dot = file->path.rfind('.');
        auto const stem = record.filename.substr(0, record.filename.rfind('.'));
        disposition = (stem.empty() ? record.id : stem) + "-" + name + file->path.substr(dot);
    }
    Task<Response> delivered = deliver_blob(request, record, "media/" + record.id + "/" + file->path,
                                            std::move(file->content_type), std::move(disposition));
    co_return co_await std::move(delivered);
}

Task<Response> Library::hls(Request& request) {
    std::string id(request.param("id"));
    if (!is_valid_id(id, "m")) co_return error(Errc::not_found, "no such media");
    auto record = co_await meta_.find_media(id);
    if (!record)
        co_return http::error_response(
            record.error().code() == Errc::not_found ? Error(Errc::not_found, "no such media") : record.error());
    auto allowed = check_signed_read(request, *record, hls_signed_path(id), hls_signed_rendition);
    if (!allowed) co_return http::error_response(allowed.error());
    if (!record->has_hls)
        co_return error(Errc::not_ready,
                        "the HLS ladder of this media is not ready (transcode " + record->transcode_state + ")");
    std::string const rendition(request.param("rendition"));
    std::string const file(request.param("file"));
    if ((!rendition.empty() && !is_plain_name(rendition)) || !is_plain_name(file))
        co_return error(Errc::not_found, "no such HLS file");
    std::string key = "media/" + id + "/hls/" + (rendition.empty() ? file : rendition + "/" + file);
    auto const type = content_type_of_hls_file(file);
    auto exp = request.query("exp");
    auto sig = request.query("sig");
    if (!file.ends_with(".m3u8") || !exp || !sig) {
        Task<Response> delivered = deliver_blob(request, *record, std::move(key), std::string(type));
        co_return co_await std::move(delivered);
    }
    // A signed playlist is rewritten so that every URL it lists carries the signature too.
    auto read_playlist = [this, key]() -> Result<std::string> {
        auto reader = blobs_.open(key);
        if (!reader) return reader.error();
        if ((*reader)->size() > max_playlist_bytes) return Error(Errc::internal, "playlist too large");
        std::string text((*reader)->size(), '\0');
        auto got = (*reader)->read_at(0, text);
        if (!got) return got.error();
        text.resize(*got);
        return text;
    };
    auto text = co_await offload(pool_, read_playlist);
    if (!text) {
        if (text.error().code() == Errc::not_found) co_return error(Errc::not_found, "no such HLS file");
        co_return http::error_response(text.error());
    }
    Response response(200);
    response.set_header("Content-Type", std::string(type));
    // The body carries a link that expires: no shared cache may keep it.
    response.set_header("Cache-Control", "private, no-store");
    response.set_text(sign_playlist_uris(
        *text, fmt::format("exp={}&sig={}", http::percent_encode(*exp), http::percent_encode(*sig))));
    co_return response;
}

Task<Response> Library::thumbnail(Request& request) {
    auto record = co_await readable(request, true);
    if (!record) co_return http::error_response(record.error());
    if (!record->has_thumbnail) {
        if (record->transcode_state == "queued" || record->transcode_state == "running")
            co_return error(Errc::not_ready, "the thumbnail is made by the transcode, which has not finished");
        co_return error(Errc::not_found, "this media has no thumbnail");
    }
    Task<Response> delivered = deliver_blob(request, *record, "media/" + record->id + "/thumbnail.jpg", "image/jpeg");
    co_return co_await std::move(delivered);
}

Task<Response> Library::waveform(Request& request) {
    auto record = co_await readable(request, true);
    if (!record) co_return http::error_response(record.error());
    if (!record->has_waveform) {
        if (record->kind == "audio" && record->transcode_state != "failed")
            co_return error(Errc::not_ready, "the waveform is made by the transcode, which has not finished");
        co_return error(Errc::not_found, "this media has no waveform");
    }
    Task<Response> delivered =
        deliver_blob(request, *record, "media/" + record->id + "/waveform.json", "application/json");
    co_return co_await std::move(delivered);
}

Task<Response> Library::renditions(Request& request) {
    auto record = co_await readable(request, false);
    if (!record) co_return http::error_response(record.error());
    std::optional<std::int64_t> bandwidth;
    if (auto text = request.query("bandwidth_bps")) {
        std::int64_t value = 0;
        auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
        if (ec != std::errc{} || end != text->data() + text->size() || value <= 0)
            co_return error(Errc::invalid_argument, "bandwidth_bps must be a positive whole number of bits per second");
        bandwidth = value;
    }
    json::array sorted = public_renditions(record->renditions);
    std::ranges::stable_sort(sorted, {}, bit_rate_of);
    json::value recommended = nullptr;
    if (bandwidth && !sorted.empty()) {
        // The best one that fits 80 % of the bandwidth, else the lightest: something always plays.
        recommended = sorted.front();
        for (auto const& rendition : sorted)
            if (bit_rate_of(rendition) * 10 <= *bandwidth * 8) recommended = rendition;
    }
    json::object body{
        {"media_id", record->id},
        {"transcode", json::object{{"state", record->transcode_state}, {"progress", record->transcode_progress}}},
        {"renditions", std::move(sorted)},
        {"recommended", std::move(recommended)}};
    co_return http::json_response(200, body);
}

}  // namespace onda::media
