// <data_dir>/secret holds 64 lowercase hex characters (32 random bytes) and nothing else; a single
// trailing newline is tolerated so an operator may write the file with `echo`. The file is created
// once: written to a private temp file, flushed, then published under its final name with link(2),
// which like rename(2) is atomic but never replaces an existing file. Two processes starting at once
// (serve and worker) therefore agree: the loser finds the winner's file and reads it.
#include "auth/secret.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ids.hpp"

namespace onda::auth::blocking {
namespace {

constexpr std::size_t secret_bytes = 32;
constexpr std::size_t secret_hex_chars = 2 * secret_bytes;
// Enough for the secret and any whitespace around it; a larger file is not one of ours.
constexpr std::size_t max_secret_file_bytes = 4096;

class FileDescriptor {
public:
    explicit FileDescriptor(int fd) : fd_(fd) {}
    ~FileDescriptor() {
        if (fd_ >= 0) ::close(fd_);
    }
    FileDescriptor(FileDescriptor const&) = delete;
    FileDescriptor& operator=(FileDescriptor const&) = delete;
    int get() const { return fd_; }
    // Closes now and reports the result, which for a written file is the last chance to see an error.
    int close() { return ::close(std::exchange(fd_, -1)); }

private:
    int fd_;
};

Error errno_error(Errc code, std::string_view what, std::filesystem::path const& path, int err) {
    return Error(code, std::string(what) + " " + path.string() + ": " + std::strerror(err));
}

bool is_hex(std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    });
}

std::string make_hex_secret() {
    constexpr std::string_view digits = "0123456789abcdef";
    std::array<unsigned char, secret_bytes> bytes{};
    random_bytes(bytes);
    std::string hex;
    hex.reserve(secret_hex_chars);
    for (unsigned char b : bytes) {
        hex += digits[b >> 4];
        hex += digits[b & 0x0f];
    }
    return hex;
}

// The secret in `file`; Errc::not_found when the file does not exist.
Result<std::string> read_secret(std::filesystem::path const& file) {
    FileDescriptor fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        int const err = errno;
        return errno_error(err == ENOENT ? Errc::not_found : Errc::internal, "open", file, err);
    }
    std::array<char, max_secret_file_bytes + 1> buffer{};
    std::size_t filled = 0;
    while (filled < buffer.size()) {
        ssize_t const n = ::read(fd.get(), buffer.data() + filled, buffer.size() - filled);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_error(Errc::internal, "read", file, errno);
        if (n == 0) break;
        filled += static_cast<std::size_t>(n);
    }
    std::string_view text(buffer.data(), filled);
    if (text.ends_with("\r\n"))
        text.remove_suffix(2);
    else if (text.ends_with('\n'))
        text.remove_suffix(1);
    // The contents are never echoed: an error message may end up in a log.
    if (text.size() != secret_hex_chars || !is_hex(text))
        return Error(Errc::invalid_argument, file.string() + " must hold 64 hex characters");
    return std::string(text);
}

Result<void> write_all(FileDescriptor& fd, std::string_view bytes, std::filesystem::path const& file) {
    while (!bytes.empty()) {
        ssize_t const n = ::write(fd.get(), bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_error(Errc::insufficient_storage, "write", file, errno);
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return ok();
}

// Writes `secret` to a new temp file in `dir`, flushed to disk, and returns its path.
Result<std::filesystem::path> write_temp_file(std::filesystem::path const& dir, std::string_view secret) {
    std::string temp = (dir / ".secret-XXXXXX").string();
    // mkstemp creates the file with O_EXCL and mode 0600 less the umask; fchmod makes it exactly 0600.
    FileDescriptor fd(::mkostemp(temp.data(), O_CLOEXEC));
    if (fd.get() < 0) return errno_error(Errc::insufficient_storage, "create", temp, errno);
    auto written = [&]() -> Result<void> {
        if (::fchmod(fd.get(), S_IRUSR | S_IWUSR) != 0)
            return errno_error(Errc::insufficient_storage, "chmod", temp, errno);
        if (auto r = write_all(fd, secret, temp); !r) return r;
        if (::fsync(fd.get()) != 0) return errno_error(Errc::insufficient_storage, "fsync", temp, errno);
        if (fd.close() != 0) return errno_error(Errc::insufficient_storage, "close", temp, errno);
        return ok();
    }();
    if (!written) {
        ::unlink(temp.c_str());  // best effort: the write already failed, which is what we report
        return written.error();
    }
    return std::filesystem::path(temp);
}

// Makes the new link to the secret survive a power cut: the directory entry is flushed too.
Result<void> sync_directory(std::filesystem::path const& dir) {
    FileDescriptor fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0) return errno_error(Errc::insufficient_storage, "open", dir, errno);
    if (::fsync(fd.get()) != 0) return errno_error(Errc::insufficient_storage, "fsync", dir, errno);
    return ok();
}

}  // namespace

Result<std::string> load_or_create_secret(std::filesystem::path const& data_dir) {
    std::filesystem::path const file = data_dir / "secret";
    auto existing = read_secret(file);
    if (existing || existing.error().code() != Errc::not_found) return existing;

    std::error_code ec;
    std::filesystem::create_directories(data_dir, ec);
    if (ec) return Error(Errc::insufficient_storage, "create data dir " + data_dir.string() + ": " + ec.message());

    std::string secret = make_hex_secret();
    auto temp = write_temp_file(data_dir, secret);
    if (!temp) return temp.error();
    int const link_result = ::link(temp->c_str(), file.c_str());
    int const link_errno = errno;
    ::unlink(temp->c_str());  // the secret now lives under its final name, or the link failed
    if (link_result != 0) {
        // Another process created the secret between our read and our link: theirs is the one.
        if (link_errno == EEXIST) return read_secret(file);
        return errno_error(Errc::insufficient_storage, "link", file, link_errno);
    }
    if (auto synced = sync_directory(data_dir); !synced) return synced.error();
    return secret;
}

}  // namespace onda::auth::blocking
