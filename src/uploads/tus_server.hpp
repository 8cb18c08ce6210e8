// Resumable uploads: the tus 1.0.0 server at /v1/uploads (API.md) with the creation,
// creation-with-upload, termination, expiration and checksum extensions.
//
// An upload is a row in the MetaStore (owner, length, metadata, expiry, the media it became) and an
// append-only data file in UploadFiles, whose size is the offset: every byte write(2) took survives
// a kill -9 and HEAD reports it after the restart. One request at a time writes an upload (a second
// gets 409). When the last byte arrives, the file goes through the same `IngestFn` as POST /v1/media
// and the answer carries `Onda-Media-Id`. Progress is published as `upload_progress` to the rooms
// `user:{owner}` and `upload:{id}`. Expired uploads are removed by sweep_expired(), which app runs
// every `sweep_interval`.
//
// Thread-safety: handlers run on every server thread, and one upload's requests may arrive on any of
// them, so the registry and each upload's state have mutexes (an exception to STYLE's "no mutex on
// the request path": they guard a few fields each, uncontended but for one upload's own requests,
// and are never held across a co_await). The code is in tus_server.cpp (requests) and
// tus_lifecycle.cpp (loading, finishing, removal, sweeps, progress).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include <boost/asio/thread_pool.hpp>

#include "auth/identity.hpp"
#include "core/clock.hpp"
#include "core/events.hpp"
#include "http/router.hpp"
#include "storage/meta_store.hpp"
#include "storage/upload_files.hpp"
#include "uploads/digest.hpp"
#include "uploads/media_upload.hpp"

namespace onda::uploads {

struct TusOptions {
    std::filesystem::path spool_dir;                                  // where a finished upload is linked before ingest
    std::uint64_t max_size = 2ull * 1024 * 1024 * 1024;               // Tus-Max-Size
    std::chrono::milliseconds expire_after = std::chrono::hours(24);  // after the last write
    bool sync_writes = true;                                          // fdatasync before a PATCH is acknowledged
    std::string public_url;                                           // base of Location; empty: a path-only Location
};

class TusServer {
public:
    // Everything passed in must outlive the server.
    TusServer(storage::MetaStore& store, storage::UploadFiles files, net::thread_pool& pool, EventSink& events,
              Clock const& clock, IngestFn ingest, TusOptions options);
    ~TusServer();

    // OPTIONS/POST /v1/uploads; HEAD/PATCH/DELETE /v1/uploads/{uid}; POST /v1/uploads/{uid} with
    // X-HTTP-Method-Override.
    void add_routes(http::Router& router);

    Task<http::Response> options(http::Request& request);
    Task<http::Response> create(http::Request& request);
    Task<http::Response> head(http::Request& request);
    Task<http::Response> patch(http::Request& request);
    Task<http::Response> terminate(http::Request& request);
    Task<http::Response> method_override(http::Request& request);

    // Ok when `who` may follow the upload's progress (its owner or an admin).
    Task<Result<void>> check_watch(auth::Identity const& who, std::string uid);
    static std::string room_of(std::string_view uid) { return "upload:" + std::string(uid); }

    // Start-up: removes data files whose row is gone (a crash between the two deletes).
    Task<Result<std::size_t>> remove_orphans();
    // Removes uploads past their expiry (files and rows); returns how many.
    Task<Result<std::size_t>> sweep_expired();

private:
    struct Upload;
    using UploadPtr = std::shared_ptr<Upload>;

    Task<Result<UploadPtr>> find(std::string const& uid);
    Task<Result<UploadPtr>> find_for(http::Request const& request);
    Task<http::Response> write_chunk(http::Request& request, UploadPtr upload, std::uint64_t offset);
    struct Received {
        std::optional<Error> failure;
        bool client_gone = false;
        bool digest_spoiled = false;  // the running digests saw bytes a failed write cut off
    };
    Task<Received> receive_body(http::Request& request, Upload& upload, storage::UploadWriter& writer,
                                Digest* chunk_digest, Digest* whole_digest, bool counts_now);
    void count_written(Upload& upload, std::uint64_t offset);
    Task<Result<std::string>> finish(UploadPtr upload);
    enum class Removal {
        by_client,  // DELETE: conflict while a request works on it
        expired,    // the sweep: skipped while in use or no longer expired
        not_media,  // finish(), which holds the upload itself
    };
    // True when this call removed it (row, files, registry entry).
    Task<Result<bool>> remove(UploadPtr const& upload, Removal why);
    void publish(Upload& upload, std::string_view status, bool force);
    void forget(std::string const& uid);
    std::string location_of(std::string_view uid) const;

    storage::MetaStore& store_;
    storage::UploadFiles files_;
    net::thread_pool& pool_;
    EventSink& events_;
    Clock const& clock_;
    IngestFn ingest_;
    TusOptions options_;

    std::mutex registry_mutex_;
    std::unordered_map<std::string, UploadPtr> uploads_;  // loaded on first use, dropped when removed
};

}  // namespace onda::uploads
