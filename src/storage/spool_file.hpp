// A temporary file that an upload streams into before it is checked and committed to the BlobStore.
// It lives in a spool directory under the data dir (so commit is a rename), and is removed when the
// SpoolFile is destroyed unless release() was called. The spool directory is emptied at start-up,
// so nothing a crash leaves there survives.
//
// Blocking (filesystem). Writes of a few hundred KiB land in the page cache and are cheap enough to
// make from an I/O thread; sync() is the slow part and belongs on the blocking pool.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>

#include "core/error.hpp"

namespace onda::storage {

class SpoolFile {
public:
    // Creates a new empty file in `directory` (which must exist).
    static Result<SpoolFile> create(std::filesystem::path const& directory);
    // A new name in `directory` (which must be on the same file system) for the existing file
    // `source`, via link(2): the SpoolFile owns the new name only, `source` stays.
    static Result<SpoolFile> link_from(std::filesystem::path const& source, std::filesystem::path const& directory);

    SpoolFile(SpoolFile&& other) noexcept;
    SpoolFile& operator=(SpoolFile&& other) noexcept;
    SpoolFile(SpoolFile const&) = delete;
    SpoolFile& operator=(SpoolFile const&) = delete;
    ~SpoolFile();

    // Appends all of `bytes`. insufficient_storage on ENOSPC/EDQUOT/EIO, internal otherwise.
    Result<void> write(std::string_view bytes);
    // fsync(2).
    Result<void> sync();
    std::uint64_t size() const { return size_; }
    std::filesystem::path const& path() const { return path_; }
    // Closes the descriptor and forgets the file: the caller has moved it (e.g. BlobStore::put_file).
    void release();

private:
    SpoolFile(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
    void discard();
    int fd_ = -1;
    std::filesystem::path path_;
    std::uint64_t size_ = 0;
};

// Removes every file in `directory` (called once at start-up, before anything spools).
Result<void> clear_spool_directory(std::filesystem::path const& directory);

}  // namespace onda::storage
