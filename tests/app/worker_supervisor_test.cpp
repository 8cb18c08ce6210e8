// The supervisor with real child processes: a small shell script stands in for `onda worker` (it
// records its pid, prints the report line it is given, then sleeps or exits), so starting, reading
// reports, reaping, restarting with backoff and stopping are all real; the jobs are real SQLite rows.
#include "app/worker_supervisor.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <mutex>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include "app/job_report.hpp"
#include "core/ids.hpp"
#include "storage/sqlite_meta_store.hpp"
#include "core/run_alone.hpp"
#include "support/eventually.hpp"
#include "support/temp_dir.hpp"

namespace onda::app {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::eventually;

bool is_alive(pid_t pid) { return ::kill(pid, 0) == 0; }

// Called as: <script> worker <pid file> <report line> <exit code or "sleep"> --id NAME
constexpr char const* fake_worker = R"sh(#!/bin/sh
echo $$ >> "$2"
printf '%s\n' "not a report" "$3"
if [ "$4" = sleep ]; then exec sleep 60; fi
exit "$4"
)sh";

class WorkerSupervisorTest : public ::testing::Test {
protected:
    WorkerSupervisorTest() {
        script_ = dir_.path() / "fake-worker.sh";
        std::ofstream(script_) << fake_worker;
        fs::permissions(script_, fs::perms::owner_all);
    }

    ~WorkerSupervisorTest() override {
        if (thread_.joinable()) stop();
        // Store work still running on the pool (the jobs of a child that just died being handed
        // back) posts its end to context_: it must finish before context_ is destroyed, as serve
        // joins its pool before its contexts go.
        pool_.join();
    }

    // A ready media whose transcode job is claimed by `owner`, as a worker of that name would.
    std::string claimed_media(std::string const& owner) {
        std::string const id = make_id("m");
        storage::MediaRecord record;
        record.id = id;
        record.owner = "alice";
        record.visibility = "private";
        record.created_at = SystemClock().now();
        record.transcode_state = "queued";
        EXPECT_TRUE(run_alone(meta_->insert_media(record)));
        EXPECT_TRUE(run_alone(meta_->mark_media_ready(id)));
        auto claimed = run_alone(meta_->claim_job(storage::JobClaim{.owner = owner, .now = clock_.now(), .lease = 1h}));
        EXPECT_TRUE(claimed && claimed->job && claimed->job->media_id == id);
        return id;
    }

    void start(std::string report, std::string exit_mode, unsigned workers = 1) {
        supervisor_ = std::make_unique<WorkerSupervisor>(
            context_, *meta_, clock_, [this](media::JobEvent event) { return record(std::move(event)); },
            SupervisorOptions{.workers = workers,
                              .program = script_,
                              .arguments = {(dir_.path() / "pids").string(), std::move(report), std::move(exit_mode)},
                              .name_prefix = "test.",
                              .first_backoff = 100ms,
                              .max_backoff = 1s});
        net::post(context_, [this] { supervisor_->start(); });
        started_at_ = std::chrono::steady_clock::now();
        thread_ = std::thread([this] { context_.run(); });
    }

    void stop() {
        net::post(context_, [this] {
            supervisor_->begin_stop();
            context_.stop();
        });
        thread_.join();
        supervisor_->finish_stop(5s);
    }

    std::vector<pid_t> pids() const {
        std::ifstream in(dir_.path() / "pids");
        std::vector<pid_t> pids;
        for (pid_t pid = 0; in >> pid;) pids.push_back(pid);
        return pids;
    }

    Task<> record(media::JobEvent event) {
        std::lock_guard lock(mutex_);
        events_.push_back(std::move(event));
        co_return;
    }
    std::vector<media::JobEvent> events() {
        std::lock_guard lock(mutex_);
        return events_;
    }

    onda::test::TempDir dir_;
    fs::path script_;
    net::thread_pool pool_{2};
    std::unique_ptr<storage::SqliteMetaStore> meta_ =
        storage::SqliteMetaStore::open(dir_.path() / "onda.db", pool_).value();
    SystemClock clock_;
    net::io_context context_;
    std::unique_ptr<WorkerSupervisor> supervisor_;
    std::chrono::steady_clock::time_point started_at_;
    std::thread thread_;
    std::mutex mutex_;
    std::vector<media::JobEvent> events_;
};

