// The bytes of unfinished resumable uploads: one file per upload, named by its id, in a directory
// under the data dir. Bytes are only ever appended, so the file's size is the upload's offset: after
// a crash (kill -9) every byte that write(2) took is still there, and nothing else is.
//
// A chunk that must be verified before it counts (tus `Upload-Checksum`) is written to a staging
// file `{id}.chunk` first and appended to the data file only once its digest matched, so a crash in
// the middle of it leaves the data file as it was. Staging files left by a crash are removed when
// the directory is opened.
//
// Writes into the data file skip the page cache where they can (O_DIRECT): copying an upload into
// the page cache cost more CPU than anything else it did, on the receiving thread (see
// docs/benchmarks.md). Whole 4 KiB blocks whose address in memory lines up with their place in the
// file (`uncached_alignment`; see `buffer_offset()`) go to the disk directly; the unaligned ends of a
// write, staged chunks, and file systems without O_DIRECT (tmpfs) go through the page cache. A block
// is always written one way only, so the two never overlap.
//
// Everything here blocks (filesystem calls and disk writes): call it from the blocking pool.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "storage/spool_file.hpp"

namespace onda::storage {

// Appends to one upload, either straight into its data file or into its staging file.
class UploadWriter {
public:
    UploadWriter(UploadWriter&& other) noexcept;
    UploadWriter& operator=(UploadWriter&&) = delete;
    UploadWriter(UploadWriter const&) = delete;
    UploadWriter& operator=(UploadWriter const&) = delete;
    // A staged chunk that was not committed is discarded.
    ~UploadWriter();

    // Appends all of `bytes`, or none of them: a failed write is cut back off the file.
    // insufficient_storage when the disk is full or failing.
    Result<void> write(std::string_view bytes);
    // Where in a buffer aligned to `uncached_alignment` the next byte to write should be placed so
    // that the whole blocks after it can skip the page cache.
    std::size_t buffer_offset() const { return (offset_ + written_) % uncached_alignment; }
    // Bytes appended by this writer so far.
    std::uint64_t written() const { return written_; }
    // Direct writers: nothing to do. Staged writers: appends the chunk to the data file (in the
    // kernel, copy_file_range) and removes the staging file.
    Result<void> commit();
    // fdatasync(2) of the data file, so what was written survives a power loss too.
    Result<void> sync();
    // Direct writers: cuts what this writer appended back off the data file (after a failed sync,
    // whose pages the kernel may have dropped). Staged writers: drops the chunk.
    void roll_back();

    static constexpr std::size_t uncached_alignment = 4096;

private:
    friend class UploadFiles;
    UploadWriter(int data_fd, int chunk_fd, std::filesystem::path chunk_path, std::uint64_t offset);
    void discard_chunk();
    // Writes `bytes` at `at` in the data file, its aligned whole blocks past the page cache.
    int write_data(std::string_view bytes, std::uint64_t at);
    void stop_uncached();

    int data_fd_ = -1;
    int uncached_fd_ = -1;  // the data file opened with O_DIRECT; -1 when the file system refused it
    int chunk_fd_ = -1;     // -1: direct
    std::filesystem::path chunk_path_;
    std::uint64_t offset_ = 0;  // where the data file ends when this writer starts
    std::uint64_t written_ = 0;
    std::uint64_t writeback_started_ = 0;  // of written_, how much was handed to sync_file_range
};

class UploadFiles {
public:
    // Creates the directory if needed and removes staging files a crash left. Blocking.
    static Result<UploadFiles> open(std::filesystem::path directory);

    // A new empty data file; conflict if one exists.
    Result<void> create(std::string_view id) const;
    // The data file's size; not_found if there is none.
    Result<std::uint64_t> size(std::string_view id) const;
    // A writer that appends at `offset`, which must be the data file's size (the caller holds the
    // upload's lock). not_found without a data file, conflict when the size differs.
    Result<UploadWriter> open_writer(std::string_view id, std::uint64_t offset, bool staged) const;
    // A second name for the data file in `spool_directory`, as a SpoolFile the library can commit;
    // the upload's own file stays until remove().
    Result<SpoolFile> link_to_spool(std::string_view id, std::filesystem::path const& spool_directory) const;
    // Removes the data and staging files; a missing file is not an error.
    Result<void> remove(std::string_view id) const;

    std::filesystem::path data_path(std::string_view id) const;
    std::filesystem::path const& directory() const { return directory_; }

private:
    explicit UploadFiles(std::filesystem::path directory) : directory_(std::move(directory)) {}
    Result<void> sync_directory() const;
    std::filesystem::path directory_;
};

}  // namespace onda::storage
