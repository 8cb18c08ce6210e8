#include "storage/upload_files.hpp"

#include <algorithm>
#include <cerrno>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/detail/posix_error.hpp"

namespace onda::storage {
namespace {

constexpr std::string_view chunk_suffix = ".chunk";
constexpr std::uint64_t writeback_step_bytes = 1024 * 1024;

Result<std::uint64_t> file_size(int fd, std::string_view id) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return detail::errno_error(errno, "upload data " + std::string(id));
    return static_cast<std::uint64_t>(st.st_size);
}

// Writes all of `bytes` at `at`: 0, or the errno of the failure (ENOSPC for a write that took
// nothing from a non-empty buffer: nothing fits).
int pwrite_all(int fd, std::string_view bytes, std::uint64_t at) {
    while (!bytes.empty()) {
        ssize_t const n = ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(at));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return n < 0 ? errno : ENOSPC;
        bytes.remove_prefix(static_cast<std::size_t>(n));
        at += static_cast<std::uint64_t>(n);
    }
    return 0;
}

// Writes all of `bytes` at `offset`; on failure the file is cut back to `offset`, so a full disk
// never leaves part of a write behind.
Result<void> write_all_at(int fd, std::string_view bytes, std::uint64_t offset, std::string_view what) {
    if (int const err = pwrite_all(fd, bytes, offset); err != 0) {
        (void)::ftruncate(fd, static_cast<off_t>(offset));
        return detail::errno_error(err, what);
    }
    return ok();
}

}  // namespace

UploadWriter::UploadWriter(int data_fd, int chunk_fd, std::filesystem::path chunk_path, std::uint64_t offset)
    : data_fd_(data_fd), chunk_fd_(chunk_fd), chunk_path_(std::move(chunk_path)), offset_(offset) {}

UploadWriter::UploadWriter(UploadWriter&& other) noexcept
    : data_fd_(std::exchange(other.data_fd_, -1)),
      uncached_fd_(std::exchange(other.uncached_fd_, -1)),
      chunk_fd_(std::exchange(other.chunk_fd_, -1)),
      chunk_path_(std::move(other.chunk_path_)),
      offset_(other.offset_),
      written_(other.written_),
      writeback_started_(other.writeback_started_) {}

UploadWriter::~UploadWriter() {
    discard_chunk();
    stop_uncached();
    if (data_fd_ >= 0) ::close(data_fd_);
}

void UploadWriter::stop_uncached() {
    if (uncached_fd_ >= 0) ::close(uncached_fd_);
    uncached_fd_ = -1;
}

void UploadWriter::discard_chunk() {
    if (chunk_fd_ < 0) return;
    ::close(chunk_fd_);
    chunk_fd_ = -1;
    ::unlink(chunk_path_.c_str());  // best effort: leftovers are removed when the directory is opened
}

Result<void> UploadWriter::write(std::string_view bytes) {
    ONDA_ASSERT(data_fd_ >= 0, "write() is not called on a moved-from writer");
    if (chunk_fd_ >= 0) {
        if (auto done = write_all_at(chunk_fd_, bytes, written_, "write the upload's staged chunk"); !done) return done;
    } else {
        std::uint64_t const at = offset_ + written_;
        if (int const err = write_data(bytes, at); err != 0) {
            (void)::ftruncate(data_fd_, static_cast<off_t>(at));
            return detail::errno_error(err, "write upload data");
        }
    }
    written_ += bytes.size();
    if (chunk_fd_ < 0 && uncached_fd_ < 0 && written_ - writeback_started_ >= writeback_step_bytes) {
        // Start writing the new bytes to disk now, without waiting, so sync() at the end of the request
        // has only the tail left to wait for. A failure here changes nothing: sync() reports it.
        (void)::sync_file_range(data_fd_, static_cast<off_t>(offset_ + writeback_started_),
                                static_cast<off_t>(written_ - writeback_started_), SYNC_FILE_RANGE_WRITE);
        writeback_started_ = written_;
    }
    return ok();
}

int UploadWriter::write_data(std::string_view bytes, std::uint64_t at) {
    constexpr std::size_t block = uncached_alignment;
    auto const address = reinterpret_cast<std::uintptr_t>(bytes.data());
    if (uncached_fd_ < 0 || address % block != at % block) return pwrite_all(data_fd_, bytes, at);
    std::size_t const head = std::min(bytes.size(), (block - at % block) % block);
    std::size_t const whole = (bytes.size() - head) / block * block;
    if (whole == 0) return pwrite_all(data_fd_, bytes, at);
    if (int const err = pwrite_all(data_fd_, bytes.substr(0, head), at); err != 0) return err;
    int err = pwrite_all(uncached_fd_, bytes.substr(head, whole), at + head);
    if (err == EINVAL) {
        // The file system took the O_DIRECT open but not this write: the page cache from here on.
        stop_uncached();
        (void)::ftruncate(data_fd_, static_cast<off_t>(at + head));  // a partial block write, if any
        err = pwrite_all(data_fd_, bytes.substr(head, whole), at + head);
    }
    if (err != 0) return err;
    return pwrite_all(data_fd_, bytes.substr(head + whole), at + head + whole);
}

