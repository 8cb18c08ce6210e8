// TusServer, the life of an upload outside its requests: loading its state, turning the finished
// file into media, removing it (DELETE, not media, expiry), start-up clean-up and progress events.
#include <fstream>
#include <vector>

#include "core/ids.hpp"
#include "core/log.hpp"
#include "uploads/detail/tus_upload.hpp"
#include "uploads/upload_progress.hpp"

namespace onda::uploads {
namespace {

constexpr auto progress_interval = std::chrono::milliseconds(250);
constexpr std::size_t sweep_batch = 256;

namespace blocking {

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

}  // namespace blocking
}  // namespace

Task<Result<TusServer::UploadPtr>> TusServer::find(std::string const& uid) {
    {
        std::lock_guard lock(registry_mutex_);
        if (auto it = uploads_.find(uid); it != uploads_.end()) co_return it->second;
    }
    if (!is_valid_id(uid, "u")) co_return Error(Errc::not_found, "no upload " + uid);
    auto row = co_await store_.find_upload(uid);
    if (!row) co_return row.error();
    auto info = decode_upload_info(row->metadata);
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

Task<Result<std::string>> TusServer::finish(UploadPtr upload) {
    auto& u = *upload;
    detail::Claim claim(u.mutex, u.finishing);  // set by the caller, in the same locked step that saw the last byte
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
        auto hash = [path = files_.data_path(uid)] { return blocking::sha256_of_file(path); };
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
                      .media_id = detail::media_id_of(uid)};
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
    std::string const media_id = detail::media_id_of(uid);
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
    boost::json::object event;
    std::string owner, uid;
    {
        std::lock_guard lock(u.mutex);
        auto const now = std::chrono::steady_clock::now();
        if (!force && now - u.last_event < progress_interval) return;
        u.last_event = now;
        owner = u.record.owner;
        uid = u.record.id;
        event = upload_progress_event({
            .upload_id = uid,
            .file_name = u.info.filename,
            .total_size = u.record.length,
            .uploaded_size = u.record.offset,
            .request_start_offset = u.patch_start_offset,
            .request_seconds = std::chrono::duration<double>(now - u.patch_started).count(),
            .status = status,
        });
    }
    events_.publish("user:" + owner, "upload_progress", event);
    events_.publish(room_of(uid), "upload_progress", std::move(event));
}

}  // namespace onda::uploads
