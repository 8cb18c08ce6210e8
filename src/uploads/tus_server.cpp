#include "uploads/tus_server.hpp"

#include <array>
#include <fstream>
#include <optional>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/text.hpp"
#include "uploads/tus_protocol.hpp"

namespace onda::uploads {
namespace {

namespace json = boost::json;
using http::Request;
using http::Response;
using SteadyTime = std::chrono::steady_clock::time_point;

constexpr std::size_t read_chunk_bytes = 256 * 1024;
constexpr auto progress_interval = std::chrono::milliseconds(250);
constexpr std::size_t max_metadata_value_bytes = 4 * 1024;
constexpr std::size_t sweep_batch = 256;
constexpr auto finish_poll = std::chrono::milliseconds(20);
constexpr auto max_finish_wait = std::chrono::milliseconds(60'000);

// The media object an upload becomes has an id derived from the upload's, so finishing twice (after
// a crash between the library's commit and the upload row's update) finds the first one.
std::string media_id_of(std::string_view uid) { return "m_" + std::string(uid.substr(2)); }

// What the client told about the file in Upload-Metadata: the keys API.md names, and any others,
// which become the media object's `metadata`.
struct UploadInfo {
    std::string filename;
    std::string filetype;
    std::string title;
    std::string visibility;
    json::object extra;
};

Result<UploadInfo> decode_metadata(std::string_view header) {
    auto pairs = tus::parse_metadata(header);
    if (!pairs) return pairs.error();
    UploadInfo info;
    for (auto& [key, value] : *pairs) {
        if (value.size() > max_metadata_value_bytes || !is_valid_utf8(value))
            return Error(Errc::invalid_argument, "Upload-Metadata " + key + " must be UTF-8 text of at most 4 KiB");
        if (key == "filename" || key == "name")
            info.filename = std::move(value);
        else if (key == "filetype" || key == "type")
            info.filetype = std::move(value);
        else if (key == "title")
            info.title = std::move(value);
        else if (key == "visibility")
            info.visibility = std::move(value);
        else if (is_valid_utf8(key))
            info.extra[key] = value;
    }
    if (!info.visibility.empty() && info.visibility != "public" && info.visibility != "private")
        return Error(Errc::invalid_argument, "Upload-Metadata visibility must be public or private");
    return info;
}

// The SHA-256 of a whole file (an upload whose running digest a restart lost).
Result<std::string> sha256_of_file(std::filesystem::path const& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error(Errc::internal, "cannot read the upload data to hash it");
    Digest hash(DigestAlgorithm::sha256);
    std::vector<char> buffer(1 << 20);
    while (in) {
        in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        hash.update(std::string_view(buffer.data(), static_cast<std::size_t>(in.gcount())));
    }
    if (in.bad()) return Error(Errc::internal, "cannot read the upload data to hash it");
    return hash.finish_hex();
}

Result<void> check_tus_resumable(Request const& request) {
    if (request.header("Tus-Resumable") == tus::version) return ok();
    return Error(Errc::precondition_failed, "Tus-Resumable must be " + std::string(tus::version));
}

// Content-Type: application/offset+octet-stream, in any case, with or without parameters.
bool is_offset_stream(Request const& request) {
    std::string_view type = request.header("Content-Type");
    type = type.substr(0, type.find(';'));
    while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
    return http::iequals(type, tus::offset_content_type);
}

Response error_answer(Error const& error) {
    auto response = http::error_response(error);
    if (error.code() == Errc::precondition_failed) response.add_header("Tus-Version", std::string(tus::version));
    return response;
}

}  // namespace

struct TusServer::Upload {
    Upload(storage::UploadRecord r, UploadInfo i) : record(std::move(r)), info(std::move(i)) {}

