// BlobStore: where the bytes of media live. Keys are '/'-separated paths of [A-Za-z0-9._-] segments
// ("media/m_…/original"); a segment may not be "." or "..", and keys never start or end with '/'.
// Every method blocks (filesystem or network); call it through offload() from an I/O thread.
//
// Writes are atomic: put_file() makes an object appear whole or not at all.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"

namespace onda::storage {

// An open object. A reader may be used from one thread at a time.
class BlobReader {
public:
    virtual ~BlobReader() = default;
    virtual std::uint64_t size() const = 0;
    virtual SystemTime modified() const = 0;
    // A file descriptor for sendfile(2), or -1 when the object is not a local file. The reader owns it.
    virtual int native_handle() const = 0;
    // Reads up to out.size() bytes at `offset`; 0 only at the end. Blocks.
    virtual Result<std::size_t> read_at(std::uint64_t offset, std::span<char> out) = 0;
};

class BlobStore {
public:
    virtual ~BlobStore() = default;

    // Moves the local file `source` in as `key` (fsync first; replaces an existing key atomically).
    // `source` is consumed: on success it no longer exists. insufficient_storage on ENOSPC/EIO.
    virtual Result<void> put_file(std::string_view key, std::filesystem::path const& source) = 0;

    // not_found when the key does not exist.
    virtual Result<std::unique_ptr<BlobReader>> open(std::string_view key) = 0;

    virtual Result<bool> exists(std::string_view key) = 0;

    // Removes `prefix` itself and every key below "prefix/". Removing nothing is not an error.
    virtual Result<void> remove_all(std::string_view prefix) = 0;

    // Checks the store answers (for /readyz).
    virtual Result<void> ping() = 0;
};

// True for keys of the shape described above.
bool is_valid_key(std::string_view key);

}  // namespace onda::storage
