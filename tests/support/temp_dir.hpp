// A directory under the system temp dir that is removed, with everything in it, when the test ends.
#pragma once

#include <filesystem>

namespace onda::test {

class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(TempDir const&) = delete;
    TempDir& operator=(TempDir const&) = delete;
    std::filesystem::path const& path() const { return path_; }

private:
    std::filesystem::path path_;
};

}  // namespace onda::test
