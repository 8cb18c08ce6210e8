#include "media/job_socket.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace onda::media {
namespace {

// A job's text is a few hundred bytes; this bounds what a child reads.
constexpr std::size_t max_job_bytes = 64 * 1024;

// A message with room for one descriptor.
struct Message {
    explicit Message(std::span<char> text) : piece{.iov_base = text.data(), .iov_len = text.size()} {
        header.msg_iov = &piece;
        header.msg_iovlen = 1;
        header.msg_control = control;
        header.msg_controllen = sizeof control;
    }
    Message(Message const&) = delete;
    Message& operator=(Message const&) = delete;

    iovec piece;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr header{};
};

}  // namespace

Result<void> send_job(int socket, std::string_view text, int fd) {
    Message message(std::span<char>(const_cast<char*>(text.data()), text.size()));
    cmsghdr* descriptor = CMSG_FIRSTHDR(&message.header);
    descriptor->cmsg_level = SOL_SOCKET;
    descriptor->cmsg_type = SCM_RIGHTS;
    descriptor->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(descriptor), &fd, sizeof fd);
    ssize_t sent = -1;
    do {
        sent = ::sendmsg(socket, &message.header, MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (sent < 0 && errno == EINTR);
    if (sent == static_cast<ssize_t>(text.size())) return ok();
    int const code = sent < 0 ? errno : EMSGSIZE;
    return Error(Errc::unavailable, std::string("hand a job to a waiting child: ") + std::strerror(code));
}

Result<ReceivedJob> receive_job(int socket) {
    std::string text(max_job_bytes, '\0');
    Message message(text);
    ssize_t got = -1;
    do {
        got = ::recvmsg(socket, &message.header, MSG_CMSG_CLOEXEC);
    } while (got < 0 && errno == EINTR);
    if (got == 0) return Error(Errc::cancelled, "no job came");
    if (got < 0) return Error(Errc::invalid_argument, std::string("reading the job: ") + std::strerror(errno));
    text.resize(static_cast<std::size_t>(got));
    int fd = -1;
    for (cmsghdr* header = CMSG_FIRSTHDR(&message.header); header; header = CMSG_NXTHDR(&message.header, header))
        if (header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_RIGHTS &&
            header->cmsg_len == CMSG_LEN(sizeof(int)))
            std::memcpy(&fd, CMSG_DATA(header), sizeof fd);
    if (fd < 0 || (message.header.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
        return Error(Errc::invalid_argument, "the job came without its file");
    return ReceivedJob{.text = std::move(text), .file = "/proc/self/fd/" + std::to_string(fd)};
}

}  // namespace onda::media
