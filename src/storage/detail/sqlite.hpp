// A thin layer over the SQLite C API for the storage module: a prepared statement that owns its handle and
// binds parameters by name, errors translated to Errc, and static SQL execution. Every function blocks.
//
// Example:
//   auto stmt = Statement::prepare(db, "SELECT title FROM media WHERE id = :id");
//   if (!stmt) return stmt.error();
//   stmt->bind_text(":id", id);
//   auto row = stmt->step();          // true: a row is ready; false: done
//   if (row && *row) title = stmt->text(0);
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include <sqlite3.h>

#include "core/error.hpp"

namespace onda::storage::detail {

// "<what>: <sqlite message>" with busy/locked -> unavailable, full or I/O error -> insufficient_storage,
// primary-key or unique violation -> conflict, anything else -> internal.
Error sqlite_error(sqlite3* db, int rc, std::string_view what);

// Runs SQL that is part of onda (PRAGMAs, migrations, BEGIN/COMMIT); never text that came from outside.
Result<void> exec(sqlite3* db, char const* sql);

class Statement {
public:
    static Result<Statement> prepare(sqlite3* db, std::string_view sql);
    Statement(Statement&& other) noexcept;
    Statement& operator=(Statement&&) = delete;
    Statement(Statement const&) = delete;
    Statement& operator=(Statement const&) = delete;
    ~Statement();

    // `name` is a parameter of the SQL, e.g. ":id". A bind that fails (a value past SQLite's size limit)
    // is reported by the next step().
    void bind_text(char const* name, std::string_view value);
    void bind_optional_text(char const* name, std::optional<std::string> const& value);  // NULL for nullopt
    void bind_int(char const* name, std::int64_t value);
    void bind_real(char const* name, double value);
    void bind_null(char const* name);

    // True when a row is ready to read, false when the statement has finished.
    Result<bool> step();

    std::string text(int column) const;
    std::optional<std::string> optional_text(int column) const;  // nullopt for NULL
    std::int64_t integer(int column) const;
    double real(int column) const;

private:
    Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
    int index_of(char const* name) const;
    void record(int rc);

    sqlite3* db_;
    sqlite3_stmt* stmt_;
    int bind_rc_ = SQLITE_OK;
};

// Runs fn() (returning a Result) inside BEGIN IMMEDIATE … COMMIT, and rolls back when it fails.
// IMMEDIATE takes the write lock before the first read, so a read-then-write (claiming a job) cannot
// interleave with another connection's, whether in this process or another; a connection that finds
// the lock taken waits up to the busy timeout.
template <class Fn>
std::invoke_result_t<Fn&> immediate_transaction(sqlite3* db, Fn&& fn) {
    if (auto begun = exec(db, "BEGIN IMMEDIATE"); !begun) return begun.error();
    auto outcome = fn();
    if (!outcome) {
        (void)exec(db, "ROLLBACK");  // fn's error is the one worth reporting
        return outcome;
    }
    if (auto committed = exec(db, "COMMIT"); !committed) {
        (void)exec(db, "ROLLBACK");
        return committed.error();
    }
    return outcome;
}

// The pattern for "contains `text`" in `LIKE :pattern ESCAPE '\'`: '%', '_' and '\' in `text` match themselves.
std::string like_contains_pattern(std::string_view text);

}  // namespace onda::storage::detail
