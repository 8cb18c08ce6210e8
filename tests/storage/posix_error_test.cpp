#include <cerrno>

#include <gtest/gtest.h>

#include "storage/detail/posix_error.hpp"

namespace onda::storage::detail {
namespace {

TEST(ErrnoError, FullOrFailingDiskIsInsufficientStorage) {
    EXPECT_EQ(errno_error(ENOSPC, "write").code(), Errc::insufficient_storage);
    EXPECT_EQ(errno_error(EDQUOT, "write").code(), Errc::insufficient_storage);
    EXPECT_EQ(errno_error(EIO, "write").code(), Errc::insufficient_storage);
}

TEST(ErrnoError, MissingPathIsNotFound) {
    EXPECT_EQ(errno_error(ENOENT, "open").code(), Errc::not_found);
    EXPECT_EQ(errno_error(ENOTDIR, "open").code(), Errc::not_found);
}

TEST(ErrnoError, OtherFailuresAreInternal) {
    EXPECT_EQ(errno_error(EACCES, "open").code(), Errc::internal);
    EXPECT_EQ(errno_error(EBADF, "read").code(), Errc::internal);
}

TEST(ErrnoError, MessageSaysWhatFailedAndWhy) {
    EXPECT_EQ(errno_error(ENOENT, "open /x").message(), "open /x: No such file or directory");
}

}  // namespace
}  // namespace onda::storage::detail
