// SqliteMetaStore: the rows of resumable uploads (table `uploads`, migration step 2).
#include <limits>
#include <string>

#include <sqlite3.h>

#include "storage/detail/sqlite.hpp"
#include "storage/sqlite_meta_store.hpp"

namespace onda::storage {
namespace {

using detail::Statement;

constexpr char const* upload_columns = "id, owner, length, \"offset\", metadata, created_at, expires_at, media_id";

constexpr auto max_storable = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

UploadRecord read_upload(Statement const& row) {
    return UploadRecord{
        .id = row.text(0),
        .owner = row.text(1),
        .length = static_cast<std::uint64_t>(row.integer(2)),
        .offset = static_cast<std::uint64_t>(row.integer(3)),
        .metadata = row.text(4),
        .created_at = from_unix_micros(row.integer(5)),
        .expires_at = from_unix_micros(row.integer(6)),
        .media_id = row.optional_text(7),
    };
}

// Runs a statement that changes one row; not_found when it changed none.
Result<void> change_one(sqlite3* db, Statement& stmt, std::string const& id) {
    auto row = stmt.step();
    if (!row) return row.error();
    if (sqlite3_changes(db) == 0) return Error(Errc::not_found, "no upload " + id);
    return ok();
}

namespace blocking {

Result<void> insert_upload(sqlite3* db, UploadRecord const& record) {
    if (record.length > max_storable) return Error(Errc::invalid_argument, "upload length past the largest integer");
    auto stmt = Statement::prepare(db, std::string("INSERT INTO uploads (") + upload_columns +
                                           ") VALUES (:id, :owner, :length, :offset, :metadata, :created_at, "
                                           ":expires_at, :media_id)");
    if (!stmt) return stmt.error();
    stmt->bind_text(":id", record.id);
    stmt->bind_text(":owner", record.owner);
    stmt->bind_int(":length", static_cast<std::int64_t>(record.length));
    stmt->bind_int(":offset", static_cast<std::int64_t>(record.offset));
    stmt->bind_text(":metadata", record.metadata);
    stmt->bind_int(":created_at", to_unix_micros(record.created_at));
    stmt->bind_int(":expires_at", to_unix_micros(record.expires_at));
    stmt->bind_optional_text(":media_id", record.media_id);
    auto row = stmt->step();
    if (!row && row.error().code() == Errc::conflict) return Error(Errc::conflict, "upload " + record.id + " exists");
    if (!row) return row.error();
    return ok();
}

Result<UploadRecord> find_upload(sqlite3* db, std::string const& id) {
    auto stmt = Statement::prepare(db, std::string("SELECT ") + upload_columns + " FROM uploads WHERE id = :id");
    if (!stmt) return stmt.error();
    stmt->bind_text(":id", id);
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) return Error(Errc::not_found, "no upload " + id);
    return read_upload(*stmt);
}

Result<void> update_upload_offset(sqlite3* db, std::string const& id, std::uint64_t offset, SystemTime expires_at) {
    if (offset > max_storable) return Error(Errc::invalid_argument, "upload offset past the largest integer");
    auto stmt =
        Statement::prepare(db, "UPDATE uploads SET \"offset\" = :offset, expires_at = :expires_at WHERE id = :id");
    if (!stmt) return stmt.error();
    stmt->bind_text(":id", id);
    stmt->bind_int(":offset", static_cast<std::int64_t>(offset));
    stmt->bind_int(":expires_at", to_unix_micros(expires_at));
    return change_one(db, *stmt, id);
}

Result<void> set_upload_media(sqlite3* db, std::string const& id, std::string const& media_id, SystemTime expires_at) {
    auto stmt = Statement::prepare(
        db, "UPDATE uploads SET media_id = :media_id, \"offset\" = length, expires_at = :expires_at WHERE id = :id");
    if (!stmt) return stmt.error();
    stmt->bind_text(":id", id);
    stmt->bind_text(":media_id", media_id);
    stmt->bind_int(":expires_at", to_unix_micros(expires_at));
    return change_one(db, *stmt, id);
}

Result<void> delete_upload(sqlite3* db, std::string const& id) {
    auto stmt = Statement::prepare(db, "DELETE FROM uploads WHERE id = :id");
    if (!stmt) return stmt.error();
    stmt->bind_text(":id", id);
    return change_one(db, *stmt, id);
}

Result<std::vector<std::string>> list_expired_uploads(sqlite3* db, SystemTime now, std::size_t limit) {
    auto stmt =
        Statement::prepare(db, "SELECT id FROM uploads WHERE expires_at < :now ORDER BY expires_at LIMIT :limit");
    if (!stmt) return stmt.error();
    stmt->bind_int(":now", to_unix_micros(now));
    stmt->bind_int(":limit", static_cast<std::int64_t>(std::min<std::size_t>(limit, 1'000'000)));
    std::vector<std::string> ids;
    for (;;) {
        auto row = stmt->step();
        if (!row) return row.error();
        if (!*row) return ids;
        ids.push_back(stmt->text(0));
    }
}

}  // namespace blocking
}  // namespace

Task<Result<void>> SqliteMetaStore::insert_upload(UploadRecord record) {
    auto job = [r = std::move(record)](sqlite3* db) { return blocking::insert_upload(db, r); };
    co_return co_await run_locked(std::move(job));
}

Task<Result<UploadRecord>> SqliteMetaStore::find_upload(std::string id) {
    auto job = [i = std::move(id)](sqlite3* db) { return blocking::find_upload(db, i); };
    co_return co_await run_locked(std::move(job));
}

Task<Result<void>> SqliteMetaStore::update_upload_offset(std::string id, std::uint64_t offset, SystemTime expires_at) {
    auto job = [i = std::move(id), offset, expires_at](sqlite3* db) {
        return blocking::update_upload_offset(db, i, offset, expires_at);
    };
    co_return co_await run_locked(std::move(job));
}

Task<Result<void>> SqliteMetaStore::set_upload_media(std::string id, std::string media_id, SystemTime expires_at) {
    auto job = [i = std::move(id), m = std::move(media_id), expires_at](sqlite3* db) {
        return blocking::set_upload_media(db, i, m, expires_at);
    };
    co_return co_await run_locked(std::move(job));
}

Task<Result<void>> SqliteMetaStore::delete_upload(std::string id) {
    auto job = [i = std::move(id)](sqlite3* db) { return blocking::delete_upload(db, i); };
    co_return co_await run_locked(std::move(job));
}

Task<Result<std::vector<std::string>>> SqliteMetaStore::list_expired_uploads(SystemTime now, std::size_t limit) {
    auto job = [now, limit](sqlite3* db) { return blocking::list_expired_uploads(db, now, limit); };
    co_return co_await run_locked(std::move(job));
}

}  // namespace onda::storage
