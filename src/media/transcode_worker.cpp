#include "media/transcode_worker.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/this_coro.hpp>

#include "core/log.hpp"
#include "media/library.hpp"

namespace onda::media {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

// What the transcoder thread shares with the coroutine that watches it. `result` is written once,
// before `done` is set (release); the coroutine reads it only after seeing `done` (acquire).
struct TranscodeState {
    std::atomic<double> progress{0};
    std::atomic<bool> done{false};
    std::optional<Result<LadderResult>> result;
};

// The outputs of an earlier attempt, removed before this one's are put (never the original).
constexpr std::array<std::string_view, 4> output_prefixes = {"hls", "files", "thumbnail.jpg", "waveform.json"};

// The errors of a transcoder that a retry would only repeat.
bool is_permanent(Errc code) { return code == Errc::unsupported_media || code == Errc::invalid_argument; }

std::string media_prefix(std::string_view media_id) { return "media/" + std::string(media_id); }

}  // namespace

namespace blocking {
namespace {

// Copies an object that is not a local file (a remote store) into `target`.
Result<void> copy_blob(storage::BlobReader& reader, fs::path const& target) {
    int const fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return Error(Errc::insufficient_storage, "create " + target.string() + ": " + std::strerror(errno));
    std::vector<char> buffer(1 << 20);
    std::uint64_t offset = 0;
    Result<void> outcome = ok();
    while (outcome) {
        auto got = reader.read_at(offset, buffer);
        if (!got) {
            outcome = got.error();
            break;
        }
        if (*got == 0) break;
        for (std::size_t written = 0; written < *got;) {
            ssize_t const n = ::write(fd, buffer.data() + written, *got - written);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) {
                outcome = Error(Errc::insufficient_storage, "write " + target.string() + ": " + std::strerror(errno));
                break;
            }
            written += static_cast<std::size_t>(n);
        }
        offset += *got;
    }
    ::close(fd);
    return outcome;
}

// An empty directory at `dir` (whatever was there is removed).
Result<void> fresh_directory(fs::path const& dir) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    if (!ec) fs::create_directories(dir, ec);
    if (ec) return Error(Errc::insufficient_storage, "prepare " + dir.string() + ": " + ec.message());
    return ok();
}

}  // namespace
}  // namespace blocking

namespace {

// Clears TranscodeWorker::idle_timer_ however run() ends.
class IdleTimerScope {
public:
    IdleTimerScope(net::steady_timer*& slot, net::steady_timer& timer) : slot_(slot) { slot_ = &timer; }
    ~IdleTimerScope() { slot_ = nullptr; }
    IdleTimerScope(IdleTimerScope const&) = delete;
    IdleTimerScope& operator=(IdleTimerScope const&) = delete;

private:
    net::steady_timer*& slot_;
};

}  // namespace

// One claim of a job, from the claim to the cleanup of its scratch directory.
struct TranscodeWorker::Attempt {
    storage::JobRecord job;
    storage::JobLease lease;
    log::Context log;
    fs::path dir;      // scratch_dir / "<job id>-<attempt>"
    fs::path out_dir;  // dir / "out": what the transcoder writes
    fs::path source;
    std::unique_ptr<storage::BlobReader> original;  // open for the whole attempt: `source` may be its descriptor
    std::shared_ptr<TranscodeState> state = std::make_shared<TranscodeState>();
    double progress = 0;  // the last progress renewed or reported
    bool media_gone = false;
    bool lease_lost = false;
};

Result<std::string> output_key(std::string_view media_id, fs::path const& relative) {
    auto invalid = [&] {
        return Error(Errc::invalid_argument, "the transcoder wrote an unexpected file " + relative.string());
    };
    if (relative.empty() || !relative.is_relative()) return invalid();
    std::vector<std::string> parts;
    for (auto const& part : relative) parts.push_back(part.string());
    bool const in_folder = parts.size() >= 2 && (parts[0] == "hls" || parts[0] == "files");
    bool const known_file = parts.size() == 1 && (parts[0] == "thumbnail.jpg" || parts[0] == "waveform.json");
    if (!in_folder && !known_file) return invalid();
    std::string key = media_prefix(media_id) + "/" + relative.generic_string();
    if (!storage::is_valid_key(key)) return invalid();  // ".", "..", empty parts, odd characters
    return key;
}

