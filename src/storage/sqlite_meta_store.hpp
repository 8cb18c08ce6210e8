// MetaStore on SQLite (WAL mode, foreign keys on, busy timeout), schema migrations applied at open
// (storage/migrations: numbered steps recorded in PRAGMA user_version). One connection, used by one
// blocking-pool job at a time; SQLite calls never run on an I/O thread.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>

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
    Task<Result<void>> ping() override;

private:
    SqliteMetaStore(sqlite3* db, net::thread_pool& pool) : db_(db), pool_(pool) {}
    sqlite3* db_;
    net::thread_pool& pool_;
    std::mutex mutex_;  // the connection is shared by the pool's threads; held only inside pool jobs
};

}  // namespace onda::storage
