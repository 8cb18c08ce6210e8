// Writing to a non-blocking socket without waiting, for as long as it takes bytes: the one loop of
// response_writer (send(2), sendfile(2)) and of the WebSocket's control frames.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <string_view>

namespace onda::http::detail {

// What one system call of write_while_taken() did: its result, and how many bytes it was asked to
// write.
struct WriteStep {
    ssize_t result;
    std::uint64_t asked;
};

// Calls `once(done)` (one system call for what is left after `done` bytes, returning a WriteStep)
// until `total` bytes went or the socket is full: how many went, or nullopt when the peer is gone
// or the call took nothing with bytes left (a file shorter than promised). A call that writes less
// than it was asked means the socket is full: asking again would only get EAGAIN (and sendfile(2)
// would read file pages for nothing first).
template <class Once>
std::optional<std::uint64_t> write_while_taken(std::uint64_t total, Once once) {
    std::uint64_t done = 0;
    while (done < total) {
        WriteStep const step = once(done);
        ssize_t const n = step.result;
        if (n > 0) {
            done += static_cast<std::uint64_t>(n);
            if (static_cast<std::uint64_t>(n) < step.asked) break;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        return std::nullopt;
    }
    return done;
}

// send(2) of `bytes` on `fd` while the socket takes them; `sent(n)` is told of each step.
template <class Sent>
std::optional<std::size_t> send_now(int fd, std::string_view bytes, Sent sent) {
    auto const done = write_while_taken(bytes.size(), [&](std::uint64_t at) {
        ssize_t const n = ::send(fd, bytes.data() + at, bytes.size() - at, MSG_NOSIGNAL);
        if (n > 0) sent(static_cast<std::size_t>(n));
        return WriteStep{n, bytes.size() - at};
    });
    if (!done) return std::nullopt;
    return static_cast<std::size_t>(*done);
}

}  // namespace onda::http::detail