TranscodeWorker::TranscodeWorker(storage::MetaStore& meta, storage::BlobStore& blobs, net::thread_pool& pool,
                                 Clock const& clock, TranscodeFn transcode, JobEventFn report,
                                 TranscodeWorkerOptions options)
    : meta_(meta),
      blobs_(blobs),
      pool_(pool),
      clock_(clock),
      transcode_(std::move(transcode)),
      report_(std::move(report)),
      options_(std::move(options)) {}

void TranscodeWorker::stop() {
    stopping_ = true;
    if (idle_timer_) idle_timer_->cancel();
}

void TranscodeWorker::report(std::string const& media_id, std::string state, double progress,
                             std::optional<std::string> error) {
    if (report_)
        report_(
            JobEvent{.media_id = media_id, .state = std::move(state), .progress = progress, .error = std::move(error)});
}

Task<Result<WorkerStop>> TranscodeWorker::run() {
    // Whatever a crashed predecessor with this name left is of no use to anyone.
    if (auto prepared = blocking::fresh_directory(options_.scratch_dir); !prepared) co_return prepared.error();
    net::steady_timer idle(co_await net::this_coro::executor);
    IdleTimerScope scope(idle_timer_, idle);
    while (!stopping_) {
        storage::JobClaim claim{.owner = options_.owner,
                                .now = clock_.now(),
                                .lease = options_.lease,
                                .max_attempts = options_.max_attempts};
        auto claimed = co_await meta_.claim_job(std::move(claim));
        if (!claimed) {
            log::warn("worker={} claim: {}", options_.owner, claimed.error().message());
        } else {
            for (auto const& job : claimed->gave_up) {
                log::warn("worker={} job={} media={} failed: {}", options_.owner, job.id, job.media_id,
                          job.error.value_or(""));
                report(job.media_id, "failed", job.progress, job.error);
            }
            if (claimed->job) {
                busy_ = true;
                Ran const ran = co_await run_job(std::move(*claimed->job));
                busy_ = false;
                if (ran == Ran::stalled) co_return WorkerStop::stalled;
                continue;  // there may be more work: look again at once
            }
            if (!claimed->gave_up.empty()) continue;
        }
        if (stopping_) break;
        idle.expires_after(options_.poll_interval);
        auto [ec] = co_await idle.async_wait(use_result);
        (void)ec;  // cancelled by stop(): the loop condition ends it
    }
    co_return WorkerStop::stopped;
}

Task<TranscodeWorker::Ran> TranscodeWorker::run_job(storage::JobRecord job) {
    Attempt attempt;
    attempt.lease = storage::JobLease{.job_id = job.id, .owner = options_.owner, .attempt = job.attempts};
    attempt.log.add("worker", options_.owner);
    attempt.log.add("job", job.id);
    attempt.log.add("media", job.media_id);
    attempt.job = std::move(job);
    attempt.log.info("transcode attempt {} of {}", attempt.job.attempts, options_.max_attempts);
    report(attempt.job.media_id, "running", 0, std::nullopt);

    attempt.dir = options_.scratch_dir / (attempt.job.id + "-" + std::to_string(attempt.job.attempts));
    attempt.out_dir = attempt.dir / "out";
    if (auto prepared = blocking::fresh_directory(attempt.out_dir); !prepared) {
        co_await retry_later(attempt, prepared.error().message());
        co_return Ran::finished;
    }

    auto key = original_key(attempt.job.media_id);
    auto open_original = [this, key] { return blobs_.open(key); };  // named: GCC 12 and co_await temporaries
    auto opened = co_await offload(pool_, open_original);
    if (!opened) {
        if (opened.error().code() == Errc::not_found)
            co_await fail(attempt, "the original file of this media is missing");
        else
            co_await retry_later(attempt, opened.error().message());
    } else {
        attempt.original = std::move(*opened);
        Result<void> sourced = ok();
        if (int const fd = attempt.original->native_handle(); fd >= 0) {
            // A local file: the transcoder opens it again through our descriptor, so it reads the bytes
            // we opened even if the media is deleted meanwhile, and nothing is copied.
            attempt.source = fs::path("/proc/self/fd") / std::to_string(fd);
        } else {
            attempt.source = attempt.dir / "source";
            storage::BlobReader* original = attempt.original.get();
            auto copy = [original, target = attempt.source] { return blocking::copy_blob(*original, target); };
            sourced = co_await offload(pool_, copy);
        }
        if (!sourced) {
            co_await retry_later(attempt, sourced.error().message());
        } else {
            Ran const ran = co_await transcode(attempt);
            if (ran == Ran::stalled) co_return Ran::stalled;  // the thread may still write into the directory
            co_await finish(attempt);
        }
    }
    std::error_code ignored;  // a leftover is removed at the next start anyway
    fs::remove_all(attempt.dir, ignored);
    co_return Ran::finished;
}

