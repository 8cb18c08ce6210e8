// MetaStore: the rows that describe media (and, as other issues grow, uploads, jobs, playback
// state). Methods are coroutines: an implementation does its blocking I/O on a pool and resumes
// the caller on its own executor, so handlers simply co_await. The same contract suite runs
// against every implementation (tests/storage/meta_store_contract_test.cpp).
//
// Media rows are written in two steps so a crash never leaves a half item: insert_media() adds a
// `pending` row that no read returns; mark_media_ready() makes it visible once its bytes are
// committed. At start-up take_pending_media() returns and deletes pending rows, and the caller
// removes whatever blobs they may have left.
//
// Transcode jobs are durable rows too (see JobRecord): mark_media_ready() enqueues one in the same
// transaction when the row's transcode_state is "queued", so no ready media ever waits for a job
// that a crash lost. Workers in other processes claim a job with a lease, renew it while they work,
// and complete or fail it; the media row's transcode fields follow the job.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/array.hpp>
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
    std::string transcode_state = "none";  // none | queued | running | done | failed
    double transcode_progress = 0;         // 0..1
    std::optional<std::string> transcode_error;
    boost::json::array renditions;  // the API's `renditions`, set when the transcode is done
    bool has_hls = false;           // media/{id}/hls/master.m3u8 exists
    bool has_thumbnail = false;     // media/{id}/thumbnail.jpg exists
    bool has_waveform = false;      // media/{id}/waveform.json exists
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

// A durable job: today one "transcode" job per media object. `attempts` counts the claims so far,
// the running one included; lease_owner and lease_expires_at are set while it runs.
struct JobRecord {
    std::string id;  // "j_…"
    std::string media_id;
    std::string kind = "transcode";
    std::string state;  // queued | running | done | failed
    unsigned attempts = 0;
    std::optional<std::string> lease_owner;
    std::optional<SystemTime> lease_expires_at;
    double progress = 0;               // 0..1
    std::optional<std::string> error;  // failed: why; queued again: how the last attempt ended
    SystemTime created_at;
    SystemTime updated_at;
};

// One claim of a job: its holder and which attempt it is. Every later change names it, so a worker
// whose lease expired and was claimed again by someone else can no longer touch the job.
struct JobLease {
    std::string job_id;
    std::string owner;
    unsigned attempt = 0;
};

struct JobClaim {
    std::string owner;  // the worker's name, e.g. "host.1234.w1"
    SystemTime now;
    std::chrono::milliseconds lease{30'000};
    unsigned max_attempts = 3;  // a job that has had this many attempts is failed instead of claimed
};

struct ClaimedJob {
    std::optional<JobRecord> job;    // the oldest claimable job, now running under the claim's lease
    std::vector<JobRecord> gave_up;  // jobs met on the way whose attempts were used up: now failed
};

// A worker stopped (it exited, or gave up on its job for a reason worth retrying): its running jobs
// go back to the queue, or fail when their attempts are used up.
struct JobRelease {
    std::string owner;
    std::string reason;  // how the attempt ended, e.g. "the worker stopped (killed by signal 9)"
    SystemTime now;
    unsigned max_attempts = 3;
    bool count_attempt = true;  // false at shutdown: the attempt was interrupted, it did not fail
};

// What a finished transcode adds to its media row.
struct TranscodeOutput {
    boost::json::array renditions;
    bool has_hls = false;
    bool has_thumbnail = false;
    bool has_waveform = false;
};

// One user's playback state (realtime's playback sync): what plays on their devices, where, how
// loud and at which quality, and their queue. `position` is where playback was at `updated_at`;
// readers extrapolate while `playing`. Every change bumps `version`, which orders writes that may
// arrive out of order (two devices of one user on two server threads).
struct PlaybackRecord {
    std::string user;      // `sub`
    std::string track_id;  // a media id; empty before anything was played
    bool playing = false;
    double position = 0;  // seconds into the track at updated_at
    double volume = 1;    // 0..1
    std::string quality;  // e.g. "192k"
    double duration = 0;  // of the track, seconds; 0 when unknown
    std::vector<std::string> queue;
    std::uint64_t queue_index = 0;  // the entry of `queue` playing now
    std::string device;             // the device that made the last change
    SystemTime updated_at;
    std::uint64_t version = 0;
};

class MetaStore {
public:
    virtual ~MetaStore() = default;

    // conflict if the id exists.
    virtual Task<Result<void>> insert_media(MediaRecord record) = 0;
    // not_found if there is no pending row with that id. A row whose transcode_state is "queued"
    // gets its transcode job in the same transaction.
    virtual Task<Result<void>> mark_media_ready(std::string id) = 0;
    // Ready rows only; not_found otherwise.
    virtual Task<Result<MediaRecord>> find_media(std::string id) = 0;
    // invalid_argument for a cursor that does not parse.
    virtual Task<Result<MediaPage>> list_media(MediaQuery query) = 0;
    // Returns the updated row; not_found if absent.
    virtual Task<Result<MediaRecord>> update_media(std::string id, MediaPatch patch) = 0;
    // not_found if absent. Its jobs go with it.
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

    // The transcode job of a media object; not_found if it has none.
    virtual Task<Result<JobRecord>> find_transcode_job(std::string media_id) = 0;
    // Atomically (also across processes) takes the oldest job that is queued, or running under an
    // expired lease: state running, attempts + 1, leased to the claimant until now + lease, and its
    // media's transcode_state "running". A job whose attempts are used up is failed on the way
    // (with a reason naming the last attempt's end) and returned in gave_up.
    virtual Task<Result<ClaimedJob>> claim_job(JobClaim claim) = 0;
    // Extends the lease to now + lease and records progress (0..1) on the job and its media.
    // not_found when the job is gone (its media was deleted); conflict when the lease is no longer
    // this one (it expired and the job was claimed again, or released).
    virtual Task<Result<void>> renew_job(JobLease lease, double progress, SystemTime now,
                                         std::chrono::milliseconds lease_time) = 0;
    // The job is done: state done, progress 1, and `output` on its media row. Errors as renew_job.
    virtual Task<Result<void>> complete_job(JobLease lease, TranscodeOutput output, SystemTime now) = 0;
    // The job cannot succeed (e.g. the media cannot be decoded): state failed with `reason`, also as
    // its media's transcode_error. Errors as renew_job.
    virtual Task<Result<void>> fail_job(JobLease lease, std::string reason, SystemTime now) = 0;
    // Requeues (or fails, see JobRelease) the running jobs leased to release.owner and returns them
    // as they are now.
    virtual Task<Result<std::vector<JobRecord>>> release_jobs(JobRelease release) = 0;

    // The user's playback state; nullopt when none was ever saved.
    virtual Task<Result<std::optional<PlaybackRecord>>> find_playback(std::string user) = 0;
    // Keeps `record` as the user's state unless the stored one has the same or a newer version
    // (then nothing changes and the answer is false).
    virtual Task<Result<bool>> save_playback(PlaybackRecord record) = 0;

    virtual Task<Result<void>> ping() = 0;
};

}  // namespace onda::storage
