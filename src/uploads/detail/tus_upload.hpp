// TusServer's state of one upload and the helpers its two source files share (tus_server.cpp: the
// requests; tus_lifecycle.cpp: loading, finishing, removing, sweeping, progress). Private to uploads.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "storage/meta_store.hpp"
#include "uploads/digest.hpp"
#include "uploads/tus_metadata.hpp"
#include "uploads/tus_server.hpp"

namespace onda::uploads {

// Upload state is shared by requests on every server thread (one client's PATCH, another's HEAD, the
// sweep), so it has a mutex: held for a few field reads or writes, never across a co_await.
struct TusServer::Upload {
    Upload(storage::UploadRecord r, UploadInfo i) : record(std::move(r)), info(std::move(i)) {}

    std::mutex mutex;              // guards everything below
    storage::UploadRecord record;  // record.offset: the bytes in the data file
    UploadInfo info;
    bool writing = false;    // a PATCH holds the upload
    bool finishing = false;  // the finished file is being turned into media
    bool gone = false;       // removed; a request that still holds it answers 404
    // Touched only by the request holding `writing` or `finishing`:
    std::optional<Digest> sha256;  // of bytes [0, record.offset) when engaged
    std::chrono::steady_clock::time_point patch_started{};
    std::uint64_t patch_start_offset = 0;
    std::chrono::steady_clock::time_point last_event{};
};

namespace detail {

// Clears one of an upload's flags (writing, finishing) when the request that set it is done.
class Claim {
public:
    Claim(std::mutex& mutex, bool& flag) : mutex_(mutex), flag_(flag) {}
    Claim(Claim const&) = delete;
    Claim& operator=(Claim const&) = delete;
    ~Claim() {
        std::lock_guard lock(mutex_);
        flag_ = false;
    }

private:
    std::mutex& mutex_;
    bool& flag_;
};

// The media object an upload becomes has an id derived from the upload's, so finishing twice (after a
// crash between the library's commit and the upload row's update) finds the first one.
inline std::string media_id_of(std::string_view uid) { return "m_" + std::string(uid.substr(2)); }

}  // namespace detail
}  // namespace onda::uploads