TEST_F(WorkerSupervisorTest, ReadsReportsRestartsADeadChildAndHandsItsJobBack) {
    std::string const id = claimed_media("test.w1");
    std::string report = format_job_report({.media_id = id, .state = "running", .progress = 0.5});
    report.pop_back();  // the script adds the newline
    start(report, "sleep");
    ASSERT_TRUE(eventually([&] { return pids().size() == 1 && events().size() == 1; }));
    EXPECT_EQ(events()[0].media_id, id);  // "not a report" was dropped
    EXPECT_EQ(events()[0].state, "running");
    EXPECT_EQ(events()[0].progress, 0.5);

    pid_t const first = pids()[0];
    ASSERT_EQ(::kill(first, SIGKILL), 0);
    ASSERT_TRUE(eventually([&] { return pids().size() == 2; }));  // restarted after the first backoff
    EXPECT_NE(pids()[1], first);
    EXPECT_TRUE(is_alive(pids()[1]));
    auto job = run_alone(meta_->find_transcode_job(id)).value();
    EXPECT_EQ(job.state, "queued");
    EXPECT_EQ(job.attempts, 1u);
    EXPECT_EQ(job.error, "the worker stopped: killed by SIGKILL");
    bool requeued = false;
    for (auto const& event : events()) requeued = requeued || (event.media_id == id && event.state == "queued");
    EXPECT_TRUE(requeued);
    stop();
}

TEST_F(WorkerSupervisorTest, TheLastAttemptDyingFailsTheJobWithTheReason) {
    std::string const id = claimed_media("test.w1");
    // Two more claims, as if the job had already killed two workers.
    for (int i = 0; i < 2; ++i) {
        ASSERT_EQ(
            run_alone(meta_->release_jobs(storage::JobRelease{.owner = "test.w1", .reason = "x", .now = clock_.now()}))
                ->size(),
            1u);
        ASSERT_TRUE(
            run_alone(meta_->claim_job(storage::JobClaim{.owner = "test.w1", .now = clock_.now(), .lease = 1h}))->job);
    }
    start("", "sleep");
    ASSERT_TRUE(eventually([&] { return pids().size() == 1; }));
    ASSERT_EQ(::kill(pids()[0], SIGSEGV), 0);
    ASSERT_TRUE(eventually([&] { return run_alone(meta_->find_transcode_job(id))->state == "failed"; }));
    EXPECT_EQ(run_alone(meta_->find_media(id))->transcode_error,
              "transcoding was tried 3 times; the last attempt: the worker stopped: killed by SIGSEGV");
    ASSERT_TRUE(eventually([&] { return !events().empty() && events().back().state == "failed"; }));
    stop();
}

TEST_F(WorkerSupervisorTest, AChildThatKeepsDyingIsRestartedWithAGrowingDelay) {
    start("", "3");
    ASSERT_TRUE(eventually([&] { return pids().size() >= 3; }));
    // Three starts take at least the first two backoffs (100 ms, then 200 ms).
    EXPECT_GE(std::chrono::steady_clock::now() - started_at_, 300ms);
    stop();
}

TEST_F(WorkerSupervisorTest, StoppingEndsEveryChildAndHandsTheirJobsBackUncounted) {
    std::string const id = claimed_media("test.w2");
    start("", "sleep", 2);
    ASSERT_TRUE(eventually([&] { return pids().size() == 2; }));
    auto const children = pids();
    stop();
    for (pid_t pid : children) EXPECT_FALSE(is_alive(pid)) << pid;  // reaped, not zombies
    auto job = run_alone(meta_->find_transcode_job(id)).value();
    EXPECT_EQ(job.state, "queued");
    EXPECT_EQ(job.attempts, 0u);
}

TEST(DescribeExit, SaysHowAChildEnded) {
    EXPECT_EQ(describe_exit(3 << 8), "exited with code 3");
    EXPECT_EQ(describe_exit(0), "exited with code 0");
    EXPECT_EQ(describe_exit(75 << 8), "exited with code 75 (a transcode stalled)");
    EXPECT_EQ(describe_exit(SIGKILL), "killed by SIGKILL");
    EXPECT_EQ(describe_exit(SIGSEGV), "killed by SIGSEGV");
}

}  // namespace
}  // namespace onda::app
