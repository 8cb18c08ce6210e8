// Turns the errno of a failed filesystem call into an onda Error, so every storage file reports a full
// disk, a missing file or a name clash with the same Errc.
#pragma once

#include <string_view>

#include "core/error.hpp"

namespace onda::storage::detail {

// "<what>: <strerror(err)>" with the code:
//   insufficient_storage  ENOSPC, EDQUOT, EFBIG, EIO (the disk is full or failing, or the file may not grow)
//   not_found             ENOENT, ENOTDIR
//   conflict              EEXIST, EISDIR, ENOTEMPTY
//   invalid_argument      ENAMETOOLONG
//   internal              anything else
Error errno_error(int err, std::string_view what);

}  // namespace onda::storage::detail
