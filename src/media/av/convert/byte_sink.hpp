// Where a conversion's bytes go: a file descriptor (the child's standard output, a pipe the server
// reads), written in large pieces, after dropping the first `skip` bytes (the part of the first
// block before the offset a Range request asked for).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace onda::media::av {

class ByteSink {
public:
    ByteSink(int fd, std::uint64_t skip) : fd_(fd), skip_(skip) {}

    // Buffers; writes when the buffer is full. cancelled when the reader went away.
    Result<void> write(std::string_view bytes);
    // Writes what is buffered (a reader should see each block as soon as it is made).
    Result<void> flush();
    std::uint64_t written() const { return written_; }  // bytes passed on, after the skip

private:
    int fd_;
    std::uint64_t skip_;
    std::uint64_t written_ = 0;
    std::string buffer_;
};

}  // namespace onda::media::av