Task<TranscodeWorker::Ran> TranscodeWorker::transcode(Attempt& attempt) {
    auto state = attempt.state;
    net::post(transcoder_, [state, fn = transcode_, source = attempt.source, out_dir = attempt.out_dir] {
        LadderProgress const progress = [state](double fraction) {
            state->progress.store(fraction, std::memory_order_relaxed);
        };
        try {
            state->result.emplace(fn(source, out_dir, progress));
        } catch (std::exception const& e) {
            state->result.emplace(Error(Errc::internal, std::string("the transcoder threw: ") + e.what()));
        }
        state->done.store(true, std::memory_order_release);
    });

    auto const renew_every = std::clamp<std::chrono::milliseconds>(options_.lease / 3, 1ms, 2s);
    auto const tick = std::clamp<std::chrono::milliseconds>(options_.report_interval, 1ms, 100ms);
    net::steady_timer timer(co_await net::this_coro::executor);
    auto last_renewal = Steady::now();
    auto last_report = Steady::now();
    auto last_move = Steady::now();
    double last_seen = 0;
    while (!state->done.load(std::memory_order_acquire)) {
        timer.expires_after(tick);
        co_await timer.async_wait(use_result);
        auto const now = Steady::now();
        double const progress = state->progress.load(std::memory_order_relaxed);
        if (progress != last_seen) {
            last_seen = progress;
            last_move = now;
        } else if (now - last_move >= options_.stall_timeout && !state->done.load(std::memory_order_acquire)) {
            attempt.log.error("the transcoder has not moved for {} ms (at {:.3f}): giving up on this process",
                              options_.stall_timeout.count(), progress);
            co_return Ran::stalled;
        }
        if (progress != attempt.progress && now - last_report >= options_.report_interval) {
            attempt.progress = progress;
            last_report = now;
            report(attempt.job.media_id, "running", progress, std::nullopt);
        }
        if (attempt.media_gone || attempt.lease_lost || now - last_renewal < renew_every) continue;
        last_renewal = now;
        Task<Result<void>> renewal = meta_.renew_job(attempt.lease, progress, clock_.now(), options_.lease);
        auto renewed = co_await std::move(renewal);
        if (renewed) continue;
        // The transcode cannot be interrupted; it runs to its end and its result is dropped.
        if (renewed.error().code() == Errc::not_found) {
            attempt.media_gone = true;
            attempt.log.info("the media was deleted while it was transcoded; the job is dropped");
        } else if (renewed.error().code() == Errc::conflict) {
            attempt.lease_lost = true;
            attempt.log.warn("lost the lease: {}", renewed.error().message());
        } else {
            attempt.log.warn("renew the lease: {}", renewed.error().message());  // tried again next time
        }
    }
    co_return Ran::finished;
}

