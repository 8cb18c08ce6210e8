// The MetaStore implementations every contract suite runs against. Each backend's open() returns a
// new store (a new connection) on the same database, so a test can also play two processes.
#pragma once

#include <memory>

#include <boost/asio/thread_pool.hpp>
#include <gtest/gtest.h>

#include "storage/meta_store.hpp"
#include "storage/sqlite_meta_store.hpp"
#include "support/temp_dir.hpp"

namespace onda::storage::test {

// A SQLite file in a temp dir.
struct SqliteBackend {
    onda::test::TempDir dir;
    net::thread_pool pool{4};
    std::unique_ptr<MetaStore> open() { return SqliteMetaStore::open(dir.path() / "onda.db", pool).value(); }
};

using MetaStoreBackends = ::testing::Types<SqliteBackend>;

}  // namespace onda::storage::test
