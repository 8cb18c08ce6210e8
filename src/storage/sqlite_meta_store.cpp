#include "storage/sqlite_meta_store.hpp"

#include <limits>
#include <string>
#include <utility>

#include <sqlite3.h>

#include "core/ids.hpp"
#include "storage/detail/media_cursor.hpp"
#include "storage/detail/sqlite.hpp"
#include "storage/migrations/sqlite_migrations.hpp"

namespace onda::storage {
namespace {

namespace json = boost::json;
using detail::Statement;

// The columns of a MediaRecord, in the order read_media() reads them.
std::string const media_columns =
    "id, title, filename, owner, visibility, source, kind, content_type, size, sha256, duration, bit_rate, "
    "format, audio, video, metadata, created_at, transcode_state, transcode_progress, transcode_error, renditions, "
    "has_hls, has_thumbnail, has_waveform";

std::string const insert_sql =
    "INSERT INTO media (state, " + media_columns +
    ") VALUES ('pending', :id, :title, :filename, :owner, :visibility, :source, :kind, :content_type, :size, "
    ":sha256, :duration, :bit_rate, :format, :audio, :video, :metadata, :created_at, :transcode_state, "
    ":transcode_progress, :transcode_error, :renditions, :has_hls, :has_thumbnail, :has_waveform)";

std::string const find_sql = "SELECT " + media_columns + " FROM media WHERE id = :id AND state = 'ready'";

// One fixed statement for every query: an absent filter is a NULL parameter that makes its condition true.
// The keyset condition "(created_at, id) < cursor" is spelled so that its first half is a plain range on
// created_at: SQLite then seeks into the media_newest index at the cursor, walks it in ORDER BY order and
// stops after :limit rows. The first page uses the largest int64 as :after_micros, past any stored time.
std::string const list_sql = "SELECT " + media_columns + R"sql( FROM media
WHERE state = 'ready'
  AND (:admin OR visibility = 'public' OR (:viewer <> '' AND owner = :viewer))
  AND (:kind IS NULL OR kind = :kind)
  AND (:source IS NULL OR source = :source)
  AND (:pattern IS NULL OR title LIKE :pattern ESCAPE '\' OR filename LIKE :pattern ESCAPE '\')
  AND created_at <= :after_micros AND (created_at < :after_micros OR id < :after_id)
ORDER BY created_at DESC, id DESC
LIMIT :limit)sql";

std::string const update_sql = R"sql(UPDATE media
SET title = coalesce(:title, title), visibility = coalesce(:visibility, visibility),
    metadata = coalesce(:metadata, metadata)
WHERE id = :id AND state = 'ready'
RETURNING )sql" + media_columns;

Result<json::value> parse_json_column(std::string const& text, char const* column) {
    boost::system::error_code ec;
    json::value value = json::parse(text, ec);
    if (ec) return Error(Errc::internal, std::string("column ") + column + " holds invalid JSON: " + ec.message());
    return value;
}

Result<MediaRecord> read_media(Statement const& row) {
    MediaRecord record;
    record.id = row.text(0);
    record.title = row.text(1);
    record.filename = row.text(2);
    record.owner = row.text(3);
    record.visibility = row.text(4);
    record.source = row.text(5);
    record.kind = row.text(6);
    record.content_type = row.text(7);
    record.size = static_cast<std::uint64_t>(row.integer(8));
    record.sha256 = row.text(9);
    record.duration = row.real(10);
    record.bit_rate = row.integer(11);
    record.format = row.text(12);
    auto audio = parse_json_column(row.text(13), "audio");
    if (!audio) return audio.error();
    record.audio = std::move(*audio);
    auto video = parse_json_column(row.text(14), "video");
    if (!video) return video.error();
    record.video = std::move(*video);
    auto metadata = parse_json_column(row.text(15), "metadata");
    if (!metadata) return metadata.error();
    if (!metadata->is_object()) return Error(Errc::internal, "column metadata holds JSON that is not an object");
    record.metadata = std::move(metadata->get_object());
    record.created_at = from_unix_micros(row.integer(16));
    record.transcode_state = row.text(17);
    record.transcode_progress = row.real(18);
    record.transcode_error = row.optional_text(19);
    auto renditions = parse_json_column(row.text(20), "renditions");
    if (!renditions) return renditions.error();
    if (!renditions->is_array()) return Error(Errc::internal, "column renditions holds JSON that is not an array");
    record.renditions = std::move(renditions->get_array());
    record.has_hls = row.integer(21) != 0;
    record.has_thumbnail = row.integer(22) != 0;
    record.has_waveform = row.integer(23) != 0;
    return record;
}

// Every row of `stmt`, read as media.
Result<std::vector<MediaRecord>> read_all_media(Statement& stmt) {
    std::vector<MediaRecord> records;
    for (;;) {
        auto row = stmt.step();
        if (!row) return row.error();
        if (!*row) return records;
        auto record = read_media(stmt);
        if (!record) return record.error();
        records.push_back(std::move(*record));
    }
}

// Runs a statement that returns no rows.
Result<void> run(Statement& stmt) {
    auto row = stmt.step();
    if (!row) return row.error();
    return ok();
}

namespace blocking {

Result<void> insert_media(sqlite3* db, MediaRecord const& record) {
    if (record.size > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        return Error(Errc::invalid_argument, "media size past the largest storable integer");
    auto stmt = Statement::prepare(db, insert_sql);
    if (!stmt) return stmt.error();
    stmt->bind_text(":id", record.id);
    stmt->bind_text(":title", record.title);
    stmt->bind_text(":filename", record.filename);
    stmt->bind_text(":owner", record.owner);
    stmt->bind_text(":visibility", record.visibility);
    stmt->bind_text(":source", record.source);
    stmt->bind_text(":kind", record.kind);
    stmt->bind_text(":content_type", record.content_type);
    stmt->bind_int(":size", static_cast<std::int64_t>(record.size));
    stmt->bind_text(":sha256", record.sha256);
    stmt->bind_real(":duration", record.duration);
    stmt->bind_int(":bit_rate", record.bit_rate);
    stmt->bind_text(":format", record.format);
    stmt->bind_text(":audio", json::serialize(record.audio));
    stmt->bind_text(":video", json::serialize(record.video));
    stmt->bind_text(":metadata", json::serialize(record.metadata));
    stmt->bind_int(":created_at", to_unix_micros(record.created_at));
    stmt->bind_text(":transcode_state", record.transcode_state);
    stmt->bind_real(":transcode_progress", record.transcode_progress);
    stmt->bind_optional_text(":transcode_error", record.transcode_error);
    stmt->bind_text(":renditions", json::serialize(record.renditions));
    stmt->bind_int(":has_hls", record.has_hls ? 1 : 0);
    stmt->bind_int(":has_thumbnail", record.has_thumbnail ? 1 : 0);
    stmt->bind_int(":has_waveform", record.has_waveform ? 1 : 0);
    if (auto done = run(*stmt); !done) {
        if (done.error().code() == Errc::conflict) return Error(Errc::conflict, "media " + record.id + " exists");
        return done;
    }
    return ok();
}

// The row becomes visible and, when it asks for a transcode, gets its job: both or neither.
Result<void> mark_media_ready(sqlite3* db, std::string const& id) {
    return detail::immediate_transaction(db, [&]() -> Result<void> {
        auto stmt = Statement::prepare(
            db, "UPDATE media SET state = 'ready' WHERE id = :id AND state = 'pending' RETURNING transcode_state");
        if (!stmt) return stmt.error();
        stmt->bind_text(":id", id);
        auto row = stmt->step();
        if (!row) return row.error();
        if (!*row) return Error(Errc::not_found, "no pending media " + id);
        bool const wants_transcode = stmt->text(0) == "queued";
        if (auto finished = run(*stmt); !finished) return finished;  // RETURNING: step to the end
        if (!wants_transcode) return ok();
        // The job is as old as its media, so the queue is served in upload order.
        auto enqueue = Statement::prepare(db, R"sql(INSERT INTO jobs
    (id, media_id, kind, state, attempts, progress, created_at, updated_at)
    SELECT :job_id, id, 'transcode', 'queued', 0, 0, created_at, created_at FROM media WHERE id = :id)sql");
        if (!enqueue) return enqueue.error();
        enqueue->bind_text(":job_id", make_id("j"));
        enqueue->bind_text(":id", id);
        return run(*enqueue);
    });
}

Result<MediaRecord> find_media(sqlite3* db, std::string const& id) {
    auto stmt = Statement::prepare(db, find_sql);
    if (!stmt) return stmt.error();
    stmt->bind_text(":id", id);
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) return Error(Errc::not_found, "no media " + id);
    return read_media(*stmt);
}

Result<MediaPage> list_media(sqlite3* db, MediaQuery const& query) {
    ONDA_ASSERT(query.limit >= 1 && query.limit < std::numeric_limits<std::int32_t>::max(),
                "the caller checks limit is 1..200");
    std::optional<detail::MediaCursor> after;
    if (query.cursor) {
        after = detail::parse_media_cursor(*query.cursor);
        if (!after) return Error(Errc::invalid_argument, "malformed cursor");
    }
    auto stmt = Statement::prepare(db, list_sql);
    if (!stmt) return stmt.error();
    stmt->bind_int(":admin", query.viewer_is_admin ? 1 : 0);
    stmt->bind_text(":viewer", query.viewer);
    stmt->bind_optional_text(":kind", query.kind);
    stmt->bind_optional_text(":source", query.source);
    if (query.text)
        stmt->bind_text(":pattern", detail::like_contains_pattern(*query.text));
    else
        stmt->bind_null(":pattern");
    if (after) {
        stmt->bind_int(":after_micros", after->created_at.time_since_epoch().count());
        stmt->bind_text(":after_id", after->id);
    } else {
        // No row reaches this: created_at comes from a SystemTime, whose nanoseconds end near 9.2e15 micros.
        stmt->bind_int(":after_micros", std::numeric_limits<std::int64_t>::max());
        stmt->bind_null(":after_id");
    }
    // One row more than asked says whether another page follows, without a second query.
    stmt->bind_int(":limit", static_cast<std::int64_t>(query.limit) + 1);
    auto rows = read_all_media(*stmt);
    if (!rows) return rows.error();
    MediaPage page{.items = std::move(*rows)};
    if (page.items.size() > query.limit) {
        page.items.resize(query.limit);
        MediaRecord const& last = page.items.back();
        auto const last_micros = std::chrono::microseconds(to_unix_micros(last.created_at));
        page.next_cursor = detail::format_media_cursor(
            {.created_at = std::chrono::sys_time<std::chrono::microseconds>(last_micros), .id = last.id});
    }
    return page;
}

Result<MediaRecord> update_media(sqlite3* db, std::string const& id, MediaPatch const& patch) {
    auto stmt = Statement::prepare(db, update_sql);
    if (!stmt) return stmt.error();
    stmt->bind_text(":id", id);
    stmt->bind_optional_text(":title", patch.title);
    stmt->bind_optional_text(":visibility", patch.visibility);
    if (patch.metadata)
        stmt->bind_text(":metadata", json::serialize(*patch.metadata));
    else
        stmt->bind_null(":metadata");
    auto rows = read_all_media(*stmt);
    if (!rows) return rows.error();
    if (rows->empty()) return Error(Errc::not_found, "no media " + id);
    return std::move(rows->front());
}

// Removes the row whatever its state, so an upload that fails after insert_media() can take its row back.
Result<void> delete_media(sqlite3* db, std::string const& id) {
    auto stmt = Statement::prepare(db, "DELETE FROM media WHERE id = :id");
    if (!stmt) return stmt.error();
    stmt->bind_text(":id", id);
    if (auto done = run(*stmt); !done) return done;
    if (sqlite3_changes(db) == 0) return Error(Errc::not_found, "no media " + id);
    return ok();
}

Result<std::vector<std::string>> take_pending_media(sqlite3* db) {
    // One statement reads and deletes, so a row inserted meanwhile is either returned or left alone.
    auto stmt = Statement::prepare(db, "DELETE FROM media WHERE state = 'pending' RETURNING id");
    if (!stmt) return stmt.error();
    std::vector<std::string> ids;
    for (;;) {
        auto row = stmt->step();
        if (!row) return row.error();
        if (!*row) return ids;
        ids.push_back(stmt->text(0));
    }
}

Result<void> ping(sqlite3* db) {
    auto stmt = Statement::prepare(db, "SELECT count(*) FROM media WHERE 0");
    if (!stmt) return stmt.error();
    auto row = stmt->step();
    if (!row) return row.error();
    return ok();
}

Result<void> configure(sqlite3* db) {
    // busy_timeout first: the PRAGMAs below may already wait on another process's lock.
    if (int rc = sqlite3_busy_timeout(db, 5000); rc != SQLITE_OK) return detail::sqlite_error(db, rc, "busy_timeout");
    auto mode = Statement::prepare(db, "PRAGMA journal_mode = WAL");
    if (!mode) return mode.error();
    auto row = mode->step();
    if (!row) return row.error();
    // SQLite answers with the mode it is in; a file system without shared memory stays in another one.
    if (!*row || mode->text(0) != "wal") return Error(Errc::internal, "the database refused journal_mode=WAL");
    if (auto set = detail::exec(db, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON"); !set) return set;
    return ok();
}

}  // namespace blocking
}  // namespace

Result<std::unique_ptr<SqliteMetaStore>> SqliteMetaStore::open(std::filesystem::path const& file,
                                                               net::thread_pool& pool) {
    sqlite3* db = nullptr;
    // NOMUTEX: mutex_ already serialises every use of the connection.
    int const flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    int const rc = sqlite3_open_v2(file.c_str(), &db, flags, nullptr);
    // The store owns db from here, even when opening failed (SQLite may still have allocated it).
    std::unique_ptr<SqliteMetaStore> store(new SqliteMetaStore(db, pool));
    std::string const what = "open database " + file.string();
    if (rc != SQLITE_OK) return detail::sqlite_error(db, rc, what);
    if (auto configured = blocking::configure(db); !configured) return configured.error().context(what);
    if (auto migrated = migrations::blocking::migrate_sqlite(db); !migrated) return migrated.error().context(what);
    return store;
}

SqliteMetaStore::~SqliteMetaStore() { sqlite3_close_v2(db_); }

// Each method hands a job to the pool through run_locked() (sqlite_meta_store.hpp).

Task<Result<void>> SqliteMetaStore::insert_media(MediaRecord record) {
    auto job = [r = std::move(record)](sqlite3* db) { return blocking::insert_media(db, r); };
    co_return co_await run_locked(std::move(job));
}

Task<Result<void>> SqliteMetaStore::mark_media_ready(std::string id) {
    auto job = [i = std::move(id)](sqlite3* db) { return blocking::mark_media_ready(db, i); };
    co_return co_await run_locked(std::move(job));
}

Task<Result<MediaRecord>> SqliteMetaStore::find_media(std::string id) {
    auto job = [i = std::move(id)](sqlite3* db) { return blocking::find_media(db, i); };
    co_return co_await run_locked(std::move(job));
}

Task<Result<MediaPage>> SqliteMetaStore::list_media(MediaQuery query) {
    auto job = [q = std::move(query)](sqlite3* db) { return blocking::list_media(db, q); };
    co_return co_await run_locked(std::move(job));
}

Task<Result<MediaRecord>> SqliteMetaStore::update_media(std::string id, MediaPatch patch) {
    auto job = [i = std::move(id), p = std::move(patch)](sqlite3* db) { return blocking::update_media(db, i, p); };
    co_return co_await run_locked(std::move(job));
}

Task<Result<void>> SqliteMetaStore::delete_media(std::string id) {
    auto job = [i = std::move(id)](sqlite3* db) { return blocking::delete_media(db, i); };
    co_return co_await run_locked(std::move(job));
}

Task<Result<std::vector<std::string>>> SqliteMetaStore::take_pending_media() {
    auto job = [](sqlite3* db) { return blocking::take_pending_media(db); };
    co_return co_await run_locked(std::move(job));
}

Task<Result<void>> SqliteMetaStore::ping() {
    auto job = [](sqlite3* db) { return blocking::ping(db); };
    co_return co_await run_locked(std::move(job));
}

}  // namespace onda::storage