Result<void> UploadWriter::commit() {
    if (chunk_fd_ < 0) return ok();
    loff_t from = 0;
    loff_t to = static_cast<loff_t>(offset_);
    std::uint64_t left = written_;
    bool in_kernel = true;
    std::vector<char> buffer;
    while (left > 0) {
        ssize_t n = -1;
        if (in_kernel) {
            n = ::copy_file_range(chunk_fd_, &from, data_fd_, &to, left, 0);
            if (n < 0 && (errno == ENOSYS || errno == EOPNOTSUPP || errno == EXDEV || errno == EINVAL)) {
                in_kernel = false;  // a file system or sandbox without it: copy through user space
                continue;
            }
        } else {
            buffer.resize(std::min<std::uint64_t>(left, 1 << 20));
            n = ::pread(chunk_fd_, buffer.data(), buffer.size(), from);
            if (n > 0) {
                auto written = write_all_at(data_fd_, std::string_view(buffer.data(), static_cast<std::size_t>(n)),
                                            static_cast<std::uint64_t>(to), "append the verified chunk");
                if (!written) {
                    (void)::ftruncate(data_fd_, static_cast<off_t>(offset_));
                    return written;
                }
                from += n;
                to += n;
            }
        }
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int const err = n < 0 ? errno : ENOSPC;
            (void)::ftruncate(data_fd_, static_cast<off_t>(offset_));  // all of the chunk or none of it
            return detail::errno_error(err, "append the verified chunk");
        }
        left -= static_cast<std::uint64_t>(n);
    }
    discard_chunk();
    return ok();
}

void UploadWriter::roll_back() {
    if (chunk_fd_ >= 0) {
        discard_chunk();
    } else {
        (void)::ftruncate(data_fd_, static_cast<off_t>(offset_));
    }
    written_ = 0;
    writeback_started_ = 0;
}

Result<void> UploadWriter::sync() {
    while (::fdatasync(data_fd_) != 0)
        if (errno != EINTR) return detail::errno_error(errno, "sync upload data");
    return ok();
}

Result<UploadFiles> UploadFiles::open(std::filesystem::path directory) {
    std::error_code ec;
    std::filesystem::create_directories(directory, ec);
    if (ec) return detail::errno_error(ec.value(), "create " + directory.string());
    for (std::filesystem::directory_iterator it(directory, ec), end; !ec && it != end; it.increment(ec)) {
        if (it->path().extension() != chunk_suffix) continue;
        std::filesystem::remove(it->path(), ec);
        if (ec) return detail::errno_error(ec.value(), "remove " + it->path().string());
    }
    if (ec) return detail::errno_error(ec.value(), "read " + directory.string());
    return UploadFiles(std::move(directory));
}

std::filesystem::path UploadFiles::data_path(std::string_view id) const { return directory_ / std::string(id); }

Result<void> UploadFiles::create(std::string_view id) const {
    auto const path = data_path(id);
    int const fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return detail::errno_error(errno, "create upload data " + std::string(id));
    ::close(fd);
    // The new name must outlast a power loss as the bytes synced into it later do.
    return sync_directory();
}

Result<void> UploadFiles::sync_directory() const {
    int const fd = ::open(directory_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return detail::errno_error(errno, "open the uploads directory");
    int const rc = ::fsync(fd);
    int const err = errno;
    ::close(fd);
    if (rc != 0) return detail::errno_error(err, "sync the uploads directory");
    return ok();
}

Result<std::uint64_t> UploadFiles::size(std::string_view id) const {
    auto const path = data_path(id);
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return detail::errno_error(errno, "upload data " + std::string(id));
    return static_cast<std::uint64_t>(st.st_size);
}

Result<UploadWriter> UploadFiles::open_writer(std::string_view id, std::uint64_t offset, bool staged) const {
    auto const path = data_path(id);
    int const data_fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (data_fd < 0) return detail::errno_error(errno, "open upload data " + std::string(id));
    UploadWriter writer(data_fd, -1, {}, offset);  // owns data_fd from here
    auto size = file_size(data_fd, id);
    if (!size) return size.error();
    if (*size != offset)
        return Error(Errc::conflict,
                     "upload data holds " + std::to_string(*size) + " bytes, not " + std::to_string(offset));
    if (staged) {
        auto chunk_path = path;
        chunk_path += chunk_suffix;
        int const chunk_fd = ::open(chunk_path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (chunk_fd < 0) return detail::errno_error(errno, "stage a chunk of upload " + std::string(id));
        writer.chunk_fd_ = chunk_fd;
        writer.chunk_path_ = std::move(chunk_path);
    } else {
        // -1 (EINVAL) where the file system has no O_DIRECT: then everything goes through the page cache.
        writer.uncached_fd_ = ::open(path.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC);
    }
    return writer;
}

Result<SpoolFile> UploadFiles::link_to_spool(std::string_view id, std::filesystem::path const& spool_directory) const {
    return SpoolFile::link_from(data_path(id), spool_directory);
}

Result<void> UploadFiles::remove(std::string_view id) const {
    auto const path = data_path(id);
    auto chunk_path = path;
    chunk_path += chunk_suffix;
    for (auto const& file : {path, chunk_path})
        if (::unlink(file.c_str()) != 0 && errno != ENOENT)
            return detail::errno_error(errno, "remove upload data " + std::string(id));
    return ok();
}

}  // namespace onda::storage
