// BlobStore on a local directory: key "a/b/c" is the file <root>/a/b/c. put_file() fsyncs the file,
// renames it into place (same filesystem: the spool directory lives under the data dir) and fsyncs
// the parent directory, so a crash leaves the old state or the new one.
#pragma once

#include <filesystem>

#include "storage/blob_store.hpp"

namespace onda::storage {

class LocalBlobStore final : public BlobStore {
public:
    // Creates `root` if needed.
    static Result<std::unique_ptr<LocalBlobStore>> open(std::filesystem::path root);

    Result<void> put_file(std::string_view key, std::filesystem::path const& source) override;
    Result<std::unique_ptr<BlobReader>> open(std::string_view key) override;
    Result<bool> exists(std::string_view key) override;
    Result<void> remove_all(std::string_view prefix) override;
    Result<void> ping() override;

    std::filesystem::path const& root() const { return root_; }

private:
    explicit LocalBlobStore(std::filesystem::path root) : root_(std::move(root)) {}
    std::filesystem::path root_;
};

}  // namespace onda::storage
