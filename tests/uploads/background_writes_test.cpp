#include "uploads/detail/background_writes.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include "support/temp_dir.hpp"

namespace onda::uploads::detail {
namespace {

struct Outcome {
    std::string sha256;
    std::string md5;
    std::uint64_t written = 0;        // by the writer
    std::uint64_t last_reported = 0;  // by the last on_written
    std::optional<Error> failure;
};

// Reads `pieces` in the way the tus server reads a body (space, copy, commit) and finishes.
Task<Outcome> write_in_background(net::thread_pool& pool, storage::UploadWriter& writer,
                                  std::vector<std::string> pieces) {  // pool and writer outlive it
    Digest sha256(DigestAlgorithm::sha256);
    Digest md5(DigestAlgorithm::md5);
    Outcome outcome;
    BackgroundWrites writes(co_await net::this_coro::executor, pool, writer, &sha256, &md5,
                            [&outcome](std::uint64_t written) {
                                EXPECT_GT(written, outcome.last_reported);
                                outcome.last_reported = written;
                            });
    for (std::string_view piece : pieces) {
        while (!piece.empty()) {
            std::span<char> space = co_await writes.space();
            if (space.empty()) break;
            std::size_t const n = std::min(space.size(), piece.size());
            std::copy_n(piece.data(), n, space.data());
            writes.commit(n);
            piece.remove_prefix(n);
        }
    }
    outcome.failure = co_await writes.finish();
    outcome.sha256 = sha256.finish_hex();
    outcome.md5 = md5.finish_hex();
    outcome.written = writer.written();
    co_return outcome;
}

Outcome run(storage::UploadWriter& writer, std::vector<std::string> pieces) {
    net::thread_pool pool(2);
    boost::asio::io_context context;
    auto result =
        boost::asio::co_spawn(context, write_in_background(pool, writer, std::move(pieces)), boost::asio::use_future);
    context.run();
    pool.join();
    return result.get();
}

class BackgroundWritesTest : public ::testing::Test {
protected:
    test::TempDir dir;
    storage::UploadFiles files = storage::UploadFiles::open(dir.path() / "uploads").value();
};

TEST_F(BackgroundWritesTest, WritesAndHashesEveryByteInOrderAcrossBothBuffersManyTimes) {
    ASSERT_TRUE(files.create("u_1"));
    {
        auto first = files.open_writer("u_1", 0, false).value();
        ASSERT_TRUE(first.write(std::string(1234, 'x')));  // the body starts mid-block
    }
    auto writer = files.open_writer("u_1", 1234, false).value();
    std::vector<std::string> pieces;
    std::string whole;
    for (int i = 0; i < 300; ++i) {
        pieces.push_back(std::string(1000 + i * 97 + (i % 7 == 0 ? 700'000 : 0), static_cast<char>('a' + i % 26)));
        whole += pieces.back();
    }
    ASSERT_GT(whole.size(), 5 * BackgroundWrites::buffer_bytes);
    auto outcome = run(writer, pieces);
    EXPECT_FALSE(outcome.failure);
    EXPECT_EQ(outcome.written, whole.size());
    EXPECT_EQ(outcome.last_reported, whole.size());
    Digest expected_sha256(DigestAlgorithm::sha256);
    expected_sha256.update(whole);
    Digest expected_md5(DigestAlgorithm::md5);
    expected_md5.update(whole);
    EXPECT_EQ(outcome.sha256, expected_sha256.finish_hex());
    EXPECT_EQ(outcome.md5, expected_md5.finish_hex());
    std::ifstream in(files.data_path("u_1"), std::ios::binary);
    EXPECT_TRUE(std::string(std::istreambuf_iterator<char>(in), {}) == std::string(1234, 'x') + whole);
}

TEST_F(BackgroundWritesTest, AFailedWriteIsReportedAndCutOff) {
    ASSERT_TRUE(files.create("u_1"));
    // /dev/full takes no byte: in the data file's place, every write fails.
    auto const path = files.data_path("u_1");
    std::filesystem::remove(path);
    std::filesystem::create_symlink("/dev/full", path);
    auto full = files.open_writer("u_1", 0, false);
    ASSERT_TRUE(full) << full.error().message();
    auto failed = run(*full, {std::string(3 * BackgroundWrites::buffer_bytes, 'z')});
    ASSERT_TRUE(failed.failure);
    EXPECT_EQ(failed.failure->code(), Errc::insufficient_storage) << failed.failure->message();
    EXPECT_EQ(failed.written, 0u);
    EXPECT_EQ(failed.last_reported, 0u);
}

}  // namespace
}  // namespace onda::uploads::detail
