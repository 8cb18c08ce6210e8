#include "storage/migrations/sqlite_migrations.hpp"

#include <array>
#include <string>

#include <sqlite3.h>

#include "storage/detail/sqlite.hpp"

namespace onda::storage::migrations {
namespace {

using detail::Statement;

// Step 1: media rows. audio, video and metadata hold JSON text; created_at is Unix microseconds; state is
// 'pending' until the bytes are committed (meta_store.hpp). Both indexes serve the newest-first listing:
// everything (admins, public items) and one owner's items.
constexpr std::string_view create_media = R"sql(
CREATE TABLE media (
    id                 TEXT PRIMARY KEY NOT NULL,
    state              TEXT NOT NULL CHECK (state IN ('pending', 'ready')),
    title              TEXT NOT NULL,
    filename           TEXT NOT NULL,
    owner              TEXT NOT NULL,
    visibility         TEXT NOT NULL,
    source             TEXT NOT NULL,
    kind               TEXT NOT NULL,
    content_type       TEXT NOT NULL,
    size               INTEGER NOT NULL,
    sha256             TEXT NOT NULL,
    duration           REAL NOT NULL,
    bit_rate           INTEGER NOT NULL,
    format             TEXT NOT NULL,
    audio              TEXT NOT NULL,
    video              TEXT NOT NULL,
    metadata           TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    transcode_state    TEXT NOT NULL,
    transcode_progress REAL NOT NULL,
    transcode_error    TEXT
) STRICT;
CREATE INDEX media_newest ON media (created_at DESC, id DESC);
CREATE INDEX media_by_owner ON media (owner, created_at DESC, id DESC);
)sql";

// Step 2: resumable uploads (meta_store.hpp UploadRecord). Times are Unix microseconds; the expiry index
// serves the background sweep.
constexpr std::string_view create_uploads = R"sql(
CREATE TABLE uploads (
    id         TEXT PRIMARY KEY NOT NULL,
    owner      TEXT NOT NULL,
    length     INTEGER NOT NULL CHECK (length >= 0),
    "offset"   INTEGER NOT NULL CHECK ("offset" >= 0 AND "offset" <= length),
    metadata   TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    media_id   TEXT
) STRICT;
CREATE INDEX uploads_by_expiry ON uploads (expires_at);
)sql";

// Step 3: durable transcode jobs (meta_store.hpp JobRecord) and what a finished transcode adds to its
// media row. Times are Unix microseconds. One transcode job per media (jobs_by_media), removed with
// its media; jobs_claimable serves the claim's "oldest queued, or running with an expired lease".
// Media that became ready before this step are queued for transcoding like new ones; their job id
// is derived from the media id (same random part), which keeps the step plain SQL.
constexpr std::string_view create_jobs = R"sql(
ALTER TABLE media ADD COLUMN renditions TEXT NOT NULL DEFAULT '[]';
ALTER TABLE media ADD COLUMN has_hls INTEGER NOT NULL DEFAULT 0;
ALTER TABLE media ADD COLUMN has_thumbnail INTEGER NOT NULL DEFAULT 0;
ALTER TABLE media ADD COLUMN has_waveform INTEGER NOT NULL DEFAULT 0;
CREATE TABLE jobs (
    id               TEXT PRIMARY KEY NOT NULL,
    media_id         TEXT NOT NULL REFERENCES media (id) ON DELETE CASCADE,
    kind             TEXT NOT NULL CHECK (kind IN ('transcode')),
    state            TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts         INTEGER NOT NULL CHECK (attempts >= 0),
    lease_owner      TEXT,
    lease_expires_at INTEGER,
    progress         REAL NOT NULL,
    error            TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX jobs_by_media ON jobs (media_id, kind);
CREATE INDEX jobs_claimable ON jobs (state, created_at, id);
INSERT INTO jobs (id, media_id, kind, state, attempts, progress, created_at, updated_at)
    SELECT 'j_' || substr(id, 3), id, 'transcode', 'queued', 0, 0, created_at, created_at
    FROM media WHERE state = 'ready' AND transcode_state = 'none';
UPDATE media SET transcode_state = 'queued', transcode_progress = 0
    WHERE state = 'ready' AND transcode_state = 'none';
)sql";

// Step 4: each user's playback state (meta_store.hpp PlaybackRecord), one row per user, so it
// survives a restart. queue holds a JSON array of media ids; times are Unix microseconds. `version`
// orders the writes: a write older than the row is ignored.
constexpr std::string_view create_playback = R"sql(
CREATE TABLE playback (
    user        TEXT PRIMARY KEY NOT NULL,
    track_id    TEXT NOT NULL,
    playing     INTEGER NOT NULL CHECK (playing IN (0, 1)),
    position    REAL NOT NULL,
    volume      REAL NOT NULL,
    quality     TEXT NOT NULL,
    duration    REAL NOT NULL,
    queue       TEXT NOT NULL,
    queue_index INTEGER NOT NULL CHECK (queue_index >= 0),
    device      TEXT NOT NULL,
    updated_at  INTEGER NOT NULL,
    version     INTEGER NOT NULL CHECK (version >= 0)
) STRICT;
)sql";

constexpr std::array<std::string_view, 4> steps = {create_media, create_uploads, create_jobs, create_playback};

Result<std::size_t> user_version(sqlite3* db) {
    auto stmt = Statement::prepare(db, "PRAGMA user_version");
    if (!stmt) return stmt.error();
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) return Error(Errc::internal, "PRAGMA user_version returned no row");
    std::int64_t const version = stmt->integer(0);
    if (version < 0) return Error(Errc::internal, "negative schema version " + std::to_string(version));
    return static_cast<std::size_t>(version);
}

// Runs step `version` and records version + 1, inside the caller's transaction.
Result<void> apply_step(sqlite3* db, std::size_t version) {
    std::string const sql(steps[version]);  // sqlite3_exec needs a terminated string
    if (auto applied = detail::exec(db, sql.c_str()); !applied) return applied;
    // PRAGMA takes no bound parameters; the number comes from this loop, never from outside.
    std::string const record = "PRAGMA user_version = " + std::to_string(version + 1);
    return detail::exec(db, record.c_str());
}

}  // namespace

std::span<std::string_view const> sqlite_steps() { return steps; }

namespace blocking {

Result<void> migrate_sqlite(sqlite3* db) {
    for (;;) {
        // IMMEDIATE takes the write lock first, so two processes opening one file cannot run a step twice:
        // the version is read again under the lock.
        if (auto begun = detail::exec(db, "BEGIN IMMEDIATE"); !begun) return begun.error().context("migrate");
        auto version = user_version(db);
        Result<void> outcome = ok();
        bool done = false;
        if (!version) {
            outcome = version.error();
        } else if (*version > steps.size()) {
            outcome = Error(Errc::internal, "database schema version " + std::to_string(*version) +
                                                " is newer than this onda (" + std::to_string(steps.size()) + ")");
        } else if (*version == steps.size()) {
            done = true;
        } else {
            outcome = apply_step(db, *version);
        }
        if (!outcome) {
            (void)detail::exec(db, "ROLLBACK");  // the step's own error is the one worth reporting
            return outcome.error().context("migrate");
        }
        if (auto committed = detail::exec(db, "COMMIT"); !committed) {
            (void)detail::exec(db, "ROLLBACK");
            return committed.error().context("migrate");
        }
        if (done) return ok();
    }
}

}  // namespace blocking
}  // namespace onda::storage::migrations
