#include "support/temp_dir.hpp"

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace onda::test {

TempDir::TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "onda-test-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
}

TempDir::~TempDir() {
    std::error_code ignored;  // a test that failed half way may leave anything behind; remove what is there
    std::filesystem::remove_all(path_, ignored);
}

}  // namespace onda::test
