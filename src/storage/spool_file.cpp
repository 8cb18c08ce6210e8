#include "storage/spool_file.hpp"

#include <cerrno>
#include <cstdlib>
#include <string>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ids.hpp"
#include "storage/detail/posix_error.hpp"

namespace onda::storage {

Result<SpoolFile> SpoolFile::create(std::filesystem::path const& directory) {
    std::string name = (directory / "spool-XXXXXX").string();
    int const fd = ::mkostemp(name.data(), O_CLOEXEC);  // mode 0600, a name no other spool file has
    if (fd < 0) return detail::errno_error(errno, "create a spool file");
    return SpoolFile(fd, std::filesystem::path(std::move(name)));
}

Result<SpoolFile> SpoolFile::link_from(std::filesystem::path const& source, std::filesystem::path const& directory) {
    int const fd = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return detail::errno_error(errno, "open " + source.filename().string());
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        int const err = errno;
        ::close(fd);
        return detail::errno_error(err, "stat " + source.filename().string());
    }
    // link(2) never replaces a name: a random one that is taken already (unlikely) is tried again.
    constexpr int attempts = 4;
    for (int attempt = 0; attempt < attempts; ++attempt) {
        auto name = directory / make_id("spool");
        if (::link(source.c_str(), name.c_str()) == 0) {
            SpoolFile file(fd, std::move(name));
            file.size_ = static_cast<std::uint64_t>(st.st_size);
            return file;
        }
        if (errno != EEXIST) break;
    }
    int const err = errno;
    ::close(fd);
    return detail::errno_error(err, "link " + source.filename().string() + " into the spool");
}

SpoolFile::SpoolFile(SpoolFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)), size_(std::exchange(other.size_, 0)) {
    other.path_.clear();
}

SpoolFile& SpoolFile::operator=(SpoolFile&& other) noexcept {
    if (this != &other) {
        discard();
        fd_ = std::exchange(other.fd_, -1);
        path_ = std::move(other.path_);
        other.path_.clear();
        size_ = std::exchange(other.size_, 0);
    }
    return *this;
}

SpoolFile::~SpoolFile() { discard(); }

Result<void> SpoolFile::write(std::string_view bytes) {
    ONDA_ASSERT(fd_ >= 0, "write() is not called after release() or on a moved-from SpoolFile");
    while (!bytes.empty()) {
        ssize_t const n = ::write(fd_, bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return detail::errno_error(errno, "write spool file " + path_.filename().string());
        }
        // write(2) of a non-empty buffer to a regular file returns 0 only when it cannot store anything.
        if (n == 0)
            return Error(Errc::insufficient_storage, "write spool file " + path_.filename().string() + ": no progress");
        bytes.remove_prefix(static_cast<std::size_t>(n));
        size_ += static_cast<std::uint64_t>(n);
    }
    return ok();
}

Result<void> SpoolFile::sync() {
    ONDA_ASSERT(fd_ >= 0, "sync() is not called after release() or on a moved-from SpoolFile");
    while (::fsync(fd_) != 0) {
        if (errno != EINTR) return detail::errno_error(errno, "fsync spool file " + path_.filename().string());
    }
    return ok();
}

void SpoolFile::release() {
    // path() stays readable afterwards; only ownership of the file ends.
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

void SpoolFile::discard() {
    if (fd_ < 0) return;  // moved from or released: the file is someone else's
    ::close(fd_);
    fd_ = -1;
    ::unlink(path_.c_str());  // best effort: the spool directory is emptied at the next start anyway
}

Result<void> clear_spool_directory(std::filesystem::path const& directory) {
    std::error_code ec;
    for (std::filesystem::directory_iterator it(directory, ec), end; !ec && it != end; it.increment(ec)) {
        std::filesystem::remove_all(it->path(), ec);
        if (ec) return detail::errno_error(ec.value(), "remove " + it->path().string());
    }
    if (ec) return detail::errno_error(ec.value(), "clear spool directory " + directory.string());
    return ok();
}

}  // namespace onda::storage
