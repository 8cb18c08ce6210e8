#include "http/detail/nonblocking.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace onda::http::detail {
namespace {

// A socket that answers each call with the next scripted step; counts the calls.
class ScriptedSocket {
public:
    struct Answer {
        ssize_t result;
        int error = 0;  // errno when result < 0
    };

    explicit ScriptedSocket(std::vector<Answer> answers) : answers_(std::move(answers)) {}

    // One call asked to write `asked` bytes.
    WriteStep call(std::uint64_t asked) {
        Answer const answer = calls_ < answers_.size() ? answers_[calls_] : Answer{-1, EAGAIN};
        ++calls_;
        if (answer.result < 0) errno = answer.error;
        return WriteStep{answer.result, asked};
    }

    std::size_t calls() const { return calls_; }

private:
    std::vector<Answer> answers_;
    std::size_t calls_ = 0;
};

TEST(WriteWhileTaken, WritesInStepsUntilEverythingWent) {
    ScriptedSocket socket({{4}, {4}, {2}});
    auto const done =
        write_while_taken(10, [&](std::uint64_t at) { return socket.call(std::min<std::uint64_t>(10 - at, 4)); });
    EXPECT_EQ(done, std::optional<std::uint64_t>(10));
    EXPECT_EQ(socket.calls(), 3u);
}

TEST(WriteWhileTaken, AShortWriteMeansTheSocketIsFullAndEndsTheLoopWithoutAnotherCall) {
    ScriptedSocket socket({{6}, {4}});
    auto const done = write_while_taken(10, [&](std::uint64_t at) { return socket.call(10 - at); });
    EXPECT_EQ(done, std::optional<std::uint64_t>(6));
    EXPECT_EQ(socket.calls(), 1u);  // a second call would only have got EAGAIN
}

TEST(WriteWhileTaken, EagainEndsTheLoopWithWhatWent) {
    ScriptedSocket socket({{4}, {-1, EAGAIN}});
    auto const done =
        write_while_taken(10, [&](std::uint64_t at) { return socket.call(std::min<std::uint64_t>(10 - at, 4)); });
    EXPECT_EQ(done, std::optional<std::uint64_t>(4));
    EXPECT_EQ(socket.calls(), 2u);
}

TEST(WriteWhileTaken, EintrIsRetried) {
    ScriptedSocket socket({{-1, EINTR}, {10}});
    auto const done = write_while_taken(10, [&](std::uint64_t at) { return socket.call(10 - at); });
    EXPECT_EQ(done, std::optional<std::uint64_t>(10));
    EXPECT_EQ(socket.calls(), 2u);
}

TEST(WriteWhileTaken, NothingTakenWithBytesLeftOrAnErrorIsAFailure) {
    ScriptedSocket ended({{0}, {0}});  // sendfile(2) of a file shorter than promised
    EXPECT_EQ(write_while_taken(10, [&](std::uint64_t at) { return ended.call(10 - at); }), std::nullopt);
    ScriptedSocket reset({{-1, ECONNRESET}});
    EXPECT_EQ(write_while_taken(10, [&](std::uint64_t at) { return reset.call(10 - at); }), std::nullopt);
}

TEST(WriteWhileTaken, NothingToWriteMakesNoCall) {
    ScriptedSocket socket(std::vector<ScriptedSocket::Answer>{});
    EXPECT_EQ(write_while_taken(0, [&](std::uint64_t at) { return socket.call(0 - at); }),
              std::optional<std::uint64_t>(0));
    EXPECT_EQ(socket.calls(), 0u);
}

}  // namespace
}  // namespace onda::http::detail
