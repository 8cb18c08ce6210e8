// The MetaStore contract for durable transcode jobs: enqueueing with the media, claiming with a lease,
// renewing, completing, failing, releasing a dead worker's jobs, and giving up after the last attempt.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "meta_store_backends.hpp"
#include "core/run_alone.hpp"
#include "storage/meta_store.hpp"

namespace onda::storage {
namespace {

using namespace std::chrono_literals;

SystemTime at_seconds(std::int64_t seconds) { return from_unix_micros(seconds * 1'000'000); }

MediaRecord make_media(std::string id, std::int64_t created_seconds, std::string transcode_state = "queued") {
    MediaRecord r;
    r.id = std::move(id);
    r.title = r.id;
    r.filename = r.id + ".wav";
    r.owner = "alice";
    r.visibility = "private";
    r.source = "upload";
    r.kind = "audio";
    r.content_type = "audio/wav";
    r.size = 1000;
    r.sha256 = std::string(64, 'b');
    r.duration = 1;
    r.format = "wav";
    r.created_at = at_seconds(created_seconds);
    r.transcode_state = std::move(transcode_state);
    return r;
}

JobLease lease_of(JobRecord const& job) {
    return JobLease{.job_id = job.id, .owner = job.lease_owner.value_or(""), .attempt = job.attempts};
}

template <class Backend>
class JobStoreContract : public ::testing::Test {
protected:
    MetaStore& store() { return *store_; }

    void add_ready(MediaRecord record) {
        std::string const id = record.id;
        auto inserted = run_alone(store().insert_media(std::move(record)));
        ASSERT_TRUE(inserted) << inserted.error().message();
        auto ready = run_alone(store().mark_media_ready(id));
        ASSERT_TRUE(ready) << ready.error().message();
    }

    ClaimedJob claim(std::string owner, SystemTime now, unsigned max_attempts = 3) {
        auto claimed = run_alone(store().claim_job(
            JobClaim{.owner = std::move(owner), .now = now, .lease = 30s, .max_attempts = max_attempts}));
        EXPECT_TRUE(claimed) << claimed.error().message();
        return claimed ? std::move(*claimed) : ClaimedJob{};
    }

    JobRecord job_of(std::string const& media_id) { return run_alone(store().find_transcode_job(media_id)).value(); }
    MediaRecord media(std::string const& id) { return run_alone(store().find_media(id)).value(); }

    std::vector<JobRecord> release(std::string owner, std::string reason, SystemTime now, unsigned max_attempts = 3,
                                   bool count_attempt = true) {
        auto released = run_alone(store().release_jobs(JobRelease{.owner = std::move(owner),
                                                                  .reason = std::move(reason),
                                                                  .now = now,
                                                                  .max_attempts = max_attempts,
                                                                  .count_attempt = count_attempt}));
        EXPECT_TRUE(released) << released.error().message();
        return released ? std::move(*released) : std::vector<JobRecord>{};
    }

