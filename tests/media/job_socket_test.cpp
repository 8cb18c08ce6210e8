// The job a waiting child is handed: its text and the media's descriptor in one datagram, and the
// probe job's text both ways.
#include "media/job_socket.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

#include "core/unique_fd.hpp"
#include "media/prober.hpp"
#include "support/temp_dir.hpp"

namespace onda::media {
namespace {

using namespace std::chrono_literals;

struct SocketPair {
    SocketPair() {
        int ends[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends), 0);
        server.reset(ends[0]);
        child.reset(ends[1]);
    }
    UniqueFd server;
    UniqueFd child;
};

TEST(JobSocket, TheJobArrivesWithItsFile) {
    test::TempDir dir;
    auto const path = dir.path() / "media.bin";
    std::ofstream(path) << "the bytes";
    UniqueFd const file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(file.is_open());
    SocketPair pair;
    ASSERT_TRUE(send_job(pair.server.get(), "the job", file.get()));
    auto received = receive_job(pair.child.get());
    ASSERT_TRUE(received) << received.error().message();
    EXPECT_EQ(received->text, "the job");
    std::ifstream in(received->file);
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "the bytes");
}

TEST(JobSocket, AClosedSocketWithoutAJobIsCancelled) {
    SocketPair pair;
    pair.server.reset();
    auto received = receive_job(pair.child.get());
    ASSERT_FALSE(received);
    EXPECT_EQ(received.error().code(), Errc::cancelled);
}

TEST(JobSocket, AChildThatIsGoneCannotBeHandedAJob) {
    SocketPair pair;
    pair.child.reset();
    auto sent = send_job(pair.server.get(), "the job", STDIN_FILENO);
    ASSERT_FALSE(sent);
    EXPECT_EQ(sent.error().code(), Errc::unavailable);
}

TEST(ProbeJob, ReadsBackWhatWasWritten) {
    ProbeJob const job{.limits = {.timeout = 1500ms, .max_bytes = 123456}, .name = "talk.wav"};
    auto decoded = decode_probe_job(encode_probe_job(job));
    ASSERT_TRUE(decoded) << decoded.error().message();
    EXPECT_EQ(decoded->limits.timeout, 1500ms);
    EXPECT_EQ(decoded->limits.max_bytes, 123456u);
    EXPECT_EQ(decoded->name, "talk.wav");
    EXPECT_FALSE(decode_probe_job(R"({"timeout_ms":0,"max_bytes":1,"name":"a"})"));
    EXPECT_FALSE(decode_probe_job("not json"));
}

}  // namespace
}  // namespace onda::media
