// How the server hands a job to a child started ahead of need (detail::SpareChild) and how the
// child (`onda-media probe|convert --await-job`) takes it: one datagram on a Unix socket (the
// child's standard input) with the job's text and the media's open descriptor. Both halves live
// here so that they cannot drift apart.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace onda::media {

// Sends `text` with a copy of `fd`; does not block (a child that cannot take it now is no use).
Result<void> send_job(int socket, std::string_view text, int fd);

struct ReceivedJob {
    std::string text;
    std::filesystem::path file;  // the descriptor that came with it, as /proc/self/fd/N
};
// Waits for the one job. cancelled when the socket closed without one (the server had no more use
// for this child); invalid_argument for a message that is not a job.
Result<ReceivedJob> receive_job(int socket);

}  // namespace onda::media
