#include "storage/detail/sqlite.hpp"

#include <climits>
#include <utility>

namespace onda::storage::detail {
namespace {

Errc errc_for(int rc) {
    switch (rc & 0xff) {  // the primary code is the low byte; an extended code adds detail above it
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return Errc::unavailable;
    case SQLITE_FULL:
    case SQLITE_IOERR: return Errc::insufficient_storage;
    case SQLITE_CONSTRAINT:
        if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE) return Errc::conflict;
        return Errc::internal;
    default: return Errc::internal;
    }
}

}  // namespace

Error sqlite_error(sqlite3* db, int rc, std::string_view what) {
    std::string message(what);
    message += ": ";
    // The connection's message describes its last failure; for a bind error it may be stale, so use rc's.
    message += (db && sqlite3_extended_errcode(db) == rc) ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    return Error(errc_for(rc), std::move(message));
}

Result<void> exec(sqlite3* db, char const* sql) {
    int const rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return sqlite_error(db, rc, "execute SQL");
    return ok();
}

Result<Statement> Statement::prepare(sqlite3* db, std::string_view sql) {
    ONDA_ASSERT(sql.size() < INT_MAX, "onda's SQL is short");
    sqlite3_stmt* stmt = nullptr;
    int const rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(stmt);
        return sqlite_error(db, rc, "prepare SQL");
    }
    return Statement(db, stmt);
}

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)), bind_rc_(other.bind_rc_) {}

Statement::~Statement() { sqlite3_finalize(stmt_); }

int Statement::index_of(char const* name) const {
    int const index = sqlite3_bind_parameter_index(stmt_, name);
    ONDA_ASSERT(index > 0, "every bound name appears in the statement's SQL");
    return index;
}

void Statement::record(int rc) {
    if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

void Statement::bind_text(char const* name, std::string_view value) {
    // sqlite3_bind_text64 reports SQLITE_TOOBIG past the length limit instead of truncating.
    record(sqlite3_bind_text64(stmt_, index_of(name), value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
}

void Statement::bind_optional_text(char const* name, std::optional<std::string> const& value) {
    if (value)
        bind_text(name, *value);
    else
        bind_null(name);
}

void Statement::bind_int(char const* name, std::int64_t value) {
    record(sqlite3_bind_int64(stmt_, index_of(name), value));
}

void Statement::bind_real(char const* name, double value) { record(sqlite3_bind_double(stmt_, index_of(name), value)); }

void Statement::bind_null(char const* name) { record(sqlite3_bind_null(stmt_, index_of(name))); }

Result<bool> Statement::step() {
    if (bind_rc_ != SQLITE_OK) return sqlite_error(db_, bind_rc_, "bind SQL parameter");
    int const rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return sqlite_error(db_, rc, "run SQL");
}

std::string Statement::text(int column) const {
    auto const* bytes = reinterpret_cast<char const*>(sqlite3_column_text(stmt_, column));
    if (!bytes) return {};
    return std::string(bytes, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
}

std::optional<std::string> Statement::optional_text(int column) const {
    if (sqlite3_column_type(stmt_, column) == SQLITE_NULL) return std::nullopt;
    return text(column);
}

std::int64_t Statement::integer(int column) const { return sqlite3_column_int64(stmt_, column); }

double Statement::real(int column) const { return sqlite3_column_double(stmt_, column); }

std::string like_contains_pattern(std::string_view text) {
    std::string pattern = "%";
    for (char c : text) {
        if (c == '%' || c == '_' || c == '\\') pattern += '\\';
        pattern += c;
    }
    pattern += '%';
    return pattern;
}

}  // namespace onda::storage::detail