    Backend backend_;
    std::unique_ptr<MetaStore> store_ = backend_.open();
};

TYPED_TEST_SUITE(JobStoreContract, test::MetaStoreBackends);

TYPED_TEST(JobStoreContract, ReadyMediaThatAsksForATranscodeGetsAQueuedJob) {
    this->add_ready(make_media("m_1", 100));
    JobRecord job = this->job_of("m_1");
    EXPECT_FALSE(job.id.empty());
    EXPECT_EQ(job.media_id, "m_1");
    EXPECT_EQ(job.kind, "transcode");
    EXPECT_EQ(job.state, "queued");
    EXPECT_EQ(job.attempts, 0u);
    EXPECT_FALSE(job.lease_owner);
    EXPECT_FALSE(job.lease_expires_at);
    EXPECT_EQ(job.progress, 0);
    EXPECT_FALSE(job.error);
    EXPECT_EQ(job.created_at, at_seconds(100));  // as old as its media: the queue runs in upload order
    EXPECT_EQ(this->media("m_1").transcode_state, "queued");
}

TYPED_TEST(JobStoreContract, MediaThatAsksForNoTranscodeGetsNoJob) {
    this->add_ready(make_media("m_1", 100, "none"));
    EXPECT_EQ(run_alone(this->store().find_transcode_job("m_1")).error().code(), Errc::not_found);
    EXPECT_FALSE(this->claim("w1", at_seconds(200)).job);
}

TYPED_TEST(JobStoreContract, APendingRowHasNoJobUntilItIsReady) {
    ASSERT_TRUE(run_alone(this->store().insert_media(make_media("m_1", 100))));
    EXPECT_EQ(run_alone(this->store().find_transcode_job("m_1")).error().code(), Errc::not_found);
    EXPECT_FALSE(this->claim("w1", at_seconds(200)).job);
    ASSERT_TRUE(run_alone(this->store().mark_media_ready("m_1")));
    EXPECT_TRUE(this->claim("w1", at_seconds(200)).job);
}

TYPED_TEST(JobStoreContract, ClaimTakesTheOldestQueuedJobAndLeasesIt) {
    this->add_ready(make_media("m_new", 300));
    this->add_ready(make_media("m_old", 100));
    ClaimedJob first = this->claim("w1", at_seconds(1000));
    ASSERT_TRUE(first.job);
    EXPECT_TRUE(first.gave_up.empty());
    EXPECT_EQ(first.job->media_id, "m_old");
    EXPECT_EQ(first.job->state, "running");
    EXPECT_EQ(first.job->attempts, 1u);
    EXPECT_EQ(first.job->lease_owner, "w1");
    EXPECT_EQ(first.job->lease_expires_at, at_seconds(1030));
    EXPECT_EQ(first.job->updated_at, at_seconds(1000));
    EXPECT_EQ(this->media("m_old").transcode_state, "running");
    EXPECT_EQ(this->media("m_new").transcode_state, "queued");

    ClaimedJob second = this->claim("w2", at_seconds(1001));
    ASSERT_TRUE(second.job);
    EXPECT_EQ(second.job->media_id, "m_new");
    EXPECT_EQ(second.job->lease_owner, "w2");
    EXPECT_FALSE(this->claim("w3", at_seconds(1002)).job);  // both are leased
}

TYPED_TEST(JobStoreContract, AnExpiredLeaseIsClaimedAgainAndTheOldHolderLosesIt) {
    this->add_ready(make_media("m_1", 100));
    JobRecord first = *this->claim("w1", at_seconds(1000)).job;
    EXPECT_FALSE(this->claim("w2", at_seconds(1029)).job);  // the lease runs to 1030
    ClaimedJob again = this->claim("w2", at_seconds(1030));
    ASSERT_TRUE(again.job);
    EXPECT_EQ(again.job->id, first.id);
    EXPECT_EQ(again.job->attempts, 2u);
    EXPECT_EQ(again.job->lease_owner, "w2");

    auto renewed = run_alone(this->store().renew_job(lease_of(first), 0.5, at_seconds(1031), 30s));
    ASSERT_FALSE(renewed);
    EXPECT_EQ(renewed.error().code(), Errc::conflict);
    auto completed = run_alone(this->store().complete_job(lease_of(first), TranscodeOutput{}, at_seconds(1031)));
    ASSERT_FALSE(completed);
    EXPECT_EQ(completed.error().code(), Errc::conflict);
    EXPECT_EQ(this->job_of("m_1").lease_owner, "w2");
}

TYPED_TEST(JobStoreContract, RenewExtendsTheLeaseAndRecordsProgressOnJobAndMedia) {
    this->add_ready(make_media("m_1", 100));
    JobRecord job = *this->claim("w1", at_seconds(1000)).job;
    ASSERT_TRUE(run_alone(this->store().renew_job(lease_of(job), 0.25, at_seconds(1020), 30s)));
    JobRecord renewed = this->job_of("m_1");
    EXPECT_EQ(renewed.progress, 0.25);
    EXPECT_EQ(renewed.lease_expires_at, at_seconds(1050));
    EXPECT_EQ(renewed.updated_at, at_seconds(1020));
    EXPECT_EQ(this->media("m_1").transcode_progress, 0.25);
    EXPECT_FALSE(this->claim("w2", at_seconds(1040)).job);  // past the first lease, inside the renewed one

    ASSERT_TRUE(run_alone(this->store().renew_job(lease_of(job), 7.0, at_seconds(1041), 30s)));
    EXPECT_EQ(this->media("m_1").transcode_progress, 1.0);  // clamped to 0..1
    ASSERT_TRUE(run_alone(this->store().renew_job(lease_of(job), std::nan(""), at_seconds(1042), 30s)));
    EXPECT_EQ(this->job_of("m_1").progress, 0.0);
}

TYPED_TEST(JobStoreContract, CompleteRecordsTheRenditionsOnTheMedia) {
    this->add_ready(make_media("m_1", 100));
    JobRecord job = *this->claim("w1", at_seconds(1000)).job;
    TranscodeOutput output{
        .renditions =
            boost::json::parse(R"([{"name":"aac-128","codec":"aac","bit_rate":128000,"container":"hls"}])").as_array(),
        .has_hls = true,
        .has_thumbnail = false,
        .has_waveform = true};
    ASSERT_TRUE(run_alone(this->store().complete_job(lease_of(job), output, at_seconds(1010))));
    MediaRecord media = this->media("m_1");
    EXPECT_EQ(media.transcode_state, "done");
    EXPECT_EQ(media.transcode_progress, 1.0);
    EXPECT_FALSE(media.transcode_error);
    EXPECT_EQ(media.renditions, output.renditions);
    EXPECT_TRUE(media.has_hls);
    EXPECT_FALSE(media.has_thumbnail);
    EXPECT_TRUE(media.has_waveform);
    JobRecord done = this->job_of("m_1");
    EXPECT_EQ(done.state, "done");
    EXPECT_EQ(done.progress, 1.0);
    EXPECT_FALSE(done.lease_owner);
    EXPECT_FALSE(this->claim("w2", at_seconds(5000)).job);  // a done job is never claimed, however late
    EXPECT_EQ(run_alone(this->store().complete_job(lease_of(job), output, at_seconds(1011))).error().code(),
              Errc::conflict);
}

TYPED_TEST(JobStoreContract, FailRecordsTheReasonOnJobAndMedia) {
    this->add_ready(make_media("m_1", 100));
    JobRecord job = *this->claim("w1", at_seconds(1000)).job;
    ASSERT_TRUE(run_alone(this->store().renew_job(lease_of(job), 0.4, at_seconds(1001), 30s)));
    ASSERT_TRUE(
        run_alone(this->store().fail_job(lease_of(job), "the audio stream cannot be decoded", at_seconds(1002))));
    MediaRecord media = this->media("m_1");
    EXPECT_EQ(media.transcode_state, "failed");
    EXPECT_EQ(media.transcode_error, "the audio stream cannot be decoded");
    EXPECT_EQ(media.transcode_progress, 0.4);  // how far it got
    JobRecord failed = this->job_of("m_1");
    EXPECT_EQ(failed.state, "failed");
    EXPECT_EQ(failed.error, "the audio stream cannot be decoded");
    EXPECT_FALSE(this->claim("w2", at_seconds(5000)).job);
}

TYPED_TEST(JobStoreContract, ReleaseRequeuesADeadWorkersJobsAndCountsTheAttempt) {
    this->add_ready(make_media("m_1", 100));
    this->add_ready(make_media("m_2", 200));
    this->add_ready(make_media("m_3", 300));
    JobRecord first = *this->claim("w1", at_seconds(1000)).job;
    JobRecord other = *this->claim("w2", at_seconds(1000)).job;
    ASSERT_TRUE(run_alone(this->store().renew_job(lease_of(first), 0.7, at_seconds(1001), 30s)));

    std::vector<JobRecord> released = this->release("w1", "the worker stopped (killed by signal 9)", at_seconds(1002));
    ASSERT_EQ(released.size(), 1u);
    EXPECT_EQ(released[0].id, first.id);
    EXPECT_EQ(released[0].state, "queued");
    EXPECT_EQ(released[0].attempts, 1u);
    EXPECT_EQ(released[0].error, "the worker stopped (killed by signal 9)");
    EXPECT_FALSE(released[0].lease_owner);
    JobRecord stored = this->job_of("m_1");
    EXPECT_EQ(stored.state, "queued");
    EXPECT_EQ(stored.progress, 0);
    MediaRecord media = this->media("m_1");
    EXPECT_EQ(media.transcode_state, "queued");
    EXPECT_EQ(media.transcode_progress, 0);
    EXPECT_EQ(this->job_of("m_2").lease_owner, "w2");  // another worker's job is untouched
    EXPECT_EQ(run_alone(this->store().renew_job(lease_of(first), 0.8, at_seconds(1003), 30s)).error().code(),
              Errc::conflict);

    // Retried at once, before the old lease would have expired, and ahead of the newer queued job.
    ClaimedJob retry = this->claim("w1", at_seconds(1003));
    ASSERT_TRUE(retry.job);
    EXPECT_EQ(retry.job->id, first.id);
    EXPECT_EQ(retry.job->attempts, 2u);
    EXPECT_FALSE(retry.job->error);
    EXPECT_TRUE(this->release("nobody", "x", at_seconds(1004)).empty());
    (void)other;
}

TYPED_TEST(JobStoreContract, ReleaseAtShutdownHandsTheAttemptBack) {
    this->add_ready(make_media("m_1", 100));
    (void)*this->claim("w1", at_seconds(1000)).job;
    std::vector<JobRecord> released = this->release("w1", "the server is stopping", at_seconds(1001), 1, false);
    ASSERT_EQ(released.size(), 1u);
    EXPECT_EQ(released[0].state, "queued");  // not failed, although max_attempts is 1
    EXPECT_EQ(released[0].attempts, 0u);
    EXPECT_FALSE(released[0].error);
    EXPECT_EQ(this->claim("w1", at_seconds(1002), 1).job->attempts, 1u);
}

TYPED_TEST(JobStoreContract, TheLastAttemptEndingInACrashFailsTheJobWithAReadableReason) {
    this->add_ready(make_media("m_1", 100));
    for (unsigned attempt = 1; attempt <= 3; ++attempt) {
        ClaimedJob claimed = this->claim("w1", at_seconds(1000 + attempt));
        ASSERT_TRUE(claimed.job) << "attempt " << attempt;
        EXPECT_EQ(claimed.job->attempts, attempt);
        std::vector<JobRecord> released =
            this->release("w1", "the worker stopped (killed by signal 9)", at_seconds(1000 + attempt));
        ASSERT_EQ(released.size(), 1u);
        EXPECT_EQ(released[0].state, attempt < 3 ? "queued" : "failed");
    }
    std::string const reason =
        "transcoding was tried 3 times; the last attempt: the worker stopped (killed by signal 9)";
    JobRecord job = this->job_of("m_1");
    EXPECT_EQ(job.state, "failed");
    EXPECT_EQ(job.error, reason);
    MediaRecord media = this->media("m_1");
    EXPECT_EQ(media.transcode_state, "failed");
    EXPECT_EQ(media.transcode_error, reason);
    EXPECT_FALSE(this->claim("w1", at_seconds(2000)).job);
}

TYPED_TEST(JobStoreContract, AClaimFailsAJobWhoseLastLeaseExpiredInsteadOfTakingIt) {
    this->add_ready(make_media("m_hung", 100));
    this->add_ready(make_media("m_next", 200));
    ASSERT_EQ(this->claim("w1", at_seconds(1000), 1).job->media_id, "m_hung");
    ClaimedJob claimed = this->claim("w2", at_seconds(1031), 1);  // m_hung's lease ran out at 1030
    ASSERT_EQ(claimed.gave_up.size(), 1u);
    EXPECT_EQ(claimed.gave_up[0].media_id, "m_hung");
    EXPECT_EQ(claimed.gave_up[0].state, "failed");
    ASSERT_TRUE(claimed.job);
    EXPECT_EQ(claimed.job->media_id, "m_next");
    MediaRecord hung = this->media("m_hung");
    EXPECT_EQ(hung.transcode_state, "failed");
    ASSERT_TRUE(hung.transcode_error);
    EXPECT_NE(hung.transcode_error->find("tried 1 time;"), std::string::npos) << *hung.transcode_error;
    EXPECT_NE(hung.transcode_error->find("a crash or a hang"), std::string::npos) << *hung.transcode_error;
}

TYPED_TEST(JobStoreContract, AQueuedJobWithItsAttemptsUsedUpIsFailedByTheClaim) {
    // The release counted the attempt under a larger max_attempts (a configuration change since).
    this->add_ready(make_media("m_1", 100));
    (void)*this->claim("w1", at_seconds(1000), 5).job;
    (void)*this->claim("w1", at_seconds(1031), 5).job;
    ASSERT_EQ(this->release("w1", "out of disk space", at_seconds(1032), 5)[0].state, "queued");
    ClaimedJob claimed = this->claim("w2", at_seconds(1033), 2);
    EXPECT_FALSE(claimed.job);
    ASSERT_EQ(claimed.gave_up.size(), 1u);
    EXPECT_EQ(claimed.gave_up[0].error, "transcoding was tried 2 times; the last attempt: out of disk space");
    EXPECT_EQ(this->media("m_1").transcode_error, claimed.gave_up[0].error);
}

TYPED_TEST(JobStoreContract, DeletingTheMediaDeletesItsJob) {
    this->add_ready(make_media("m_1", 100));
    JobRecord job = *this->claim("w1", at_seconds(1000)).job;
    ASSERT_TRUE(run_alone(this->store().delete_media("m_1")));
    EXPECT_EQ(run_alone(this->store().find_transcode_job("m_1")).error().code(), Errc::not_found);
    EXPECT_EQ(run_alone(this->store().renew_job(lease_of(job), 0.5, at_seconds(1001), 30s)).error().code(),
              Errc::not_found);
    EXPECT_EQ(run_alone(this->store().complete_job(lease_of(job), TranscodeOutput{}, at_seconds(1001))).error().code(),
              Errc::not_found);
    EXPECT_EQ(run_alone(this->store().fail_job(lease_of(job), "x", at_seconds(1001))).error().code(), Errc::not_found);
    EXPECT_TRUE(this->release("w1", "x", at_seconds(1001)).empty());
    EXPECT_FALSE(this->claim("w1", at_seconds(5000)).job);
}

TYPED_TEST(JobStoreContract, AChangeUnderAWrongOwnerOrAttemptIsAConflictAndChangesNothing) {
    this->add_ready(make_media("m_1", 100));
    JobRecord job = *this->claim("w1", at_seconds(1000)).job;
    JobLease wrong_owner = lease_of(job);
    wrong_owner.owner = "w2";
    JobLease wrong_attempt = lease_of(job);
    wrong_attempt.attempt = 2;
    for (JobLease const& lease : {wrong_owner, wrong_attempt}) {
        EXPECT_EQ(run_alone(this->store().renew_job(lease, 0.5, at_seconds(1001), 30s)).error().code(), Errc::conflict);
        EXPECT_EQ(run_alone(this->store().fail_job(lease, "x", at_seconds(1001))).error().code(), Errc::conflict);
        EXPECT_EQ(run_alone(this->store().complete_job(lease, TranscodeOutput{}, at_seconds(1001))).error().code(),
                  Errc::conflict);
    }
    JobRecord unchanged = this->job_of("m_1");
    EXPECT_EQ(unchanged.state, "running");
    EXPECT_EQ(unchanged.progress, 0);
    EXPECT_EQ(unchanged.lease_expires_at, at_seconds(1030));
}

TYPED_TEST(JobStoreContract, ClaimsFromTwoConnectionsAtOnceNeverShareAJob) {
    constexpr int media_count = 40;
    for (int i = 0; i < media_count; ++i) this->add_ready(make_media("m_" + std::to_string(i), 100 + i));
    // A second store on the same database stands for another process (a second SQLite connection).
    std::unique_ptr<MetaStore> other = this->backend_.open();
    std::vector<std::string> claimed_a;
    std::vector<std::string> claimed_b;
    std::atomic<int> failures{0};
    auto drain = [&failures](MetaStore& store, std::string owner, std::vector<std::string>& claimed) {
        for (;;) {
            auto job = run_alone(store.claim_job(JobClaim{.owner = owner, .now = at_seconds(1000), .lease = 30s}));
            if (!job) {
                ++failures;
                return;
            }
            if (!job->job) return;
            claimed.push_back(job->job->media_id);
        }
    };
    std::thread a([&] { drain(this->store(), "a", claimed_a); });
    std::thread b([&] { drain(*other, "b", claimed_b); });
    a.join();
    b.join();
    EXPECT_EQ(failures.load(), 0);
    std::multiset<std::string> all(claimed_a.begin(), claimed_a.end());
    all.insert(claimed_b.begin(), claimed_b.end());
    EXPECT_EQ(all.size(), static_cast<std::size_t>(media_count));
    EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), static_cast<std::size_t>(media_count));
}

}  // namespace
}  // namespace onda::storage
