#include "storage/upload_files.hpp"

#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"

namespace onda::storage {
namespace {

std::string read_file(std::filesystem::path const& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

class UploadFilesTest : public ::testing::Test {
protected:
    test::TempDir dir;
    UploadFiles files = UploadFiles::open(dir.path() / "uploads").value();
};

TEST_F(UploadFilesTest, DirectWritesAppendAndTheSizeIsTheOffset) {
    ASSERT_TRUE(files.create("u_1"));
    EXPECT_EQ(files.size("u_1").value(), 0u);
    {
        auto writer = files.open_writer("u_1", 0, false).value();
        ASSERT_TRUE(writer.write("hello "));
        ASSERT_TRUE(writer.write("world"));
        EXPECT_EQ(writer.written(), 11u);
        ASSERT_TRUE(writer.commit());
        ASSERT_TRUE(writer.sync());
    }
    EXPECT_EQ(files.size("u_1").value(), 11u);
    auto writer = files.open_writer("u_1", 11, false).value();
    ASSERT_TRUE(writer.write("!"));
    EXPECT_EQ(read_file(files.data_path("u_1")), "hello world!");
}

TEST_F(UploadFilesTest, DirectBytesStayWithoutCommit) {
    // A PATCH whose client left keeps what arrived.
    ASSERT_TRUE(files.create("u_1"));
    {
        auto writer = files.open_writer("u_1", 0, false).value();
        ASSERT_TRUE(writer.write("partial"));
    }
    EXPECT_EQ(files.size("u_1").value(), 7u);
}

TEST_F(UploadFilesTest, StagedChunkCountsOnlyOnceCommitted) {
    ASSERT_TRUE(files.create("u_1"));
    {
        auto writer = files.open_writer("u_1", 0, true).value();
        ASSERT_TRUE(writer.write("unverified"));
        EXPECT_EQ(files.size("u_1").value(), 0u);
    }  // dropped: a checksum mismatch
    EXPECT_EQ(files.size("u_1").value(), 0u);
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "uploads" / "u_1.chunk"));

    auto writer = files.open_writer("u_1", 0, true).value();
    ASSERT_TRUE(writer.write("verified"));
    ASSERT_TRUE(writer.commit());
    EXPECT_EQ(read_file(files.data_path("u_1")), "verified");
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "uploads" / "u_1.chunk"));
}

TEST_F(UploadFilesTest, RollBackCutsWhatTheWriterAppended) {
    ASSERT_TRUE(files.create("u_1"));
    files.open_writer("u_1", 0, false).value().write("kept").value();
    auto writer = files.open_writer("u_1", 4, false).value();
    ASSERT_TRUE(writer.write(std::string(3 * 1024 * 1024, 'x')));  // past a writeback step
    writer.roll_back();
    EXPECT_EQ(writer.written(), 0u);
    EXPECT_EQ(read_file(files.data_path("u_1")), "kept");
}

TEST_F(UploadFilesTest, WriterAtTheWrongOffsetIsAConflict) {
    ASSERT_TRUE(files.create("u_1"));
    EXPECT_EQ(files.open_writer("u_1", 5, false).error().code(), Errc::conflict);
    EXPECT_EQ(files.open_writer("u_none", 0, false).error().code(), Errc::not_found);
    EXPECT_EQ(files.size("u_none").error().code(), Errc::not_found);
    EXPECT_EQ(files.create("u_1").error().code(), Errc::conflict);
}

TEST_F(UploadFilesTest, OpeningRemovesStagedChunksACrashLeft) {
    ASSERT_TRUE(files.create("u_1"));
    std::ofstream(dir.path() / "uploads" / "u_1.chunk") << "half a chunk";
    auto reopened = UploadFiles::open(dir.path() / "uploads");
    ASSERT_TRUE(reopened);
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "uploads" / "u_1.chunk"));
    EXPECT_TRUE(std::filesystem::exists(dir.path() / "uploads" / "u_1"));
}

TEST_F(UploadFilesTest, LinkToSpoolGivesTheLibraryItsOwnName) {
    ASSERT_TRUE(files.create("u_1"));
    files.open_writer("u_1", 0, false).value().write("media bytes").value();
    std::filesystem::create_directories(dir.path() / "spool");
    {
        auto spool = files.link_to_spool("u_1", dir.path() / "spool");
        ASSERT_TRUE(spool) << spool.error().message();
        EXPECT_EQ(spool->size(), 11u);
        EXPECT_EQ(read_file(spool->path()), "media bytes");
    }  // not released: the spool name goes, the upload's stays
    EXPECT_TRUE(std::filesystem::is_empty(dir.path() / "spool"));
    ASSERT_TRUE(files.remove("u_1"));
    EXPECT_FALSE(std::filesystem::exists(files.data_path("u_1")));
    EXPECT_TRUE(files.remove("u_1"));  // already gone is fine
}

}  // namespace
}  // namespace onda::storage
