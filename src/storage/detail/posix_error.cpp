#include "storage/detail/posix_error.hpp"

#include <cerrno>
#include <cstring>
#include <string>

namespace onda::storage::detail {
namespace {

Errc errc_for(int err) {
    switch (err) {
    case ENOSPC:
    case EDQUOT:
    case EFBIG:  // past the file size the system allows (RLIMIT_FSIZE, the file system's maximum)
    case EIO: return Errc::insufficient_storage;
    case ENOENT:
    case ENOTDIR: return Errc::not_found;
    case EEXIST:
    case EISDIR:
    case ENOTEMPTY: return Errc::conflict;
    case ENAMETOOLONG: return Errc::invalid_argument;
    default: return Errc::internal;
    }
}

}  // namespace

Error errno_error(int err, std::string_view what) {
    std::string message(what);
    message += ": ";
    message += std::strerror(err);
    return Error(errc_for(err), std::move(message));
}

}  // namespace onda::storage::detail
