#include "media/av/convert/byte_sink.hpp"

#include <cerrno>
#include <cstring>

#include <unistd.h>

namespace onda::media::av {
namespace {

constexpr std::size_t buffer_bytes = 64 * 1024;  // a pipe's default capacity

}  // namespace

Result<void> ByteSink::write(std::string_view bytes) {
    if (skip_ > 0) {
        auto const dropped = static_cast<std::size_t>(std::min<std::uint64_t>(skip_, bytes.size()));
        bytes.remove_prefix(dropped);
        skip_ -= dropped;
    }
    buffer_.append(bytes);
    if (buffer_.size() >= buffer_bytes) return flush();
    return ok();
}

Result<void> ByteSink::flush() {
    std::string_view pending = buffer_;
    while (!pending.empty()) {
        ssize_t n = ::write(fd_, pending.data(), pending.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EPIPE) return Error(Errc::cancelled, "the reader went away");
        if (n < 0) return Error(Errc::internal, std::string("write: ") + std::strerror(errno));
        pending.remove_prefix(static_cast<std::size_t>(n));
        written_ += static_cast<std::uint64_t>(n);
    }
    buffer_.clear();
    return ok();
}

}  // namespace onda::media::av
