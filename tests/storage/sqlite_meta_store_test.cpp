// SqliteMetaStore only: what the contract suite cannot see (PRAGMAs, schema versions).
#include <fstream>
#include <string>

#include <boost/asio/thread_pool.hpp>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "core/run_alone.hpp"
#include "storage/migrations/sqlite_migrations.hpp"
#include "storage/sqlite_meta_store.hpp"
#include "support/temp_dir.hpp"

namespace onda::storage {
namespace {

// A second, plain connection to the same file, for looking behind the store's back.
class RawDatabase {
public:
    explicit RawDatabase(std::filesystem::path const& file) {
        if (sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK)
            ADD_FAILURE() << "open " << file << ": " << sqlite3_errmsg(db_);
    }
    ~RawDatabase() { sqlite3_close_v2(db_); }
    RawDatabase(RawDatabase const&) = delete;
    RawDatabase& operator=(RawDatabase const&) = delete;

    // The first column of the first row of `sql`, as text.
    std::string scalar(char const* sql) {
        sqlite3_stmt* stmt = nullptr;
        std::string value = "<error>";
        if (sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW)
            value = reinterpret_cast<char const*>(sqlite3_column_text(stmt, 0));
        sqlite3_finalize(stmt);
        return value;
    }
    void exec(char const* sql) {
        if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) ADD_FAILURE() << sqlite3_errmsg(db_);
    }

private:
    sqlite3* db_ = nullptr;
};

TEST(SqliteMetaStore, NewDatabaseIsInWalModeAtTheLatestSchemaVersion) {
    test::TempDir dir;
    net::thread_pool pool(1);
    auto store = SqliteMetaStore::open(dir.path() / "onda.db", pool);
    ASSERT_TRUE(store) << store.error().message();
    RawDatabase raw(dir.path() / "onda.db");
    EXPECT_EQ(raw.scalar("PRAGMA journal_mode"), "wal");
    EXPECT_EQ(raw.scalar("PRAGMA user_version"), std::to_string(migrations::sqlite_steps().size()));
    EXPECT_EQ(raw.scalar("SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name LIKE 'media_%'"), "2");
}

TEST(SqliteMetaStore, MediaFromBeforeJobsExistedAreQueuedForTranscoding) {
    test::TempDir dir;
    {  // a database at schema version 2, with one ready and one pending media row
        RawDatabase raw(dir.path() / "onda.db");
        auto steps = migrations::sqlite_steps();
        raw.exec(std::string(steps[0]).c_str());
        raw.exec(std::string(steps[1]).c_str());
        raw.exec("PRAGMA user_version = 2");
        for (auto const* row : {"('m_AAAAAAAAAAAAAAAAAAA1', 'ready')", "('m_AAAAAAAAAAAAAAAAAAA2', 'pending')"}) {
            std::string const insert =
                std::string(
                    "INSERT INTO media (id, state, title, filename, owner, visibility, source, kind, "
                    "content_type, size, sha256, duration, bit_rate, format, audio, video, metadata, "
                    "created_at, transcode_state, transcode_progress) SELECT column1, column2, 't', 'f', "
                    "'alice', 'public', 'upload', 'audio', 'audio/wav', 1, 'x', 1.0, 1, 'wav', 'null', "
                    "'null', '{}', 42, 'none', 0 FROM (VALUES ") +
                row + ")";
            raw.exec(insert.c_str());
        }
    }
    net::thread_pool pool(1);
    auto store = SqliteMetaStore::open(dir.path() / "onda.db", pool);
    ASSERT_TRUE(store) << store.error().message();
    auto job = run_alone((*store)->find_transcode_job("m_AAAAAAAAAAAAAAAAAAA1"));
    ASSERT_TRUE(job) << job.error().message();
    EXPECT_EQ(job->id, "j_AAAAAAAAAAAAAAAAAAA1");
    EXPECT_EQ(job->state, "queued");
    EXPECT_EQ(to_unix_micros(job->created_at), 42);
    auto media = run_alone((*store)->find_media("m_AAAAAAAAAAAAAAAAAAA1"));
    ASSERT_TRUE(media);
    EXPECT_EQ(media->transcode_state, "queued");
    EXPECT_TRUE(media->renditions.empty());
    EXPECT_FALSE(media->has_hls);
    EXPECT_FALSE(run_alone((*store)->find_transcode_job("m_AAAAAAAAAAAAAAAAAAA2")));
}

TEST(SqliteMetaStore, ADatabaseFromBeforePlaybackStateGetsItsTable) {
    test::TempDir dir;
    {  // a database at schema version 3
        RawDatabase raw(dir.path() / "onda.db");
        auto steps = migrations::sqlite_steps();
        for (std::size_t i = 0; i < 3; ++i) raw.exec(std::string(steps[i]).c_str());
        raw.exec("PRAGMA user_version = 3");
    }
    net::thread_pool pool(1);
    auto store = SqliteMetaStore::open(dir.path() / "onda.db", pool);
    ASSERT_TRUE(store) << store.error().message();
    auto none = run_alone((*store)->find_playback("alice"));
    ASSERT_TRUE(none) << none.error().message();
    EXPECT_FALSE(*none);
    PlaybackRecord state{.user = "alice", .track_id = "m_x", .quality = "192k", .version = 1};
    EXPECT_TRUE(run_alone((*store)->save_playback(state)).value());
    RawDatabase raw(dir.path() / "onda.db");
    EXPECT_EQ(raw.scalar("PRAGMA user_version"), "4");
    EXPECT_EQ(raw.scalar("SELECT track_id FROM playback WHERE user = 'alice'"), "m_x");
}

TEST(SqliteMetaStore, DatabaseFromANewerOndaIsRefused) {
    test::TempDir dir;
    net::thread_pool pool(1);
    {
        RawDatabase raw(dir.path() / "onda.db");
        raw.exec("PRAGMA user_version = 999");
    }
    auto store = SqliteMetaStore::open(dir.path() / "onda.db", pool);
    ASSERT_FALSE(store);
    EXPECT_EQ(store.error().code(), Errc::internal);
    EXPECT_NE(store.error().message().find("999"), std::string::npos) << store.error().message();
}

TEST(SqliteMetaStore, FileThatIsNotADatabaseIsRefused) {
    test::TempDir dir;
    net::thread_pool pool(1);
    std::ofstream(dir.path() / "onda.db") << std::string(4096, 'x');
    EXPECT_FALSE(SqliteMetaStore::open(dir.path() / "onda.db", pool));
}

TEST(SqliteMetaStore, MissingDirectoryIsAnError) {
    test::TempDir dir;
    net::thread_pool pool(1);
    EXPECT_FALSE(SqliteMetaStore::open(dir.path() / "missing" / "onda.db", pool));
}

}  // namespace
}  // namespace onda::storage
