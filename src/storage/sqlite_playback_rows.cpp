// SqliteMetaStore: each user's playback state (table `playback`, migration step 4).
#include <limits>
#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <sqlite3.h>

#include "storage/detail/sqlite.hpp"
#include "storage/sqlite_meta_store.hpp"

namespace onda::storage {
namespace {

using detail::Statement;

constexpr auto max_storable = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

std::string queue_text(std::vector<std::string> const& queue) {
    boost::json::array ids;
    ids.reserve(queue.size());
    for (auto const& id : queue) ids.emplace_back(id);
    return boost::json::serialize(ids);
}

Result<std::vector<std::string>> parse_queue(std::string const& text) {
    boost::system::error_code ec;
    auto value = boost::json::parse(text, ec);
    auto const* ids = ec ? nullptr : value.if_array();
    if (!ids) return Error(Errc::internal, "column queue holds no JSON array");
    std::vector<std::string> queue;
    queue.reserve(ids->size());
    for (auto const& id : *ids) {
        if (!id.is_string()) return Error(Errc::internal, "column queue holds a non-string");
        queue.emplace_back(id.get_string());
    }
    return queue;
}

namespace blocking {

Result<std::optional<PlaybackRecord>> find_playback(sqlite3* db, std::string const& user) {
    auto stmt = Statement::prepare(db,
                                   "SELECT track_id, playing, position, volume, quality, duration, queue, queue_index, "
                                   "device, updated_at, version FROM playback WHERE user = :user");
    if (!stmt) return stmt.error();
    stmt->bind_text(":user", user);
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) return std::optional<PlaybackRecord>();
    auto queue = parse_queue(stmt->text(6));
    if (!queue) return queue.error().context("playback of " + user);
    return std::optional<PlaybackRecord>(PlaybackRecord{
        .user = user,
        .track_id = stmt->text(0),
        .playing = stmt->integer(1) != 0,
        .position = stmt->real(2),
        .volume = stmt->real(3),
        .quality = stmt->text(4),
        .duration = stmt->real(5),
        .queue = std::move(*queue),
        .queue_index = static_cast<std::uint64_t>(stmt->integer(7)),
        .device = stmt->text(8),
        .updated_at = from_unix_micros(stmt->integer(9)),
        .version = static_cast<std::uint64_t>(stmt->integer(10)),
    });
}

Result<bool> save_playback(sqlite3* db, PlaybackRecord const& record) {
    if (record.version > max_storable || record.queue_index > max_storable)
        return Error(Errc::invalid_argument, "playback version or queue index past the largest integer");
    // One statement: the version check and the write cannot interleave with another writer's.
    auto stmt = Statement::prepare(
        db,
        "INSERT INTO playback (user, track_id, playing, position, volume, quality, duration, queue, queue_index, "
        "device, updated_at, version) VALUES (:user, :track_id, :playing, :position, :volume, :quality, :duration, "
        ":queue, :queue_index, :device, :updated_at, :version) "
        "ON CONFLICT (user) DO UPDATE SET track_id = excluded.track_id, playing = excluded.playing, "
        "position = excluded.position, volume = excluded.volume, quality = excluded.quality, "
        "duration = excluded.duration, queue = excluded.queue, queue_index = excluded.queue_index, "
        "device = excluded.device, updated_at = excluded.updated_at, version = excluded.version "
        "WHERE excluded.version > playback.version");
    if (!stmt) return stmt.error();
    stmt->bind_text(":user", record.user);
    stmt->bind_text(":track_id", record.track_id);
    stmt->bind_int(":playing", record.playing ? 1 : 0);
    stmt->bind_real(":position", record.position);
    stmt->bind_real(":volume", record.volume);
    stmt->bind_text(":quality", record.quality);
    stmt->bind_real(":duration", record.duration);
    stmt->bind_text(":queue", queue_text(record.queue));
    stmt->bind_int(":queue_index", static_cast<std::int64_t>(record.queue_index));
    stmt->bind_text(":device", record.device);
    stmt->bind_int(":updated_at", to_unix_micros(record.updated_at));
    stmt->bind_int(":version", static_cast<std::int64_t>(record.version));
    auto row = stmt->step();
    if (!row) return row.error();
    return sqlite3_changes(db) > 0;
}

}  // namespace blocking
}  // namespace

Task<Result<std::optional<PlaybackRecord>>> SqliteMetaStore::find_playback(std::string user) {
    auto job = [u = std::move(user)](sqlite3* db) { return blocking::find_playback(db, u); };
    co_return co_await run_locked(std::move(job));
}

Task<Result<bool>> SqliteMetaStore::save_playback(PlaybackRecord record) {
    auto job = [r = std::move(record)](sqlite3* db) { return blocking::save_playback(db, r); };
    co_return co_await run_locked(std::move(job));
}

}  // namespace onda::storage