    std::mutex mutex;              // guards everything below
    storage::UploadRecord record;  // record.offset: the bytes in the data file
    UploadInfo info;
    bool writing = false;    // a PATCH holds the upload
    bool finishing = false;  // the finished file is being turned into media
    bool gone = false;       // removed; a request that still holds it answers 404
    // Touched only by the request holding `writing` or `finishing`:
    std::optional<Digest> sha256;  // of bytes [0, record.offset) when engaged
    SteadyTime patch_started{};
    std::uint64_t patch_start_offset = 0;
    SteadyTime last_event{};
};

namespace {

// Sets one of an upload's flags for as long as a request works on it.
class Claim {
public:
    Claim(std::mutex& mutex, bool& flag) : mutex_(mutex), flag_(flag) {}
    Claim(Claim const&) = delete;
    Claim& operator=(Claim const&) = delete;
    ~Claim() {
        std::lock_guard lock(mutex_);
        flag_ = false;
    }

private:
    std::mutex& mutex_;
    bool& flag_;
};

}  // namespace

TusServer::TusServer(storage::MetaStore& store, storage::UploadFiles files, net::thread_pool& pool, EventSink& events,
                     Clock const& clock, IngestFn ingest, TusOptions options)
    : store_(store),
      files_(std::move(files)),
      pool_(pool),
      events_(events),
      clock_(clock),
      ingest_(std::move(ingest)),
      options_(std::move(options)) {}

TusServer::~TusServer() = default;

void TusServer::add_routes(http::Router& router) {
    // Every answer says which tus it speaks, errors included.
    auto tus = [](auto member, TusServer* self) {
        return [member, self](Request& request) -> Task<Response> {
            auto response = co_await (self->*member)(request);
            response.set_header("Tus-Resumable", std::string(tus::version));
            co_return response;
        };
    };
    // PATCH and HEAD move and check media bytes (API.md: not counted by the rate limit).
    http::RouteOptions const bytes{.rate_limited = false};
    router.add("OPTIONS", "/v1/uploads", "uploads.options", tus(&TusServer::options, this));
    router.add("POST", "/v1/uploads", "uploads.create", tus(&TusServer::create, this));
    router.add("HEAD", "/v1/uploads/{uid}", "uploads.head", tus(&TusServer::head, this), bytes);
    router.add("PATCH", "/v1/uploads/{uid}", "uploads.patch", tus(&TusServer::patch, this), bytes);
    router.add("DELETE", "/v1/uploads/{uid}", "uploads.terminate", tus(&TusServer::terminate, this));
    router.add("POST", "/v1/uploads/{uid}", "uploads.override", tus(&TusServer::method_override, this), bytes);
}

std::string TusServer::location_of(std::string_view uid) const {
    std::string base = options_.public_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    return base + "/v1/uploads/" + std::string(uid);
}

Task<Response> TusServer::options(Request&) {
    Response response(204);
    response.add_header("Tus-Version", std::string(tus::version));
    response.add_header("Tus-Extension", std::string(tus::extensions));
    response.add_header("Tus-Max-Size", std::to_string(options_.max_size));
    response.add_header("Tus-Checksum-Algorithm", std::string(tus::checksum_algorithms));
    co_return response;
}

Task<Response> TusServer::create(Request& request) {
    auto const& who = auth::identity_of(request);
    if (auto allowed = auth::require_role(who, auth::Role::creator); !allowed) co_return error_answer(allowed.error());
    if (auto resumable = check_tus_resumable(request); !resumable) co_return error_answer(resumable.error());
    if (request.has_header("Upload-Concat"))
        co_return error_answer(
            Error(Errc::invalid_argument, "Upload-Concat is not supported (no concatenation extension)"));
    if (request.has_header("Upload-Defer-Length"))
        co_return error_answer(
            Error(Errc::invalid_argument, "Upload-Defer-Length is not supported; send Upload-Length"));
    if (!request.has_header("Upload-Length"))
        co_return error_answer(Error(Errc::invalid_argument, "Upload-Length is required"));
    auto length = tus::parse_size(request.header("Upload-Length"), "Upload-Length");
    if (!length) co_return error_answer(length.error());
    if (*length > options_.max_size) {
        auto response = error_answer(Error(
            Errc::too_large, fmt::format("Upload-Length is past the {} byte limit (Tus-Max-Size)", options_.max_size)));
        if (request.has_body()) response.set_close();
        co_return response;
    }
    std::string const metadata(request.header("Upload-Metadata"));
    auto info = decode_metadata(metadata);
    if (!info) co_return error_answer(info.error());
    bool const with_upload = request.has_body();
    if (with_upload && !is_offset_stream(request))
        co_return error_answer(
            Error(Errc::unsupported_media, "a body sent with POST must be " + std::string(tus::offset_content_type)));

    auto const now = clock_.now();
    storage::UploadRecord record{.id = make_id("u"),
                                 .owner = who.user,
                                 .length = *length,
                                 .metadata = metadata,
                                 .created_at = now,
                                 .expires_at = now + options_.expire_after};
    std::string const uid = record.id;
    // The file first: a crash before the row exists leaves a file remove_orphans() takes away at the
    // next start, and a row never lacks its file.
    if (auto created = files_.create(uid); !created) co_return error_answer(created.error().context("create upload"));
    if (auto inserted = co_await store_.insert_upload(record); !inserted) {
        (void)files_.remove(uid);
        co_return error_answer(inserted.error().context("create upload"));
    }
    auto upload = std::make_shared<Upload>(std::move(record), std::move(*info));
    upload->sha256.emplace(DigestAlgorithm::sha256);
    {
        std::lock_guard lock(registry_mutex_);
        uploads_.emplace(uid, upload);
    }
    log::info("upload {} created: {} bytes, owner={}", uid, *length, who.user);
    publish(*upload, "uploading", true);

    Response response(201);
    if (with_upload || *length == 0) {
        // creation-with-upload (or nothing to wait for): the body is the first chunk.
        response = co_await write_chunk(request, upload, 0);
        if (response.status() == 204) response.set_status(201);
    }
    if (response.status() != 415) {  // 415: the bytes were not media and the upload is gone
        response.set_header("Location", location_of(uid));
        response.set_header("Upload-Expires", format_http_date(now + options_.expire_after));
    }
    co_return response;
}

Task<Result<TusServer::UploadPtr>> TusServer::find(std::string const& uid) {
    {
        std::lock_guard lock(registry_mutex_);
        if (auto it = uploads_.find(uid); it != uploads_.end()) co_return it->second;
    }
    if (!is_valid_id(uid, "u")) co_return Error(Errc::not_found, "no upload " + uid);
    auto row = co_await store_.find_upload(uid);
    if (!row) co_return row.error();
    auto info = decode_metadata(row->metadata);
    if (!info) co_return info.error().context("stored metadata of upload " + uid);
    if (!row->media_id) {
        // The data file is the truth: it holds every byte a PATCH took, acknowledged or not.
        // No file: the upload is being removed (its row goes first).
        auto size = files_.size(uid);
        if (!size && size.error().code() == Errc::not_found) co_return Error(Errc::not_found, "no upload " + uid);
        if (!size) co_return size.error();
        row->offset = std::min(*size, row->length);
    }
    auto upload = std::make_shared<Upload>(std::move(*row), std::move(*info));
    if (upload->record.offset == 0) upload->sha256.emplace(DigestAlgorithm::sha256);
    std::lock_guard lock(registry_mutex_);
    auto [it, inserted] = uploads_.emplace(uid, upload);
    co_return it->second;  // another request may have loaded it meanwhile: one state per upload
}

Task<Result<TusServer::UploadPtr>> TusServer::find_for(Request const& request) {
    auto const& who = auth::identity_of(request);
    if (auto allowed = auth::require_role(who, auth::Role::creator); !allowed) co_return allowed.error();
    if (auto resumable = check_tus_resumable(request); !resumable) co_return resumable.error();
    std::string const uid(request.param("uid"));
    auto upload = co_await find(uid);
    if (!upload) co_return upload.error();
    std::lock_guard lock((*upload)->mutex);
    if ((*upload)->gone) co_return Error(Errc::not_found, "no upload " + uid);
    if (!who.may_manage((*upload)->record.owner)) co_return Error(Errc::forbidden, "upload " + uid + " is not yours");
    if (clock_.now() > (*upload)->record.expires_at) co_return Error(Errc::gone, "upload " + uid + " has expired");
    co_return std::move(*upload);
}

Task<Response> TusServer::head(Request& request) {
    auto upload = co_await find_for(request);
    if (!upload) co_return error_answer(upload.error());
    auto& u = **upload;
    // A client that saw every byte acknowledged expects the media id: wait for a finish under way
    // (the last PATCH's), or finish now if a restart came between the last byte and the media object.
    net::steady_timer wait(co_await net::this_coro::executor);
    for (auto waited = std::chrono::milliseconds(0); waited < max_finish_wait; waited += finish_poll) {
        {
            std::lock_guard lock(u.mutex);
            if (!u.finishing) break;
        }
        wait.expires_after(finish_poll);
        co_await wait.async_wait(use_result);
    }
    bool needs_finish = false;
    {
        std::lock_guard lock(u.mutex);
        needs_finish = u.record.offset == u.record.length && !u.record.media_id && !u.writing && !u.finishing;
        if (needs_finish) u.finishing = true;
    }
    if (needs_finish) {
        auto finished = co_await finish(*upload);
        // Not media: the upload is gone, say so. Anything else: the offsets are still right, and
        // the next HEAD tries again; an error here would make tus clients start over from byte 0.
        if (!finished && finished.error().code() == Errc::unsupported_media) co_return error_answer(finished.error());
        if (!finished) log::warn("upload {}: {}", u.record.id, finished.error().message());
    }
    Response response(200);
    std::lock_guard lock(u.mutex);
    response.add_header("Upload-Offset", std::to_string(u.record.offset));
    response.add_header("Upload-Length", std::to_string(u.record.length));
    response.add_header("Upload-Expires", format_http_date(u.record.expires_at));
    if (!u.record.metadata.empty()) response.add_header("Upload-Metadata", u.record.metadata);
    if (u.record.media_id) response.add_header("Onda-Media-Id", *u.record.media_id);
    response.add_header("Cache-Control", "no-store");
    co_return response;
}

Task<Response> TusServer::patch(Request& request) {
    // Who and which tus first (401/403/412), then what was sent (415/400).
    auto upload = co_await find_for(request);
    if (!upload) co_return error_answer(upload.error());
    if (!is_offset_stream(request))
        co_return error_answer(
            Error(Errc::unsupported_media, "PATCH bodies must be " + std::string(tus::offset_content_type)));
    auto offset = tus::parse_size(request.header("Upload-Offset"), "Upload-Offset");
    if (!offset) co_return error_answer(offset.error());
    co_return co_await write_chunk(request, std::move(*upload), *offset);
}

Task<Response> TusServer::write_chunk(Request& request, UploadPtr upload, std::uint64_t offset) {
    std::optional<tus::Checksum> checksum;
    if (request.has_header("Upload-Checksum")) {
        auto parsed = tus::parse_checksum(request.header("Upload-Checksum"));
        if (!parsed) co_return error_answer(parsed.error());
        checksum = std::move(*parsed);
    }
    auto& u = *upload;
    std::string const uid = u.record.id;
    std::uint64_t length = 0;
    {
        std::lock_guard lock(u.mutex);
        if (u.gone) co_return error_answer(Error(Errc::not_found, "no upload " + uid));
        if (u.writing || u.finishing)
            co_return error_answer(Error(Errc::conflict, "another request is writing upload " + uid));
        if (u.record.media_id && offset == u.record.length) {
            // A retry of the last PATCH (its answer was lost): nothing to write, the same answer.
            Response done(204);
            done.add_header("Upload-Offset", std::to_string(u.record.offset));
            done.add_header("Onda-Media-Id", *u.record.media_id);
            co_return done;
        }
        if (offset != u.record.offset) {
            auto response = error_answer(Error(
                Errc::conflict, fmt::format("Upload-Offset is {}, but the upload is at {}", offset, u.record.offset)));
            response.add_header("Upload-Offset", std::to_string(u.record.offset));
            co_return response;
        }
        u.writing = true;
        length = u.record.length;
        u.patch_started = std::chrono::steady_clock::now();
        u.patch_start_offset = offset;
    }
    std::optional<Claim> claim;
    claim.emplace(u.mutex, u.writing);

    if (auto declared = request.content_length(); declared && *declared > length - offset) {
        auto response = error_answer(Error(Errc::too_large, "the chunk goes past Upload-Length"));
        response.set_close();
        co_return response;
    }
    auto writer = files_.open_writer(uid, offset, checksum.has_value());
    if (!writer && writer.error().code() == Errc::conflict) {
        // The file holds another number of bytes than the offset said (a write that could not be cut
        // back): the file is the truth, so the upload continues from there.
        if (auto size = files_.size(uid); size) {
            std::lock_guard lock(u.mutex);
            u.record.offset = std::min(*size, length);
            u.sha256.reset();
        }
        auto response = error_answer(writer.error().context("upload " + uid));
        std::lock_guard lock(u.mutex);
        response.add_header("Upload-Offset", std::to_string(u.record.offset));
        co_return response;
    }
    if (!writer) co_return error_answer(writer.error().context("upload " + uid));

    // The running digest of the whole file follows the bytes that count. A checked chunk counts only
    // once verified, so it feeds a copy that replaces the digest then.
    std::optional<Digest> chunk_digest;
    std::optional<Digest> tentative_sha256;
    if (checksum) {
        chunk_digest.emplace(checksum->algorithm);
        if (u.sha256) tentative_sha256 = *u.sha256;
    }
    std::optional<Digest>& whole = checksum ? tentative_sha256 : u.sha256;

    std::vector<char> buffer(read_chunk_bytes);
    std::optional<Error> failure;
    bool client_gone = false;
    for (;;) {
        auto n = co_await request.read_some(buffer);
        if (!n) {
            client_gone = true;  // the bytes that arrived are kept (unless they had to be verified)
            failure = n.error();
            break;
        }
        if (*n == 0) break;
        if (writer->written() + *n > length - offset) {
            failure = Error(Errc::too_large, "the chunk goes past Upload-Length");
            break;
        }
        std::string_view const bytes(buffer.data(), *n);
        if (auto written = writer->write(bytes); !written) {
            failure = written.error().context("upload " + uid);
            break;
        }
        if (chunk_digest) chunk_digest->update(bytes);
        if (whole) whole->update(bytes);
        if (!checksum) {
            {
                std::lock_guard lock(u.mutex);
                u.record.offset = offset + writer->written();
            }
            publish(u, "uploading", false);
        }
    }

    if (checksum) {
        if (!failure && chunk_digest->finish() != checksum->digest)
            failure = Error(Errc::checksum_mismatch, "Upload-Checksum does not match the chunk; it was discarded");
        if (failure) {
            auto response = error_answer(*failure);
            if (failure->code() == Errc::too_large) response.set_close();
            co_return response;  // the writer drops the staged chunk
        }
        auto commit = [&writer] { return writer->commit(); };
        if (auto committed = co_await offload(pool_, commit); !committed)
            co_return error_answer(committed.error().context("upload " + uid));
        u.sha256 = std::move(tentative_sha256);
    }
    if (options_.sync_writes && writer->written() > 0) {
        auto sync = [&writer] { return writer->sync(); };
        if (auto synced = co_await offload(pool_, sync); !synced) {
            // The kernel may have dropped pages it could not write: these bytes do not count. The
            // running digest has seen them, so the whole file is hashed again at the end.
            log::warn("upload {}: {}", uid, synced.error().message());
            writer->roll_back();
            u.sha256.reset();
            if (!failure) failure = synced.error();
        }
    }

    std::uint64_t const new_offset = offset + writer->written();
    bool const complete = !failure && new_offset == length;
    auto const expires_at = clock_.now() + options_.expire_after;
    {
        std::lock_guard lock(u.mutex);
        u.record.offset = new_offset;
        u.record.expires_at = expires_at;
        // From writing straight to finishing: no other request can slip in between.
        if (complete) u.finishing = true;
    }
    if (auto recorded = co_await store_.update_upload_offset(uid, new_offset, expires_at); !recorded)
        log::warn("upload {}: offset {} not recorded (the data file still holds it): {}", uid, new_offset,
                  recorded.error().message());
    publish(u, "uploading", true);
    claim.reset();

    if (failure) {
        if (client_gone) log::info("upload {}: client left at offset {}: {}", uid, new_offset, failure->message());
        auto response = error_answer(*failure);
        if (failure->code() == Errc::too_large) response.set_close();
        response.add_header("Upload-Offset", std::to_string(new_offset));
        co_return response;
    }

    Response response(204);
    response.add_header("Upload-Offset", std::to_string(new_offset));
    response.add_header("Upload-Expires", format_http_date(expires_at));
    if (complete) {
        auto media_id = co_await finish(upload);
        if (!media_id) co_return error_answer(media_id.error());
        response.add_header("Onda-Media-Id", *media_id);
    }
    co_return response;
}

Task<Result<std::string>> TusServer::finish(UploadPtr upload) {
    auto& u = *upload;
    Claim claim(u.mutex, u.finishing);  // set by the caller, in the same locked step that saw the last byte
    std::string uid;
    {
        std::lock_guard lock(u.mutex);
        ONDA_ASSERT(u.finishing, "the caller claims the upload for finishing");
        if (u.record.media_id) co_return *u.record.media_id;
        uid = u.record.id;
    }
    publish(u, "processing", true);

    std::string sha256;
    if (u.sha256) {
        Digest copy = *u.sha256;  // the running digest stays for a retry if this finish fails
        sha256 = copy.finish_hex();
    } else {
        auto hash = [path = files_.data_path(uid)] { return sha256_of_file(path); };
        auto hashed = co_await offload(pool_, hash);
        if (!hashed) co_return hashed.error().context("upload " + uid);
        sha256 = std::move(*hashed);
    }
    auto spool = files_.link_to_spool(uid, options_.spool_dir);
    if (!spool) co_return spool.error().context("upload " + uid);
    UploadedFile file{.file = std::move(*spool),
                      .sha256 = std::move(sha256),
                      .owner = u.record.owner,
                      .filename = u.info.filename,
                      .title = u.info.title,
                      .visibility = u.info.visibility,
                      .content_type = u.info.filetype,
                      .metadata = u.info.extra,
                      .media_id = media_id_of(uid)};
    auto media = co_await ingest_(std::move(file));
    // conflict: an earlier finish stored the media but a crash (or a failed write) came before the
    // upload row said so; the media id is the upload's, so it is that one.
    if (!media && media.error().code() != Errc::conflict) {
        publish(u, "failed", true);
        if (media.error().code() == Errc::unsupported_media) {
            // Like POST /v1/media: bytes that are not media are not kept.
            if (auto removed = co_await remove(upload, Removal::not_media); !removed)
                log::warn("upload {}: {}", uid, removed.error().message());
        }
        co_return media.error();
    }
    std::string const media_id = media_id_of(uid);
    auto const expires_at = clock_.now() + options_.expire_after;
    if (auto recorded = co_await store_.set_upload_media(uid, media_id, expires_at); !recorded)
        co_return recorded.error().context("upload " + uid + " became " + media_id);
    if (auto removed = files_.remove(uid); !removed) log::warn("upload {}: {}", uid, removed.error().message());
    {
        std::lock_guard lock(u.mutex);
        u.record.media_id = media_id;
        u.record.offset = u.record.length;
        u.record.expires_at = expires_at;
    }
    u.sha256.reset();
    log::info("upload {} became media {}", uid, media_id);
    publish(u, "completed", true);
    co_return media_id;
}

Task<Response> TusServer::terminate(Request& request) {
    auto upload = co_await find_for(request);
    if (!upload) co_return error_answer(upload.error());
    if (auto removed = co_await remove(*upload, Removal::by_client); !removed) co_return error_answer(removed.error());
    co_return Response(204);
}

Task<Response> TusServer::method_override(Request& request) {
    // tus clients behind proxies that drop PATCH and DELETE send POST with the real method.
    std::string_view const method = request.header("X-HTTP-Method-Override");
    if (method == "PATCH") co_return co_await patch(request);
    if (method == "DELETE") co_return co_await terminate(request);
    if (method == "HEAD") co_return co_await head(request);
    auto response = error_answer(Error(Errc::method_not_allowed, "POST to an upload needs X-HTTP-Method-Override"));
    response.add_header("Allow", "HEAD, PATCH, DELETE");
    co_return response;
}

Task<Result<bool>> TusServer::remove(UploadPtr const& upload, Removal why) {
    std::string uid;
    {
        // Whether it may go and marking it gone are one step, so no request starts on it meanwhile.
        std::lock_guard lock(upload->mutex);
        if (upload->gone) co_return false;
        bool const busy = upload->writing || upload->finishing;
        if (why == Removal::by_client && busy)
            co_return Error(Errc::conflict, "upload " + upload->record.id + " is being written");
        // An expiry sweep leaves alone what a request is using or has just extended.
        if (why == Removal::expired && (busy || clock_.now() <= upload->record.expires_at)) co_return false;
        upload->gone = true;
        uid = upload->record.id;
    }
    // The row first: files without a row are removed at the next start (remove_orphans). The registry
    // keeps the gone state until both are deleted, so a request meanwhile finds it gone.
    auto deleted = co_await store_.delete_upload(uid);
    auto removed = files_.remove(uid);
    forget(uid);
    if (!deleted && deleted.error().code() != Errc::not_found)
        co_return deleted.error().context("remove upload " + uid);
    if (!removed) co_return removed.error().context("remove upload " + uid);
    co_return true;
}

void TusServer::forget(std::string const& uid) {
    std::lock_guard lock(registry_mutex_);
    uploads_.erase(uid);
}

Task<Result<void>> TusServer::check_watch(auth::Identity const& who, std::string uid) {
    if (who.is_anonymous()) co_return Error(Errc::unauthenticated, "a token is needed to follow an upload");
    auto upload = co_await find(uid);
    if (!upload) co_return upload.error();
    std::lock_guard lock((*upload)->mutex);
    if ((*upload)->gone) co_return Error(Errc::not_found, "no upload " + uid);
    if (!who.may_manage((*upload)->record.owner)) co_return Error(Errc::forbidden, "upload " + uid + " is not yours");
    co_return ok();
}

Task<Result<std::size_t>> TusServer::sweep_expired() {
    auto expired = co_await store_.list_expired_uploads(clock_.now(), sweep_batch);
    if (!expired) co_return expired.error().context("list expired uploads");
    std::size_t removed = 0;
    for (auto const& uid : *expired) {
        auto upload = co_await find(uid);
        if (!upload) {
            // A row whose file is gone (a crash between the two deletes): the row goes too.
            if (upload.error().code() == Errc::not_found) {
                (void)co_await store_.delete_upload(uid);
            } else {
                log::warn("sweep: upload {}: {}", uid, upload.error().message());
            }
            continue;
        }
        auto gone = co_await remove(*upload, Removal::expired);
        if (!gone) {
            log::warn("sweep: {}", gone.error().message());
            continue;
        }
        if (!*gone) continue;
        log::info("upload {} expired and was removed", uid);
        ++removed;
    }
    co_return removed;
}

Task<Result<std::size_t>> TusServer::remove_orphans() {
    std::vector<std::string> names;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(files_.directory(), ec), end; !ec && it != end; it.increment(ec))
        names.push_back(it->path().filename().string());
    if (ec) co_return Error(Errc::internal, "read " + files_.directory().string() + ": " + ec.message());
    std::size_t removed = 0;
    for (auto const& name : names) {
        auto row = co_await store_.find_upload(name);
        if (row || row.error().code() != Errc::not_found) continue;
        if (auto gone = files_.remove(name); !gone) co_return gone.error();
        ++removed;
    }
    co_return removed;
}

void TusServer::publish(Upload& u, std::string_view status, bool force) {
    json::object data;
    std::string owner, uid;
    {
        std::lock_guard lock(u.mutex);
        auto const now = std::chrono::steady_clock::now();
        if (!force && now - u.last_event < progress_interval) return;
        u.last_event = now;
        owner = u.record.owner;
        uid = u.record.id;
        double const seconds = std::chrono::duration<double>(now - u.patch_started).count();
        std::uint64_t const sent = u.record.offset - std::min(u.record.offset, u.patch_start_offset);
        double const speed = seconds > 0.001 ? static_cast<double>(sent) / seconds : 0.0;
        std::uint64_t const left = u.record.length - u.record.offset;
        data["uploadId"] = uid;
        data["fileName"] = u.info.filename;
        data["totalSize"] = u.record.length;
        data["uploadedSize"] = u.record.offset;
        data["percentage"] =
            u.record.length == 0
                ? 100.0
                : std::round(static_cast<double>(u.record.offset) * 1000.0 / static_cast<double>(u.record.length)) /
                      10.0;
        data["speed"] = static_cast<std::uint64_t>(speed);
        if (left == 0)
            data["estimatedTime"] = 0;
        else if (speed > 0)
            data["estimatedTime"] = std::round(static_cast<double>(left) / speed * 10.0) / 10.0;
        else
            data["estimatedTime"] = nullptr;
        data["status"] = status;
    }
    events_.publish("user:" + owner, "upload_progress", data);
    events_.publish(room_of(uid), "upload_progress", std::move(data));
}

}  // namespace onda::uploads
