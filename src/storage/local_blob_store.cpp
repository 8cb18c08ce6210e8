#include "storage/local_blob_store.hpp"

#include <cerrno>
#include <limits>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/unique_fd.hpp"
#include "storage/detail/posix_error.hpp"

namespace onda::storage {
namespace {

namespace fs = std::filesystem;
using detail::errno_error;

Error invalid_key() { return Error(Errc::invalid_argument, "invalid blob key"); }

SystemTime modified_time(struct stat const& st) {
    auto const since_epoch = std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec);
    return SystemTime(std::chrono::duration_cast<SystemTime::duration>(since_epoch));
}

// An object on disk. It keeps the descriptor of the file it opened, so a later put_file() that renames a new
// file over the key does not change what this reader sees.
class LocalBlobReader final : public BlobReader {
public:
    LocalBlobReader(UniqueFd fd, struct stat const& st)
        : fd_(std::move(fd)), size_(static_cast<std::uint64_t>(st.st_size)), modified_(modified_time(st)) {}

    std::uint64_t size() const override { return size_; }
    SystemTime modified() const override { return modified_; }
    int native_handle() const override { return fd_.get(); }

    Result<std::size_t> read_at(std::uint64_t offset, std::span<char> out) override {
        if (offset > static_cast<std::uint64_t>(std::numeric_limits<off_t>::max()))
            return Error(Errc::out_of_range, "read offset past the largest file offset");
        for (;;) {
            ssize_t const n = ::pread(fd_.get(), out.data(), out.size(), static_cast<off_t>(offset));
            if (n >= 0) return static_cast<std::size_t>(n);
            if (errno != EINTR) return errno_error(errno, "read blob");
        }
    }

private:
    UniqueFd fd_;
    std::uint64_t size_;
    SystemTime modified_;
};

Result<void> sync_file(fs::path const& file) {
    UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.is_open()) return errno_error(errno, "open " + file.string());
    if (::fsync(fd.get()) != 0) return errno_error(errno, "fsync " + file.string());
    return ok();
}

// Makes a directory entry (a new file or subdirectory) in `directory` durable.
Result<void> sync_directory(fs::path const& directory) {
    UniqueFd fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.is_open()) return errno_error(errno, "open directory " + directory.string());
    if (::fsync(fd.get()) != 0) return errno_error(errno, "fsync directory " + directory.string());
    return ok();
}

Error collides_with(std::string_view key) {
    return Error(Errc::conflict, "blob key " + std::string(key) + " collides with an existing object or prefix");
}

// Creates the directories above `key` one level at a time and syncs the parent of each one it creates, so the
// path to the object survives a crash as well as the object itself.
Result<void> create_parent_directories(fs::path const& root, std::string_view key) {
    fs::path directory = root;
    for (std::size_t slash = key.find('/'); slash != std::string_view::npos; slash = key.find('/', slash + 1)) {
        fs::path const parent = directory;
        directory = root / key.substr(0, slash);
        if (::mkdir(directory.c_str(), 0755) == 0) {
            if (auto synced = sync_directory(parent); !synced) return synced;
        } else if (errno == ENOTDIR) {
            return collides_with(key);  // a shorter key already names an object
        } else if (errno != EEXIST) {
            return errno_error(errno, "create directory " + directory.string());
        }
    }
    return ok();
}

}  // namespace

Result<std::unique_ptr<LocalBlobStore>> LocalBlobStore::open(std::filesystem::path root) {
    std::error_code ec;
    root = fs::absolute(root, ec);
    if (!ec) fs::create_directories(root, ec);
    if (ec) return errno_error(ec.value(), "create blob root " + root.string());
    return std::unique_ptr<LocalBlobStore>(new LocalBlobStore(std::move(root)));
}

Result<void> LocalBlobStore::put_file(std::string_view key, std::filesystem::path const& source) {
    if (!is_valid_key(key)) return invalid_key();
    // The bytes must be on disk before the name points at them, or a crash could expose an empty object.
    if (auto synced = sync_file(source); !synced) return synced.error().context("put blob " + std::string(key));
    if (auto created = create_parent_directories(root_, key); !created)
        return created.error().context("put blob " + std::string(key));
    fs::path const target = root_ / key;
    if (::rename(source.c_str(), target.c_str()) != 0) {
        int const err = errno;
        if (err == ENOTDIR || err == EISDIR) return collides_with(key);
        if (err == EXDEV)
            return Error(Errc::internal, "put blob " + std::string(key) + ": " + source.string() +
                                             " is not on the blob store's filesystem");
        return errno_error(err, "put blob " + std::string(key));
    }
    if (auto synced = sync_directory(target.parent_path()); !synced)
        return synced.error().context("put blob " + std::string(key));
    return ok();
}

Result<std::unique_ptr<BlobReader>> LocalBlobStore::open(std::string_view key) {
    if (!is_valid_key(key)) return invalid_key();
    fs::path const file = root_ / key;
    UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.is_open()) return errno_error(errno, "open blob " + std::string(key));
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return errno_error(errno, "stat blob " + std::string(key));
    // A directory is a prefix of other keys, not an object.
    if (!S_ISREG(st.st_mode)) return Error(Errc::not_found, "open blob " + std::string(key) + ": not an object");
    return std::unique_ptr<BlobReader>(std::make_unique<LocalBlobReader>(std::move(fd), st));
}

Result<bool> LocalBlobStore::exists(std::string_view key) {
    if (!is_valid_key(key)) return invalid_key();
    fs::path const file = root_ / key;
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) return false;
        return errno_error(errno, "stat blob " + std::string(key));
    }
    return S_ISREG(st.st_mode);
}

Result<void> LocalBlobStore::remove_all(std::string_view prefix) {
    if (!is_valid_key(prefix)) return invalid_key();
    std::error_code ec;
    fs::remove_all(root_ / prefix, ec);
    // ENOTDIR: a shorter key is an object, so nothing lies below this prefix.
    if (ec && ec != std::errc::not_a_directory) return errno_error(ec.value(), "remove " + std::string(prefix));
    return ok();
}

Result<void> LocalBlobStore::ping() {
    struct stat st {};
    if (::stat(root_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || ::access(root_.c_str(), W_OK) != 0)
        return Error(Errc::unavailable, "blob root " + root_.string() + " is not a writable directory");
    return ok();
}

}  // namespace onda::storage
