// MetaStore on SQLite (WAL mode, foreign keys on, busy timeout), schema migrations applied at open
// (storage/migrations: numbered steps recorded in PRAGMA user_version). One connection, used by one
// blocking-pool job at a time; SQLite calls never run on an I/O thread.
//
// Several processes open the same file (`onda serve` and its `onda worker`s): every change that reads
// before it writes runs in a BEGIN IMMEDIATE transaction, so it holds the database's write lock from
// its first read; transactions are a few statements long, and a writer that finds the lock taken
// waits up to the busy timeout (5 s) before failing with `unavailable`.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <type_traits>

#include <boost/asio/thread_pool.hpp>

#include "storage/meta_store.hpp"

struct sqlite3;

namespace onda::storage {

class SqliteMetaStore final : public MetaStore {
public:
    // Opens (creating if needed) the database file and migrates it. Blocking. `pool` runs every
    // later query and must outlive the store.
    static Result<std::unique_ptr<SqliteMetaStore>> open(std::filesystem::path const& file, net::thread_pool& pool);
    ~SqliteMetaStore() override;

    Task<Result<void>> insert_media(MediaRecord record) override;
    Task<Result<void>> mark_media_ready(std::string id) override;
    Task<Result<MediaRecord>> find_media(std::string id) override;
    Task<Result<MediaPage>> list_media(MediaQuery query) override;
    Task<Result<MediaRecord>> update_media(std::string id, MediaPatch patch) override;
    Task<Result<void>> delete_media(std::string id) override;
    Task<Result<std::vector<std::string>>> take_pending_media() override;
    Task<Result<void>> insert_upload(UploadRecord record) override;
    Task<Result<UploadRecord>> find_upload(std::string id) override;
    Task<Result<void>> update_upload_offset(std::string id, std::uint64_t offset, SystemTime expires_at) override;
    Task<Result<void>> set_upload_media(std::string id, std::string media_id, SystemTime expires_at) override;
    Task<Result<void>> delete_upload(std::string id) override;
    Task<Result<std::vector<std::string>>> list_expired_uploads(SystemTime now, std::size_t limit) override;
    Task<Result<JobRecord>> find_transcode_job(std::string media_id) override;
    Task<Result<ClaimedJob>> claim_job(JobClaim claim) override;
    Task<Result<void>> renew_job(JobLease lease, double progress, SystemTime now,
                                 std::chrono::milliseconds lease_time) override;
    Task<Result<void>> complete_job(JobLease lease, TranscodeOutput output, SystemTime now) override;
    Task<Result<void>> fail_job(JobLease lease, std::string reason, SystemTime now) override;
    Task<Result<std::vector<JobRecord>>> release_jobs(JobRelease release) override;
    Task<Result<std::optional<PlaybackRecord>>> find_playback(std::string user) override;
    Task<Result<bool>> save_playback(PlaybackRecord record) override;
    Task<Result<void>> ping() override;

private:
    SqliteMetaStore(sqlite3* db, net::thread_pool& pool) : db_(db), pool_(pool) {}
    // Runs job(db_) on the pool. The job takes mutex_ for its whole use of the connection; the
    // coroutine itself never holds it, so nothing is locked across the co_await.
    template <class Job>
    Task<std::invoke_result_t<Job&, sqlite3*>> run_locked(Job job) {
        auto locked = [this, job = std::move(job)]() mutable {
            std::lock_guard lock(mutex_);
            return job(db_);
        };
        co_return co_await offload(pool_, std::move(locked));
    }
    sqlite3* db_;
    net::thread_pool& pool_;
    std::mutex mutex_;  // the connection is shared by the pool's threads; held only inside pool jobs
};

}  // namespace onda::storage
