// SqliteMetaStore: durable transcode jobs (table `jobs`, migration step 3) and the media columns that
// follow them. Every change is one short IMMEDIATE transaction (sqlite_meta_store.hpp), so a claim in
// one process and a renewal in another never see each other half done.
#include <algorithm>
#include <cmath>
#include <functional>
#include <string>

#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <sqlite3.h>

#include "storage/detail/sqlite.hpp"
#include "storage/sqlite_meta_store.hpp"

namespace onda::storage {
namespace {

using detail::Statement;

constexpr char const* job_columns =
    "id, media_id, kind, state, attempts, lease_owner, lease_expires_at, progress, error, created_at, updated_at";

// A claim meets at most this many jobs with used-up attempts before it stops looking (and the next
// claim carries on), so one transaction stays short even after a long outage.
constexpr int max_give_ups_per_claim = 32;

JobRecord read_job(Statement const& row) {
    JobRecord job;
    job.id = row.text(0);
    job.media_id = row.text(1);
    job.kind = row.text(2);
    job.state = row.text(3);
    job.attempts = static_cast<unsigned>(std::clamp<std::int64_t>(row.integer(4), 0, 1'000'000));
    job.lease_owner = row.optional_text(5);
    if (row.optional_text(6)) job.lease_expires_at = from_unix_micros(row.integer(6));
    job.progress = row.real(7);
    job.error = row.optional_text(8);
    job.created_at = from_unix_micros(row.integer(9));
    job.updated_at = from_unix_micros(row.integer(10));
    return job;
}

// 0..1; NaN (which SQLite would store as NULL) counts as no progress.
double clamp_progress(double progress) { return std::isnan(progress) ? 0.0 : std::clamp(progress, 0.0, 1.0); }

std::int64_t micros_after(SystemTime now, std::chrono::milliseconds lease) {
    return to_unix_micros(now) + std::chrono::duration_cast<std::chrono::microseconds>(lease).count();
}

// Runs a statement that returns no rows.
Result<void> run(Statement& stmt) {
    auto row = stmt.step();
    if (!row) return row.error();
    return ok();
}

Result<JobRecord> find_job_by_id(sqlite3* db, std::string const& id) {
    auto stmt = Statement::prepare(db, std::string("SELECT ") + job_columns + " FROM jobs WHERE id = :id");
    if (!stmt) return stmt.error();
    stmt->bind_text(":id", id);
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) return Error(Errc::not_found, "no job " + id);
    return read_job(*stmt);
}

// Sets the transcode fields of the job's media row; a progress of nullopt keeps the one it has.
Result<void> set_media_transcode(sqlite3* db, std::string const& media_id, std::string_view state,
                                 std::optional<double> progress, std::optional<std::string> const& error) {
    auto stmt = Statement::prepare(db, R"sql(UPDATE media
SET transcode_state = :state, transcode_progress = coalesce(:progress, transcode_progress), transcode_error = :error
WHERE id = :id)sql");
    if (!stmt) return stmt.error();
    stmt->bind_text(":id", media_id);
    stmt->bind_text(":state", state);
    if (progress)
        stmt->bind_real(":progress", *progress);
    else
        stmt->bind_null(":progress");
    stmt->bind_optional_text(":error", error);
    return run(*stmt);
}

// Why a change under `lease` touched nothing: the job is gone (not_found) or leased otherwise (conflict).
Error lost_lease(sqlite3* db, JobLease const& lease) {
    auto job = find_job_by_id(db, lease.job_id);
    if (!job) {
        if (job.error().code() == Errc::not_found) return Error(Errc::not_found, "job " + lease.job_id + " is gone");
        return job.error();
    }
    return Error(Errc::conflict, fmt::format("job {} is no longer leased to {} (attempt {}): it is {}, attempt {}",
                                             lease.job_id, lease.owner, lease.attempt, job->state, job->attempts));
}

// Changes the job held under `lease` (a running job with that owner and attempt) with `sql`, which
// must end with the lease condition and `RETURNING media_id`; returns that media id.
Result<std::string> change_leased(sqlite3* db, std::string const& sql, JobLease const& lease,
                                  std::function<void(Statement&)> const& bind) {
    auto stmt = Statement::prepare(db, sql);
    if (!stmt) return stmt.error();
    stmt->bind_text(":id", lease.job_id);
    stmt->bind_text(":owner", lease.owner);
    stmt->bind_int(":attempt", static_cast<std::int64_t>(lease.attempt));
    bind(*stmt);
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) return lost_lease(db, lease);
    std::string media_id = stmt->text(0);
    if (auto finished = run(*stmt); !finished) return finished.error();
    return media_id;
}

