// The server's signing secret: `auth.secret` from config when set, else the contents of
// <data_dir>/secret, created on first start with 32 random bytes (hex, mode 0600).
#pragma once

#include <filesystem>
#include <string>

#include "core/error.hpp"

namespace onda::auth::blocking {

Result<std::string> load_or_create_secret(std::filesystem::path const& data_dir);

}  // namespace onda::auth::blocking
