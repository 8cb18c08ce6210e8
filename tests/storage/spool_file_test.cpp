#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

#include "storage/local_blob_store.hpp"
#include "storage/spool_file.hpp"
#include "support/temp_dir.hpp"

namespace onda::storage {
namespace {

namespace fs = std::filesystem;

std::string contents(fs::path const& file) {
    std::ifstream in(file, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(SpoolFile, CreateMakesAnEmptyFileInTheDirectory) {
    test::TempDir dir;
    auto spool = SpoolFile::create(dir.path());
    ASSERT_TRUE(spool) << spool.error().message();
    EXPECT_EQ(spool->path().parent_path(), dir.path());
    EXPECT_TRUE(fs::is_regular_file(spool->path()));
    EXPECT_EQ(fs::file_size(spool->path()), 0u);
    EXPECT_EQ(spool->size(), 0u);
}

TEST(SpoolFile, EachFileHasItsOwnName) {
    test::TempDir dir;
    auto first = SpoolFile::create(dir.path()).value();
    auto second = SpoolFile::create(dir.path()).value();
    EXPECT_NE(first.path(), second.path());
}

TEST(SpoolFile, CreateInAMissingDirectoryIsNotFound) {
    test::TempDir dir;
    auto spool = SpoolFile::create(dir.path() / "missing");
    ASSERT_FALSE(spool);
    EXPECT_EQ(spool.error().code(), Errc::not_found);
}

TEST(SpoolFile, WritesAppendAndSizeCountsEveryByte) {
    test::TempDir dir;
    auto spool = SpoolFile::create(dir.path()).value();
    std::string big(3 * 1024 * 1024 + 17, '\0');  // several MiB: more than one write(2) may take at once
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
    ASSERT_TRUE(spool.write("head:"));
    ASSERT_TRUE(spool.write(""));
    ASSERT_TRUE(spool.write(big));
    ASSERT_TRUE(spool.sync());
    EXPECT_EQ(spool.size(), 5 + big.size());
    EXPECT_EQ(contents(spool.path()), "head:" + big);
}

TEST(SpoolFile, DestructorRemovesTheFile) {
    test::TempDir dir;
    fs::path path;
    {
        auto spool = SpoolFile::create(dir.path()).value();
        ASSERT_TRUE(spool.write("partial upload"));
        path = spool.path();
        ASSERT_TRUE(fs::exists(path));
    }
    EXPECT_FALSE(fs::exists(path));
}

TEST(SpoolFile, ReleaseKeepsTheFile) {
    test::TempDir dir;
    fs::path path;
    {
        auto spool = SpoolFile::create(dir.path()).value();
        ASSERT_TRUE(spool.write("kept"));
        spool.release();
        path = spool.path();
    }
    EXPECT_EQ(contents(path), "kept");
}

TEST(SpoolFile, MovingHandsOverTheFile) {
    test::TempDir dir;
    fs::path path;
    {
        auto original = SpoolFile::create(dir.path()).value();
        ASSERT_TRUE(original.write("abc"));
        path = original.path();
        {
            SpoolFile moved(std::move(original));
            EXPECT_EQ(moved.path(), path);
            EXPECT_EQ(moved.size(), 3u);
            ASSERT_TRUE(moved.write("d"));
        }
        EXPECT_FALSE(fs::exists(path));  // the new owner removed it
    }
    EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 0);
}

TEST(SpoolFile, MoveAssignmentRemovesTheReplacedFile) {
    test::TempDir dir;
    auto target = SpoolFile::create(dir.path()).value();
    auto source = SpoolFile::create(dir.path()).value();
    fs::path const replaced = target.path();
    fs::path const kept = source.path();
    target = std::move(source);
    EXPECT_FALSE(fs::exists(replaced));
    EXPECT_TRUE(fs::exists(kept));
    EXPECT_EQ(target.path(), kept);
}

TEST(SpoolFile, CommitsToTheBlobStoreByRename) {
    test::TempDir dir;
    fs::create_directory(dir.path() / "spool");
    auto store = LocalBlobStore::open(dir.path() / "blobs").value();
    auto spool = SpoolFile::create(dir.path() / "spool").value();
    ASSERT_TRUE(spool.write("uploaded bytes"));
    ASSERT_TRUE(spool.sync());
    ASSERT_TRUE(store->put_file("media/m_1/original", spool.path()));
    spool.release();
    EXPECT_EQ(contents(dir.path() / "blobs" / "media" / "m_1" / "original"), "uploaded bytes");
    EXPECT_TRUE(fs::is_empty(dir.path() / "spool"));
}

TEST(ClearSpoolDirectory, RemovesEveryEntryAndKeepsTheDirectory) {
    test::TempDir dir;
    auto left = SpoolFile::create(dir.path()).value();
    left.release();  // as a crash would leave it
    std::ofstream(dir.path() / "stray") << "x";
    fs::create_directories(dir.path() / "sub" / "deeper");
    std::ofstream(dir.path() / "sub" / "deeper" / "file") << "y";
    ASSERT_TRUE(clear_spool_directory(dir.path()));
    EXPECT_TRUE(fs::is_directory(dir.path()));
    EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST(ClearSpoolDirectory, EmptyDirectoryIsFine) {
    test::TempDir dir;
    EXPECT_TRUE(clear_spool_directory(dir.path()));
}

TEST(ClearSpoolDirectory, MissingDirectoryIsNotFound) {
    test::TempDir dir;
    auto cleared = clear_spool_directory(dir.path() / "missing");
    ASSERT_FALSE(cleared);
    EXPECT_EQ(cleared.error().code(), Errc::not_found);
}

}  // namespace
}  // namespace onda::storage
