#include "uploads/tus_server.hpp"

#include <array>
#include <optional>
#include <span>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include "core/ids.hpp"
#include "core/log.hpp"
#include "uploads/detail/background_writes.hpp"
#include "uploads/detail/tus_upload.hpp"
#include "uploads/tus_protocol.hpp"

namespace onda::uploads {
namespace {

namespace json = boost::json;
using http::Request;
using http::Response;

constexpr auto finish_poll = std::chrono::milliseconds(20);
constexpr auto max_finish_wait = std::chrono::milliseconds(60'000);

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

// Adds Tus-Resumable to the answer of `handler`, whatever it is.
Task<Response> with_tus_resumable(Task<Response> handler) {
    auto response = co_await std::move(handler);
    response.set_header("Tus-Resumable", std::string(tus::version));
    co_return response;
}

Response error_answer(Error const& error) {
    auto response = http::error_response(error);
    if (error.code() == Errc::precondition_failed) response.add_header("Tus-Version", std::string(tus::version));
    return response;
}

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
    auto tus_route = [this](Task<Response> (TusServer::*handler)(Request&)) {
        return [this, handler](Request& request) { return with_tus_resumable((this->*handler)(request)); };
    };
    // PATCH and HEAD move and check media bytes (API.md: not counted by the rate limit).
    http::RouteOptions const bytes{.rate_limited = false};
    router.add("OPTIONS", "/v1/uploads", "uploads.options", tus_route(&TusServer::options));
    router.add("POST", "/v1/uploads", "uploads.create", tus_route(&TusServer::create));
    router.add("HEAD", "/v1/uploads/{uid}", "uploads.head", tus_route(&TusServer::head), bytes);
    router.add("PATCH", "/v1/uploads/{uid}", "uploads.patch", tus_route(&TusServer::patch), bytes);
    router.add("DELETE", "/v1/uploads/{uid}", "uploads.terminate", tus_route(&TusServer::terminate));
    router.add("POST", "/v1/uploads/{uid}", "uploads.override", tus_route(&TusServer::method_override), bytes);
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
    auto info = decode_upload_info(metadata);
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
    std::optional<detail::Claim> claim;
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

    Digest* const chunk = chunk_digest ? &*chunk_digest : nullptr;
    Digest* const running = whole ? &*whole : nullptr;
    Received const received = co_await receive_body(request, u, *writer, chunk, running, !checksum);
    std::optional<Error> failure = received.failure;
    bool const client_gone = received.client_gone;
    if (received.digest_spoiled) whole.reset();  // it saw bytes that were cut off: hashed again at the end

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

// Reads the request body into the upload. The pool writes and hashes what arrived while the next
// bytes are read (detail::BackgroundWrites); each write that lands is published as the offset when
// `counts_now` (a checked chunk counts only once verified). When this returns, everything read is
// in the file (or failed) and the digests are complete.
Task<TusServer::Received> TusServer::receive_body(Request& request, Upload& u, storage::UploadWriter& writer,
                                                  Digest* chunk_digest, Digest* whole_digest, bool counts_now) {
    std::uint64_t offset = 0;
    std::uint64_t room = 0;  // bytes the upload still takes
    {
        std::lock_guard lock(u.mutex);
        offset = u.record.offset;
        room = u.record.length - offset;
    }
    detail::BackgroundWrites::WrittenFn on_written;
    if (counts_now) on_written = [this, &u, offset](std::uint64_t written) { count_written(u, offset + written); };
    detail::BackgroundWrites writes(co_await net::this_coro::executor, pool_, writer, chunk_digest, whole_digest,
                                    std::move(on_written));
    Received received;
    std::uint64_t accepted = 0;  // bytes read
    while (!received.failure) {
        std::span<char> space = co_await writes.space();
        if (space.empty()) break;  // a write failed
        auto n = co_await request.read_some(space);
        if (!n) {
            received.client_gone = true;  // what arrived is kept (unless it had to be verified)
            received.failure = n.error();
        } else if (*n == 0) {
            break;
        } else if (*n > room - accepted) {
            received.failure = Error(Errc::too_large, "the chunk goes past Upload-Length");
        } else {
            accepted += *n;
            writes.commit(*n);
        }
    }
    // The digests are read by the caller.
    if (auto failed = co_await writes.finish(); failed) {
        received.digest_spoiled = true;
        std::lock_guard lock(u.mutex);
        if (!received.failure) received.failure = failed->context("upload " + u.record.id);
    }
    co_return received;
}

// Another write of the PATCH under way is in the file: it counts from now on.
void TusServer::count_written(Upload& u, std::uint64_t offset) {
    {
        std::lock_guard lock(u.mutex);
        u.record.offset = offset;
    }
    publish(u, "uploading", false);
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

}  // namespace onda::uploads