constexpr char const* lease_condition =
    " WHERE id = :id AND state = 'running' AND lease_owner = :owner AND attempts = :attempt RETURNING media_id";

// Marks `job` failed for good with `reason`, and its media too.
Result<void> give_up(sqlite3* db, JobRecord& job, std::string reason, SystemTime now) {
    auto stmt = Statement::prepare(db, R"sql(UPDATE jobs
SET state = 'failed', error = :error, lease_owner = NULL, lease_expires_at = NULL, updated_at = :now WHERE id = :id)sql");
    if (!stmt) return stmt.error();
    stmt->bind_text(":id", job.id);
    stmt->bind_text(":error", reason);
    stmt->bind_int(":now", to_unix_micros(now));
    if (auto done = run(*stmt); !done) return done;
    if (auto media = set_media_transcode(db, job.media_id, "failed", std::nullopt, reason); !media) return media;
    job.state = "failed";
    job.error = std::move(reason);
    job.lease_owner.reset();
    job.lease_expires_at.reset();
    job.updated_at = now;
    return ok();
}

std::string gave_up_reason(unsigned attempts, std::string_view last) {
    return fmt::format("transcoding was tried {} time{}; the last attempt: {}", attempts, attempts == 1 ? "" : "s",
                       last);
}

namespace blocking {

Result<JobRecord> find_transcode_job(sqlite3* db, std::string const& media_id) {
    auto stmt = Statement::prepare(
        db, std::string("SELECT ") + job_columns + " FROM jobs WHERE media_id = :media_id AND kind = 'transcode'");
    if (!stmt) return stmt.error();
    stmt->bind_text(":media_id", media_id);
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) return Error(Errc::not_found, "no transcode job for media " + media_id);
    return read_job(*stmt);
}

Result<ClaimedJob> claim_job(sqlite3* db, JobClaim const& claim) {
    if (claim.max_attempts == 0) return Error(Errc::invalid_argument, "max_attempts must be at least 1");
    return detail::immediate_transaction(db, [&]() -> Result<ClaimedJob> {
        ClaimedJob claimed;
        std::string const next_sql = std::string("SELECT ") + job_columns + R"sql( FROM jobs
WHERE state = 'queued' OR (state = 'running' AND lease_expires_at <= :now)
ORDER BY created_at, id LIMIT 1)sql";
        for (int met = 0; met <= max_give_ups_per_claim; ++met) {
            JobRecord job;
            {  // the statement ends before the updates below change the rows it reads
                auto next = Statement::prepare(db, next_sql);
                if (!next) return next.error();
                next->bind_int(":now", to_unix_micros(claim.now));
                auto row = next->step();
                if (!row) return row.error();
                if (!*row) return claimed;
                job = read_job(*next);
            }
            if (job.attempts >= claim.max_attempts) {
                // A running job found here stopped renewing its lease: its worker crashed or hung
                // where no supervisor saw it (another node, or a server that died with it).
                std::string last = job.state == "running" ? "the worker stopped renewing its lease (a crash or a hang)"
                                                          : job.error.value_or("it did not finish");
                if (auto failed = give_up(db, job, gave_up_reason(job.attempts, last), claim.now); !failed)
                    return failed.error();
                claimed.gave_up.push_back(std::move(job));
                continue;
            }
            auto take = Statement::prepare(db, std::string(R"sql(UPDATE jobs
SET state = 'running', attempts = attempts + 1, lease_owner = :owner, lease_expires_at = :until, progress = 0,
    error = NULL, updated_at = :now
WHERE id = :id RETURNING )sql") + job_columns);
            if (!take) return take.error();
            take->bind_text(":id", job.id);
            take->bind_text(":owner", claim.owner);
            take->bind_int(":until", micros_after(claim.now, claim.lease));
            take->bind_int(":now", to_unix_micros(claim.now));
            auto taken = take->step();
            if (!taken) return taken.error();
            if (!*taken) return Error(Errc::internal, "job " + job.id + " vanished inside its claim");
            claimed.job = read_job(*take);
            if (auto finished = run(*take); !finished) return finished.error();
            if (auto media = set_media_transcode(db, job.media_id, "running", 0, std::nullopt); !media)
                return media.error();
            return claimed;
        }
        return claimed;  // gave up on many; the next claim goes on
    });
}