Task<void> TranscodeWorker::finish(Attempt& attempt) {
    Result<LadderResult> result = std::move(*attempt.state->result);
    if (attempt.media_gone || attempt.lease_lost) co_return;
    if (!result) {
        // The reason is shown to users: it names the media, not the worker's path to its bytes.
        std::string reason = result.error().message();
        std::string const source = attempt.source.string();
        for (auto at = reason.find(source); at != std::string::npos; at = reason.find(source, at))
            reason.replace(at, source.size(), "media " + attempt.job.media_id);
        if (is_permanent(result.error().code()))
            co_await fail(attempt, std::move(reason));
        else
            co_await retry_later(attempt, "the transcoder failed: " + reason);
        co_return;
    }
    // A last renewal says whether the job is still ours and its media still there before the store
    // is touched.
    Task<Result<void>> renewal = meta_.renew_job(attempt.lease, attempt.progress, clock_.now(), options_.lease);
    if (auto renewed = co_await std::move(renewal); !renewed) {
        if (renewed.error().code() == Errc::not_found)
            attempt.log.info("the media was deleted while it was transcoded; the job is dropped");
        else if (renewed.error().code() == Errc::conflict)
            attempt.log.warn("lost the lease: {}", renewed.error().message());
        else
            co_await retry_later(attempt, renewed.error().message());
        co_return;
    }
    if (auto stored = co_await store_outputs(attempt, *result); !stored) {
        if (stored.error().code() == Errc::invalid_argument)
            co_await fail(attempt, stored.error().message());
        else
            co_await retry_later(attempt, "store the renditions: " + stored.error().message());
        co_return;
    }
    storage::TranscodeOutput output{.renditions = result->renditions,
                                    .has_hls = result->hls,
                                    .has_thumbnail = result->thumbnail,
                                    .has_waveform = result->waveform};
    auto completed = co_await meta_.complete_job(attempt.lease, std::move(output), clock_.now());
    if (!completed) {
        if (completed.error().code() == Errc::not_found) {
            // Deleted between the last renewal and now: take back what was just put.
            attempt.log.info("the media was deleted while its renditions were stored; removing them");
            auto prefix = media_prefix(attempt.job.media_id);
            auto remove = [this, prefix] { return blobs_.remove_all(prefix); };
            if (auto removed = co_await offload(pool_, remove); !removed)
                attempt.log.warn("remove {}: {}", prefix, removed.error().message());
        } else if (completed.error().code() == Errc::conflict) {
            attempt.log.warn("lost the lease before completing: {}", completed.error().message());
        } else {
            co_await retry_later(attempt, "complete the job: " + completed.error().message());
        }
        co_return;
    }
    attempt.log.info("transcode done: {} files, {} renditions", result->files.size(), result->renditions.size());
    report(attempt.job.media_id, "done", 1, std::nullopt);
}

Task<Result<void>> TranscodeWorker::store_outputs(Attempt& attempt, LadderResult const& result) {
    std::vector<std::pair<std::string, fs::path>> puts;
    for (auto const& file : result.files) {
        auto key = output_key(attempt.job.media_id, file);
        if (!key) co_return key.error();
        puts.emplace_back(std::move(*key), attempt.out_dir / file);
    }
    auto const prefix = media_prefix(attempt.job.media_id);
    auto replace = [this, prefix, puts = std::move(puts)]() -> Result<void> {
        for (auto const& name : output_prefixes)
            if (auto removed = blobs_.remove_all(prefix + "/" + std::string(name)); !removed) return removed;
        for (auto const& [key, file] : puts)
            if (auto put = blobs_.put_file(key, file); !put) return put;
        return ok();
    };
    co_return co_await offload(pool_, std::move(replace));
}

Task<void> TranscodeWorker::retry_later(Attempt& attempt, std::string reason) {
    attempt.log.warn("attempt {} ended: {}", attempt.job.attempts, reason);
    storage::JobRelease release{.owner = options_.owner,
                                .reason = std::move(reason),
                                .now = clock_.now(),
                                .max_attempts = options_.max_attempts,
                                .count_attempt = true};
    auto released = co_await meta_.release_jobs(std::move(release));
    if (!released) {
        // The lease expires by itself and the next claim retries the job.
        attempt.log.warn("release the job: {}", released.error().message());
        co_return;
    }
    for (auto const& job : *released)
        report(job.media_id, job.state, job.progress, job.state == "failed" ? job.error : std::nullopt);
}

Task<void> TranscodeWorker::fail(Attempt& attempt, std::string reason) {
    attempt.log.warn("transcode failed: {}", reason);
    auto failed = co_await meta_.fail_job(attempt.lease, reason, clock_.now());
    if (!failed) {
        attempt.log.warn("record the failure: {}", failed.error().message());
        co_return;
    }
    report(attempt.job.media_id, "failed", attempt.progress, std::move(reason));
}

}  // namespace onda::media
