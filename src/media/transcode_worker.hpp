// The job loop of an `onda-media worker` process (DESIGN.md "Crash isolation for decoders"): claim the
// oldest transcode job with a lease, run the transcoder on the media's original into a scratch
// directory, put every file it wrote into the BlobStore under "media/{id}/", and complete the job.
//
// While a job runs, its lease is renewed every lease/3 (at most 2 s apart, so the media object's
// progress stays fresh) with the latest progress, and a JobEvent is reported at most every
// `report_interval` while the progress moves, and at every change of state. The transcoder itself
// runs on a thread of its own, so a decoder that hangs never stops the renewals; if its progress has
// not moved for `stall_timeout`, run() returns `stalled`, and the process should exit: its
// supervisor restarts it and the job is retried.
//
// Outcomes: success -> done, with the renditions on the media row. unsupported_media or
// invalid_argument from the transcoder -> failed with its reason (retrying would not help). Any other
// error (disk full, store unavailable) -> the job is released for another attempt, or failed once its
// attempts are used up. A job whose media was deleted meanwhile, or whose lease someone else took
// over, is dropped; what it had already put into the BlobStore for a deleted media is removed.
//
// Threads: run() and stop() on one executor (single-threaded); `pool` does the blocking BlobStore
// work; the transcoder runs on the worker's own thread.
//
// Example (onda worker):
//   TranscodeWorker worker(*meta, *blobs, pool, clock, transcode, report, options);
//   WorkerStop why = run_alone(worker.run());
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/task.hpp"
#include "media/transcode/ladder.hpp"
#include "storage/blob_store.hpp"
#include "storage/meta_store.hpp"

namespace onda::media {

// Runs one transcode: reads `source`, writes below the empty directory `out_dir`, calls `progress`
// with 0..1 as it goes. Blocking; called on the worker's transcoder thread. In `onda worker` this is
// blocking::run_ladder with the configured LadderOptions.
using TranscodeFn = std::function<Result<LadderResult>(
    std::filesystem::path const& source, std::filesystem::path const& out_dir, LadderProgress const& progress)>;

// A change of a job, as the server turns it into a `media_progress` event.
struct JobEvent {
    std::string media_id;
    std::string state;  // queued | running | done | failed
    double progress = 0;
    std::optional<std::string> error;
};

// Called on the run() executor; must not block for long.
using JobEventFn = std::function<void(JobEvent const&)>;

struct TranscodeWorkerOptions {
    std::string owner;                  // the lease owner name, unique among live workers
    std::filesystem::path scratch_dir;  // this worker's own, on the BlobStore's file system; emptied at start
    std::chrono::milliseconds lease{30'000};
    std::chrono::milliseconds stall_timeout{120'000};
    unsigned max_attempts = 3;
    std::chrono::milliseconds poll_interval{1'000};  // how often an idle worker looks for a job
    std::chrono::milliseconds report_interval{250};  // the most often a moving progress is reported
};

enum class WorkerStop {
    stopped,  // stop() was called while idle
    stalled,  // a transcode made no progress for stall_timeout; its thread may still be running
};

class TranscodeWorker {
public:
    // Every reference must outlive the worker. Destroying the worker waits for a running transcode.
    TranscodeWorker(storage::MetaStore& meta, storage::BlobStore& blobs, net::thread_pool& pool, Clock const& clock,
                    TranscodeFn transcode, JobEventFn report, TranscodeWorkerOptions options);

    // Claims and runs jobs until stop() (between jobs) or a stall. Fails only when the scratch
    // directory cannot be prepared; a failing store is logged and tried again after poll_interval.
    Task<Result<WorkerStop>> run();

    // Ends run() at the next moment it is idle (now, if it is waiting for a job). On run()'s executor.
    void stop();

    // Whether a job is in progress (claimed and not yet finished).
    bool busy() const { return busy_; }

private:
    struct Attempt;
    enum class Ran { finished, stalled };

    Task<Ran> run_job(storage::JobRecord job);
    Task<Ran> transcode(Attempt& attempt);
    Task<void> finish(Attempt& attempt);
    Task<Result<void>> store_outputs(Attempt& attempt, LadderResult const& result);
    Task<void> retry_later(Attempt& attempt, std::string reason);
    Task<void> fail(Attempt& attempt, std::string reason);
    void report(std::string const& media_id, std::string state, double progress, std::optional<std::string> error);

    storage::MetaStore& meta_;
    storage::BlobStore& blobs_;
    net::thread_pool& pool_;
    Clock const& clock_;
    TranscodeFn transcode_;
    JobEventFn report_;
    TranscodeWorkerOptions options_;
    net::thread_pool transcoder_{1};           // runs transcode_, away from the renewals
    net::steady_timer* idle_timer_ = nullptr;  // set while run() waits for a job
    bool stopping_ = false;
    bool busy_ = false;
};

// The BlobStore key of a file the transcoder wrote, from its path relative to the output directory:
// "media/{id}/" + path, for hls/…, files/…, waveform.json and thumbnail.jpg only (never the
// original); invalid_argument otherwise.
Result<std::string> output_key(std::string_view media_id, std::filesystem::path const& relative);

}  // namespace onda::media