Result<void> renew_job(sqlite3* db, JobLease const& lease, double progress, SystemTime now,
                       std::chrono::milliseconds lease_time) {
    double const p = clamp_progress(progress);
    return detail::immediate_transaction(db, [&]() -> Result<void> {
        auto media_id = change_leased(
            db,
            std::string("UPDATE jobs SET progress = :progress, lease_expires_at = :until, updated_at = :now") +
                lease_condition,
            lease, [&](Statement& stmt) {
                stmt.bind_real(":progress", p);
                stmt.bind_int(":until", micros_after(now, lease_time));
                stmt.bind_int(":now", to_unix_micros(now));
            });
        if (!media_id) return media_id.error();
        return set_media_transcode(db, *media_id, "running", p, std::nullopt);
    });
}

Result<void> complete_job(sqlite3* db, JobLease const& lease, TranscodeOutput const& output, SystemTime now) {
    return detail::immediate_transaction(db, [&]() -> Result<void> {
        auto media_id = change_leased(db,
                                      std::string("UPDATE jobs SET state = 'done', progress = 1, error = NULL, "
                                                  "lease_owner = NULL, lease_expires_at = NULL, updated_at = :now") +
                                          lease_condition,
                                      lease, [&](Statement& stmt) { stmt.bind_int(":now", to_unix_micros(now)); });
        if (!media_id) return media_id.error();
        auto stmt = Statement::prepare(db, R"sql(UPDATE media
SET transcode_state = 'done', transcode_progress = 1, transcode_error = NULL, renditions = :renditions,
    has_hls = :has_hls, has_thumbnail = :has_thumbnail, has_waveform = :has_waveform
WHERE id = :id)sql");
        if (!stmt) return stmt.error();
        stmt->bind_text(":id", *media_id);
        stmt->bind_text(":renditions", boost::json::serialize(output.renditions));
        stmt->bind_int(":has_hls", output.has_hls ? 1 : 0);
        stmt->bind_int(":has_thumbnail", output.has_thumbnail ? 1 : 0);
        stmt->bind_int(":has_waveform", output.has_waveform ? 1 : 0);
        return run(*stmt);
    });
}

Result<void> fail_job(sqlite3* db, JobLease const& lease, std::string const& reason, SystemTime now) {
    return detail::immediate_transaction(db, [&]() -> Result<void> {
        auto media_id = change_leased(db,
                                      std::string("UPDATE jobs SET state = 'failed', error = :error, "
                                                  "lease_owner = NULL, lease_expires_at = NULL, updated_at = :now") +
                                          lease_condition,
                                      lease, [&](Statement& stmt) {
                                          stmt.bind_text(":error", reason);
                                          stmt.bind_int(":now", to_unix_micros(now));
                                      });
        if (!media_id) return media_id.error();
        return set_media_transcode(db, *media_id, "failed", std::nullopt, reason);
    });
}

