#include "storage/upload_files.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <random>

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

// Bytes of `size` at an address 4096-aligned plus `shift`.
struct PlacedBytes {
    PlacedBytes(std::string_view bytes, std::size_t shift)
        : block(static_cast<char*>(std::aligned_alloc(4096, (bytes.size() + shift + 4095) / 4096 * 4096 + 4096))) {
        std::copy(bytes.begin(), bytes.end(), block.get() + shift);
        view = std::string_view(block.get() + shift, bytes.size());
    }
    struct Free {
        void operator()(char* p) const { std::free(p); }
    };
    std::unique_ptr<char, Free> block;
    std::string_view view;
};

TEST_F(UploadFilesTest, WritesOfAnyAlignmentAndSizeAppendTheirBytesInOrder) {
    // Aligned whole blocks skip the page cache, the rest goes through it: the file must not care.
    ASSERT_TRUE(files.create("u_1"));
    std::mt19937 random(7);
    std::string expected;
    std::uint64_t offset = 0;
    std::size_t const sizes[] = {1, 4095, 4096, 4097, 3 * 4096 + 17, 65536, 100'000, 8192, 5, 1 << 20, 12'345};
    for (int patch = 0; patch < 4; ++patch) {
        auto writer = files.open_writer("u_1", offset, false).value();
        for (std::size_t i = 0; i < std::size(sizes); ++i) {
            std::string bytes(sizes[(i + patch) % std::size(sizes)], '\0');
            for (auto& byte : bytes) byte = static_cast<char>(random());
            // Most writes lined up as the tus server places them; every third one deliberately not.
            std::size_t const shift = i % 3 == 2 ? (writer.buffer_offset() + 100) % 4096 : writer.buffer_offset();
            PlacedBytes placed(bytes, shift);
            auto written = writer.write(placed.view);
            ASSERT_TRUE(written) << written.error().message();
            expected += bytes;
        }
        ASSERT_TRUE(writer.sync());
        offset += writer.written();
        ASSERT_EQ(files.size("u_1").value(), expected.size());
    }
    EXPECT_TRUE(read_file(files.data_path("u_1")) == expected);
}

// Whether the pages of `path` from `from` to its end are in the page cache (mincore(2)), one per page.
std::vector<bool> cached_pages(std::filesystem::path const& path, std::uint64_t from) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    auto const size = std::filesystem::file_size(path);
    void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    std::size_t const page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    std::vector<unsigned char> residency((size + page - 1) / page);
    ::mincore(map, size, residency.data());
    ::munmap(map, size);
    std::vector<bool> cached;
    for (std::size_t i = from / page; i < residency.size(); ++i) cached.push_back(residency[i] & 1);
    return cached;
}

TEST_F(UploadFilesTest, LinedUpWholeBlocksDoNotGoThroughThePageCache) {
    ASSERT_TRUE(files.create("u_1"));
    // Where the file system has no O_DIRECT (tmpfs), everything is cached and this cannot be seen.
    int const probe = ::open(files.data_path("u_1").c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC);
    bool const uncached_possible = probe >= 0;
    if (probe >= 0) ::close(probe);
    auto writer = files.open_writer("u_1", 0, false).value();
    ASSERT_TRUE(writer.write(std::string(1000, 'a')));      // a partial first block, cached
    std::string const middle(3096 + 16 * 4096 + 500, 'b');  // the first block's rest, 16 blocks, a tail
    PlacedBytes placed(middle, writer.buffer_offset());
    ASSERT_TRUE(writer.write(placed.view));
    ASSERT_TRUE(writer.sync());
    std::uint64_t const first_uncached = 4096;  // the first block holds bytes of both writes
    auto const cached = cached_pages(files.data_path("u_1"), first_uncached);  // before reading it back
    EXPECT_EQ(read_file(files.data_path("u_1")), std::string(1000, 'a') + middle);
    ASSERT_EQ(cached.size(), 17u);  // 16 whole blocks written past the cache, then the tail
    if (!uncached_possible) {
        std::cout << "this file system has no O_DIRECT: every page went through the cache\n";
        return;
    }
    for (std::size_t i = 0; i + 1 < cached.size(); ++i) EXPECT_FALSE(cached[i]) << "block " << i + 1;
}

}  // namespace
}  // namespace onda::storage
