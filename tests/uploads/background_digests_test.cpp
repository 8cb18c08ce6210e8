#include "uploads/detail/background_digests.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

namespace onda::uploads::detail {
namespace {

// Feeds `pieces` the way the tus server does (wait, then feed the next) and returns both digests.
Task<std::pair<std::string, std::string>> hash_in_background(net::thread_pool& pool,
                                                             std::vector<std::string> pieces) {  // pool outlives it
    Digest sha256(DigestAlgorithm::sha256);
    Digest md5(DigestAlgorithm::md5);
    BackgroundDigests hashing(co_await net::this_coro::executor, pool, &sha256, &md5);
    for (auto const& piece : pieces) {
        co_await hashing.wait();
        hashing.feed(piece);
    }
    co_await hashing.wait();
    co_return std::pair{sha256.finish_hex(), md5.finish_hex()};
}

TEST(BackgroundDigests, HashesWhatWasFedInOrder) {
    net::thread_pool pool(2);
    boost::asio::io_context context;
    std::vector<std::string> pieces;
    std::string whole;
    for (int i = 0; i < 200; ++i) {
        pieces.push_back(std::string(1000 + i * 37, static_cast<char>('a' + i % 26)));
        whole += pieces.back();
    }
    auto task = hash_in_background(pool, pieces);
    auto result = boost::asio::co_spawn(context, std::move(task), boost::asio::use_future);
    context.run();
    auto [sha256, md5] = result.get();
    Digest expected_sha256(DigestAlgorithm::sha256);
    expected_sha256.update(whole);
    Digest expected_md5(DigestAlgorithm::md5);
    expected_md5.update(whole);
    EXPECT_EQ(sha256, expected_sha256.finish_hex());
    EXPECT_EQ(md5, expected_md5.finish_hex());
    pool.join();
}

}  // namespace
}  // namespace onda::uploads::detail