Result<std::vector<JobRecord>> release_jobs(sqlite3* db, JobRelease const& release) {
    return detail::immediate_transaction(db, [&]() -> Result<std::vector<JobRecord>> {
        auto select = Statement::prepare(
            db, std::string("SELECT ") + job_columns +
                    " FROM jobs WHERE state = 'running' AND lease_owner = :owner ORDER BY created_at, id");
        if (!select) return select.error();
        select->bind_text(":owner", release.owner);
        std::vector<JobRecord> jobs;
        for (;;) {
            auto row = select->step();
            if (!row) return row.error();
            if (!*row) break;
            jobs.push_back(read_job(*select));
        }
        for (auto& job : jobs) {
            if (release.count_attempt && job.attempts >= release.max_attempts) {
                if (auto failed = give_up(db, job, gave_up_reason(job.attempts, release.reason), release.now); !failed)
                    return failed.error();
                continue;
            }
            // An interrupted attempt (shutdown) is handed back uncounted; the claim counted it.
            unsigned const attempts = release.count_attempt || job.attempts == 0 ? job.attempts : job.attempts - 1;
            std::optional<std::string> error;
            if (release.count_attempt) error = release.reason;
            auto requeue = Statement::prepare(db, R"sql(UPDATE jobs
SET state = 'queued', attempts = :attempts, lease_owner = NULL, lease_expires_at = NULL, progress = 0,
    error = :error, updated_at = :now
WHERE id = :id)sql");
            if (!requeue) return requeue.error();
            requeue->bind_text(":id", job.id);
            requeue->bind_int(":attempts", attempts);
            requeue->bind_optional_text(":error", error);
            requeue->bind_int(":now", to_unix_micros(release.now));
            if (auto done = run(*requeue); !done) return done.error();
            if (auto media = set_media_transcode(db, job.media_id, "queued", 0, std::nullopt); !media)
                return media.error();
            job.state = "queued";
            job.attempts = attempts;
            job.lease_owner.reset();
            job.lease_expires_at.reset();
            job.progress = 0;
            job.error = std::move(error);
            job.updated_at = release.now;
        }
        return jobs;
    });
}

}  // namespace blocking
}  // namespace

Task<Result<JobRecord>> SqliteMetaStore::find_transcode_job(std::string media_id) {
    auto job = [m = std::move(media_id)](sqlite3* db) { return blocking::find_transcode_job(db, m); };
    co_return co_await run_locked(std::move(job));
}

Task<Result<ClaimedJob>> SqliteMetaStore::claim_job(JobClaim claim) {
    auto job = [c = std::move(claim)](sqlite3* db) { return blocking::claim_job(db, c); };
    co_return co_await run_locked(std::move(job));
}

Task<Result<void>> SqliteMetaStore::renew_job(JobLease lease, double progress, SystemTime now,
                                              std::chrono::milliseconds lease_time) {
    auto job = [l = std::move(lease), progress, now, lease_time](sqlite3* db) {
        return blocking::renew_job(db, l, progress, now, lease_time);
    };
    co_return co_await run_locked(std::move(job));
}

Task<Result<void>> SqliteMetaStore::complete_job(JobLease lease, TranscodeOutput output, SystemTime now) {
    auto job = [l = std::move(lease), o = std::move(output), now](sqlite3* db) {
        return blocking::complete_job(db, l, o, now);
    };
    co_return co_await run_locked(std::move(job));
}

Task<Result<void>> SqliteMetaStore::fail_job(JobLease lease, std::string reason, SystemTime now) {
    auto job = [l = std::move(lease), r = std::move(reason), now](sqlite3* db) {
        return blocking::fail_job(db, l, r, now);
    };
    co_return co_await run_locked(std::move(job));
}

Task<Result<std::vector<JobRecord>>> SqliteMetaStore::release_jobs(JobRelease release) {
    auto job = [r = std::move(release)](sqlite3* db) { return blocking::release_jobs(db, r); };
    co_return co_await run_locked(std::move(job));
}

}  // namespace onda::storage
