// Carries a request body to an upload's file: the request reads into this object's buffers, and
// the blocking pool writes what arrived to the file and hashes it, the two at once, as soon as the
// previous write is done. The receiving thread neither copies the bytes to the disk nor spends a
// core-second per ~1.8 GB on SHA-256, and the disk is never idle while bytes wait: a fast client's
// bytes go out in large writes, a slow or pausing client's as they come (so HEAD and the progress
// events follow a stalled PATCH to its last byte).
//
// The two buffers are aligned, and the first byte is placed at the writer's buffer_offset(), so
// every byte's address lines up with its place in the file and whole blocks skip the page cache.
//
// Use: space() for where to read, commit(n) for what was read into it, finish() at the end. The
// writer and the digests must outlive finish() (a pending job holds pointers to them).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/thread_pool.hpp>

#include "core/error.hpp"
#include "core/task.hpp"
#include "storage/upload_files.hpp"
#include "uploads/digest.hpp"

namespace onda::uploads::detail {

class BackgroundWrites {
public:
    // Each of the two buffers; a whole number of blocks.
    static constexpr std::size_t buffer_bytes = 1024 * 1024;

    // Called on the request's executor each time more bytes are in the file: how many in all.
    using WrittenFn = std::function<void(std::uint64_t written)>;

    // `pool` outlives this object; either digest may be null.
    BackgroundWrites(net::any_io_executor executor, net::thread_pool& pool, storage::UploadWriter& writer,
                     Digest* first, Digest* second, WrittenFn on_written);
    BackgroundWrites(BackgroundWrites const&) = delete;
    BackgroundWrites& operator=(BackgroundWrites const&) = delete;

    // Where the next bytes go: the free rest of the current buffer, once the pool is done with what
    // it held before. Empty after a failed write.
    Task<std::span<char>> space();
    // `n` bytes were read into the start of the last space(); they are written as soon as possible.
    void commit(std::size_t n);
    // Waits until everything committed is written and hashed, or a write failed: its error. After
    // a failure later bytes are dropped, and the digests have seen bytes that are not in the file.
    Task<std::optional<Error>> finish();

    std::optional<Error> const& failure() const;

    struct State;  // the .cpp's

private:
    std::shared_ptr<State> state_;  // shared with the jobs in flight, so a late completion finds it
};

}  // namespace onda::uploads::detail
