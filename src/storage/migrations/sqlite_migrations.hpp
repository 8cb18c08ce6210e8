// The schema of the SQLite MetaStore as an ordered list of steps. Step i takes a database from schema
// version i to i + 1; the version is kept in PRAGMA user_version, so a new database runs every step and an
// existing one only those it has not seen. Steps are append-only: a released step never changes.
#pragma once

#include <span>
#include <string_view>

#include "core/error.hpp"

struct sqlite3;

namespace onda::storage::migrations {

// The SQL of every step, oldest first.
std::span<std::string_view const> sqlite_steps();

namespace blocking {
// Applies the steps `db` has not seen, each in its own IMMEDIATE transaction together with its
// user_version, so a crash or a concurrent opener never sees half a step. internal when the database
// is newer than this build (its version is past the last step).
Result<void> migrate_sqlite(sqlite3* db);
}  // namespace blocking

}  // namespace onda::storage::migrations
