// MetaStore: the rows that describe media (and, as other issues grow, uploads, jobs, playback
// state). Methods are coroutines: an implementation does its blocking I/O on a pool and resumes
// the caller on its own executor, so handlers simply co_await. The same contract suite runs
// against every implementation (tests/storage/meta_store_contract_test.cpp).
//
// Media rows are written in two steps so a crash never leaves a half item: insert_media() adds a
// `pending` row that no read returns; mark_media_ready() makes it visible once its bytes are
// committed. At start-up take_pending_media() returns and deletes pending rows, and the caller
// removes whatever blobs they may have left.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/task.hpp"

namespace onda::storage {

struct MediaRecord {
    std::string id;
    std::string title;
    std::string filename;
    std::string owner;       // the uploader's `sub`
    std::string visibility;  // "public" | "private"
    std::string source;      // "upload" | "tts" | "live"
    std::string kind;        // "audio" | "video"
    std::string content_type;
    std::uint64_t size = 0;
    std::string sha256;   // lowercase hex
    double duration = 0;  // seconds
    std::int64_t bit_rate = 0;
    std::string format;
    boost::json::value audio;  // null or {codec, sample_rate, channels, bit_rate}
    boost::json::value video;  // null or {codec, width, height, fps, bit_rate}
    boost::json::object metadata;
    SystemTime created_at;
    std::string transcode_state = "none";
    double transcode_progress = 0;
    std::optional<std::string> transcode_error;
};

// What GET /v1/media filters on. Items visible to the caller: public ones and the caller's own;
// all of them for an admin.
struct MediaQuery {
    std::optional<std::string> kind;
    std::optional<std::string> source;
    std::optional<std::string> text;  // case-insensitive substring of title or filename (LIKE-escaped)
    std::string viewer;               // the caller's sub; empty for anonymous
    bool viewer_is_admin = false;
    std::size_t limit = 50;             // 1..200, checked by the caller
    std::optional<std::string> cursor;  // from a previous page's next_cursor
};

struct MediaPage {
    std::vector<MediaRecord> items;          // newest first (created_at, then id, descending)
    std::optional<std::string> next_cursor;  // set when more items may follow
};

// Fields a PATCH may change; unset ones stay.
struct MediaPatch {
    std::optional<std::string> title;
    std::optional<std::string> visibility;
    std::optional<boost::json::object> metadata;
};

// A resumable (tus) upload. Its bytes live in UploadFiles; the row says who owns it, how long it
// will be, what the client said about it, until when it is kept, and which media object it became.
struct UploadRecord {
    std::string id;  // "u_…"
    std::string owner;
    std::uint64_t length = 0;  // Upload-Length
    std::uint64_t offset = 0;  // the last acknowledged offset (the data file is the truth after a crash)
    std::string metadata;      // the Upload-Metadata header as the client sent it
    SystemTime created_at;
    SystemTime expires_at;
    std::optional<std::string> media_id;  // set once the upload became a media object
};

class MetaStore {
public:
    virtual ~MetaStore() = default;

    // conflict if the id exists.
    virtual Task<Result<void>> insert_media(MediaRecord record) = 0;
    // not_found if there is no pending row with that id.
    virtual Task<Result<void>> mark_media_ready(std::string id) = 0;
    // Ready rows only; not_found otherwise.
    virtual Task<Result<MediaRecord>> find_media(std::string id) = 0;
    // invalid_argument for a cursor that does not parse.
    virtual Task<Result<MediaPage>> list_media(MediaQuery query) = 0;
    // Returns the updated row; not_found if absent.
    virtual Task<Result<MediaRecord>> update_media(std::string id, MediaPatch patch) = 0;
    // not_found if absent.
    virtual Task<Result<void>> delete_media(std::string id) = 0;
    // Deletes every pending row and returns their ids.
    virtual Task<Result<std::vector<std::string>>> take_pending_media() = 0;

    // conflict if the id exists.
    virtual Task<Result<void>> insert_upload(UploadRecord record) = 0;
    // not_found if absent.
    virtual Task<Result<UploadRecord>> find_upload(std::string id) = 0;
    // After a PATCH: the new offset and expiry. not_found if absent.
    virtual Task<Result<void>> update_upload_offset(std::string id, std::uint64_t offset, SystemTime expires_at) = 0;
    // The upload became media `media_id`. not_found if absent.
    virtual Task<Result<void>> set_upload_media(std::string id, std::string media_id, SystemTime expires_at) = 0;
    // not_found if absent.
    virtual Task<Result<void>> delete_upload(std::string id) = 0;
    // Ids of uploads whose expires_at is before `now`, oldest first, at most `limit`.
    virtual Task<Result<std::vector<std::string>>> list_expired_uploads(SystemTime now, std::size_t limit) = 0;

    virtual Task<Result<void>> ping() = 0;
};

}  // namespace onda::storage
