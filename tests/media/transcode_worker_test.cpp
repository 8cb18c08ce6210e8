// The worker's job loop against a real SQLite MetaStore and a real local BlobStore. The transcoder is a
// function of the test (the ladder's stand-in): it writes files, fails, hangs or waits for the test.
#include "media/transcode_worker.hpp"

#include <condition_variable>
#include <fstream>
#include <future>
#include <iterator>
#include <mutex>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "core/ids.hpp"
#include "media/library.hpp"
#include "storage/local_blob_store.hpp"
#include "storage/sqlite_meta_store.hpp"
#include "core/run_alone.hpp"
#include "support/eventually.hpp"
#include "support/media_tools.hpp"
#include "support/temp_dir.hpp"

namespace onda::media {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::eventually;
using test::read_file;

void write_file(fs::path const& file, std::string const& bytes) {
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << bytes;
}

// What a successful ladder leaves: an HLS rung, a progressive file and a waveform.
Result<LadderResult> write_outputs(fs::path const& out_dir) {
    LadderResult result;
    for (auto const* file : {"hls/master.m3u8", "hls/aac-64/index.m3u8", "files/mp3-128.mp3", "waveform.json"}) {
        write_file(out_dir / file, std::string("bytes of ") + file);
        result.files.emplace_back(file);
    }
    result.renditions = boost::json::parse(R"([{"name":"aac-64","codec":"aac","bit_rate":64000,"container":"hls"},
        {"name":"mp3-128","codec":"mp3","bit_rate":128000,"container":"mp3","size":26}])")
                            .as_array();
    result.hls = true;
    result.waveform = true;
    return result;
}

// A gate a transcoder waits at until the test opens it (or a deadline passes, so a failing test ends).
class Gate {
public:
    void open() {
        std::lock_guard lock(mutex_);
        open_ = true;
        changed_.notify_all();
    }
    void wait() {
        std::unique_lock lock(mutex_);
        changed_.wait_for(lock, 30s, [this] { return open_; });
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    bool open_ = false;
};

// A BlobStore whose objects are not local files (as S3's are not): its readers have no descriptor.
class RemoteLikeBlobStore final : public storage::BlobStore {
public:
    explicit RemoteLikeBlobStore(storage::BlobStore& inner) : inner_(inner) {}
    Result<void> put_file(std::string_view key, fs::path const& source) override {
        return inner_.put_file(key, source);
    }
    Result<std::unique_ptr<storage::BlobReader>> open(std::string_view key) override {
        auto reader = inner_.open(key);
        if (!reader) return reader.error();
        return std::unique_ptr<storage::BlobReader>(std::make_unique<Reader>(std::move(*reader)));
    }
    Result<bool> exists(std::string_view key) override { return inner_.exists(key); }
    Result<void> remove_all(std::string_view prefix) override { return inner_.remove_all(prefix); }
    Result<void> ping() override { return inner_.ping(); }

private:
    class Reader final : public storage::BlobReader {
    public:
        explicit Reader(std::unique_ptr<storage::BlobReader> inner) : inner_(std::move(inner)) {}
        std::uint64_t size() const override { return inner_->size(); }
        SystemTime modified() const override { return inner_->modified(); }
        int native_handle() const override { return -1; }
        Result<std::size_t> read_at(std::uint64_t offset, std::span<char> out) override {
            return inner_->read_at(offset, out);
        }

    private:
        std::unique_ptr<storage::BlobReader> inner_;
    };
    storage::BlobStore& inner_;
};

class TranscodeWorkerTest : public ::testing::Test {
protected:
    // A worker running run() on a thread of its own until stop() or the end of the test.
    class Running {
    public:
        Running(TranscodeWorkerTest& test, TranscodeFn transcode, TranscodeWorkerOptions options,
                storage::BlobStore* blobs = nullptr)
            : worker_(
                  *test.meta_, blobs ? *blobs : *test.blobs_, test.pool_, test.clock_, std::move(transcode),
                  [&test](JobEvent const& event) { test.record(event); }, std::move(options)),
              outcome_(net::co_spawn(context_, worker_.run(), net::use_future)),
              thread_([this] { context_.run(); }) {}
        ~Running() {
            if (thread_.joinable()) (void)stop();
        }
        Result<WorkerStop> stop() {
            net::post(context_, [this] { worker_.stop(); });
            return finished();
        }
        // run()'s outcome, once it returned by itself (a stall).
        Result<WorkerStop> finished() {
            thread_.join();
            return outcome_.get();
        }

    private:
        net::io_context context_;
        TranscodeWorker worker_;
        std::future<Result<WorkerStop>> outcome_;
        std::thread thread_;
    };

    TranscodeWorkerOptions options(std::string owner = "w1") const {
        return TranscodeWorkerOptions{.owner = owner,
                                      .scratch_dir = dir_.path() / "work" / owner,
                                      .lease = 3s,
                                      .stall_timeout = 10s,
                                      .max_attempts = 3,
                                      .poll_interval = 20ms,
                                      .report_interval = 20ms};
    }

    // A ready media object with `bytes` as its original, queued for transcoding (as Library::ingest does).
    std::string add_media(std::string const& bytes) {
        std::string const id = make_id("m");
        storage::MediaRecord record;
        record.id = id;
        record.title = record.filename = "clip.wav";
        record.owner = "alice";
        record.visibility = "private";
        record.source = "upload";
        record.kind = "audio";
        record.content_type = "audio/wav";
        record.size = bytes.size();
        record.sha256 = std::string(64, '0');
        record.format = "wav";
        record.created_at = clock_.now();
        record.transcode_state = "queued";
        EXPECT_TRUE(run_alone(meta_->insert_media(record)));
        fs::path const spooled = dir_.path() / "blobs" / ("spool-" + id);
        write_file(spooled, bytes);
        EXPECT_TRUE(blobs_->put_file(original_key(id), spooled));
        EXPECT_TRUE(run_alone(meta_->mark_media_ready(id)));
        return id;
    }

    storage::JobRecord job_of(std::string const& media_id) {
        return run_alone(meta_->find_transcode_job(media_id)).value();
    }
    storage::MediaRecord media(std::string const& id) { return run_alone(meta_->find_media(id)).value(); }
    bool job_is(std::string const& media_id, std::string_view state) {
        auto job = run_alone(meta_->find_transcode_job(media_id));
        return job && job->state == state;
    }
    bool blob_exists(std::string const& key) { return blobs_->exists(key).value(); }

    void record(JobEvent const& event) {
        std::lock_guard lock(events_mutex_);
        events_.push_back(event);
    }
    std::vector<JobEvent> events() {
        std::lock_guard lock(events_mutex_);
        return events_;
    }

    onda::test::TempDir dir_;
    net::thread_pool pool_{2};
    std::unique_ptr<storage::SqliteMetaStore> meta_ =
        storage::SqliteMetaStore::open(dir_.path() / "onda.db", pool_).value();
    std::unique_ptr<storage::LocalBlobStore> blobs_ = storage::LocalBlobStore::open(dir_.path() / "blobs").value();
    SystemClock clock_;
    std::mutex events_mutex_;
    std::vector<JobEvent> events_;
};

TEST_F(TranscodeWorkerTest, RunsAJobAndStoresEveryOutputBesideTheOriginal) {
    std::string const original = "the original bytes";
    std::string const id = add_media(original);
    std::atomic<int> calls{0};
    std::string seen_source;
    TranscodeFn transcode = [&](fs::path const& source, fs::path const& out_dir, LadderProgress const& progress) {
        ++calls;
        seen_source = read_file(source);
        EXPECT_TRUE(fs::is_empty(out_dir));
        progress(0.5);
        progress(1.0);
        return write_outputs(out_dir);
    };
    Running worker(*this, transcode, options());
    ASSERT_TRUE(eventually([&] { return job_is(id, "done"); }));
    EXPECT_EQ(worker.stop().value(), WorkerStop::stopped);

    EXPECT_EQ(calls.load(), 1);
    EXPECT_EQ(seen_source, original);
    storage::MediaRecord done = media(id);
    EXPECT_EQ(done.transcode_state, "done");
    EXPECT_EQ(done.transcode_progress, 1.0);
    EXPECT_FALSE(done.transcode_error);
    EXPECT_EQ(done.renditions.size(), 2u);
    EXPECT_TRUE(done.has_hls);
    EXPECT_TRUE(done.has_waveform);
    EXPECT_FALSE(done.has_thumbnail);
    std::string const prefix = "media/" + id + "/";
    for (auto const* file : {"hls/master.m3u8", "hls/aac-64/index.m3u8", "files/mp3-128.mp3", "waveform.json"})
        EXPECT_TRUE(blob_exists(prefix + file)) << file;
    EXPECT_EQ(read_file(dir_.path() / "blobs" / "media" / id / "hls" / "master.m3u8"), "bytes of hls/master.m3u8");
    EXPECT_EQ(read_file(dir_.path() / "blobs" / original_key(id)), original);
    EXPECT_TRUE(fs::is_empty(dir_.path() / "work" / "w1"));  // the scratch directory is cleaned up

    auto const seen = events();
    ASSERT_GE(seen.size(), 2u);
    EXPECT_EQ(seen.front().media_id, id);
    EXPECT_EQ(seen.front().state, "running");
    EXPECT_EQ(seen.back().state, "done");
    EXPECT_EQ(seen.back().progress, 1.0);
}

TEST_F(TranscodeWorkerTest, ReplacesTheOutputsOfAnEarlierAttemptButNeverTheOriginal) {
    std::string const id = add_media("original");
    std::string const prefix = "media/" + id + "/";
    for (auto const* stale : {"hls/old/index.m3u8", "files/old.mp3", "thumbnail.jpg"}) {
        write_file(dir_.path() / "stale", "stale");
        ASSERT_TRUE(blobs_->put_file(prefix + stale, dir_.path() / "stale"));
    }
    TranscodeFn transcode = [](fs::path const&, fs::path const& out_dir, LadderProgress const&) {
        return write_outputs(out_dir);
    };
    Running worker(*this, transcode, options());
    ASSERT_TRUE(eventually([&] { return job_is(id, "done"); }));
    (void)worker.stop();
    EXPECT_FALSE(blob_exists(prefix + "hls/old/index.m3u8"));
    EXPECT_FALSE(blob_exists(prefix + "files/old.mp3"));
    EXPECT_FALSE(blob_exists(prefix + "thumbnail.jpg"));
    EXPECT_TRUE(blob_exists(prefix + "hls/master.m3u8"));
    EXPECT_TRUE(blob_exists(prefix + "original"));
}

TEST_F(TranscodeWorkerTest, UndecodableMediaFailsAtOnceWithTheTranscodersReason) {
    std::string const id = add_media("not really audio");
    std::atomic<int> calls{0};
    TranscodeFn transcode = [&](fs::path const& source, fs::path const&,
                                LadderProgress const&) -> Result<LadderResult> {
        ++calls;
        return Error(Errc::unsupported_media, "transcode " + source.string() + ": no audio could be decoded");
    };
    Running worker(*this, transcode, options());
    ASSERT_TRUE(eventually([&] { return job_is(id, "failed"); }));
    (void)worker.stop();
    EXPECT_EQ(calls.load(), 1);  // retrying would only fail again
    // Users read the reason: it names the media, not where the worker found its bytes.
    std::string const reason = "transcode media " + id + ": no audio could be decoded";
    EXPECT_EQ(media(id).transcode_state, "failed");
    EXPECT_EQ(media(id).transcode_error, reason);
    auto const seen = events();
    ASSERT_FALSE(seen.empty());
    EXPECT_EQ(seen.back().state, "failed");
    EXPECT_EQ(seen.back().error, reason);
}

TEST_F(TranscodeWorkerTest, AFailureWorthRetryingIsRetriedAndCanSucceed) {
    std::string const id = add_media("original");
    std::atomic<int> calls{0};
    TranscodeFn transcode = [&](fs::path const&, fs::path const& out_dir,
                                LadderProgress const&) -> Result<LadderResult> {
        if (++calls == 1) return Error(Errc::insufficient_storage, "no space left on device");
        return write_outputs(out_dir);
    };
    Running worker(*this, transcode, options());
    ASSERT_TRUE(eventually([&] { return job_is(id, "done"); }));
    (void)worker.stop();
    EXPECT_EQ(calls.load(), 2);
    EXPECT_EQ(job_of(id).attempts, 2u);
    bool requeued = false;
    for (auto const& event : events()) requeued = requeued || event.state == "queued";
    EXPECT_TRUE(requeued);
}

TEST_F(TranscodeWorkerTest, FailingEveryAttemptEndsFailedWithTheLastReason) {
    std::string const id = add_media("original");
    std::atomic<int> calls{0};
    TranscodeFn transcode = [&](fs::path const&, fs::path const&, LadderProgress const&) -> Result<LadderResult> {
        ++calls;
        return Error(Errc::internal, "the encoder returned -22");
    };
    Running worker(*this, transcode, options());
    ASSERT_TRUE(eventually([&] { return job_is(id, "failed"); }));
    (void)worker.stop();
    EXPECT_EQ(calls.load(), 3);
    EXPECT_EQ(media(id).transcode_error,
              "transcoding was tried 3 times; the last attempt: the transcoder failed: the encoder returned -22");
    EXPECT_EQ(events().back().state, "failed");
}

TEST_F(TranscodeWorkerTest, AJobAbandonedByACrashedWorkerIsRetriedWhenItsLeaseExpires) {
    std::string const id = add_media("original");
    // A worker that claimed the job and died without a word: nobody released it.
    auto crashed =
        run_alone(meta_->claim_job(storage::JobClaim{.owner = "crashed", .now = clock_.now(), .lease = 300ms}));
    ASSERT_TRUE(crashed && crashed->job);
    TranscodeFn transcode = [](fs::path const&, fs::path const& out_dir, LadderProgress const&) {
        return write_outputs(out_dir);
    };
    Running worker(*this, transcode, options());
    ASSERT_TRUE(eventually([&] { return job_is(id, "done"); }));
    (void)worker.stop();
    EXPECT_EQ(job_of(id).attempts, 2u);
}

TEST_F(TranscodeWorkerTest, AJobReleasedForADeadWorkerIsRetriedAtOnce) {
    std::string const id = add_media("original");
    auto crashed = run_alone(meta_->claim_job(storage::JobClaim{.owner = "crashed", .now = clock_.now(), .lease = 1h}));
    ASSERT_TRUE(crashed && crashed->job);
    TranscodeFn transcode = [](fs::path const&, fs::path const& out_dir, LadderProgress const&) {
        return write_outputs(out_dir);
    };
    Running worker(*this, transcode, options());
    std::this_thread::sleep_for(100ms);  // five polls: the hour-long lease keeps the job from the worker
    EXPECT_TRUE(job_is(id, "running"));
    // What the supervisor does when it reaps the dead worker.
    auto released = run_alone(meta_->release_jobs(storage::JobRelease{
        .owner = "crashed", .reason = "the worker stopped (killed by signal 9)", .now = clock_.now()}));
    ASSERT_TRUE(released);
    ASSERT_TRUE(eventually([&] { return job_is(id, "done"); }));
    (void)worker.stop();
    EXPECT_EQ(job_of(id).attempts, 2u);
}

TEST_F(TranscodeWorkerTest, ProgressReachesTheMediaRowWhileTheTranscodeRuns) {
    std::string const id = add_media("original");
    Gate gate;
    TranscodeFn transcode = [&](fs::path const&, fs::path const& out_dir, LadderProgress const& progress) {
        progress(0.5);
        gate.wait();
        return write_outputs(out_dir);
    };
    auto opts = options();
    opts.lease = 600ms;  // renewed every 200 ms
    Running worker(*this, transcode, opts);
    EXPECT_TRUE(eventually([&] { return media(id).transcode_progress == 0.5; }));
    EXPECT_EQ(media(id).transcode_state, "running");
    EXPECT_EQ(job_of(id).lease_owner, "w1");
    std::this_thread::sleep_for(1s);  // past the first lease: renewals keep it
    EXPECT_EQ(job_of(id).attempts, 1u);
    gate.open();
    ASSERT_TRUE(eventually([&] { return job_is(id, "done"); }));
    (void)worker.stop();
    EXPECT_EQ(job_of(id).attempts, 1u);
    bool halfway = false;
    for (auto const& event : events()) halfway = halfway || (event.state == "running" && event.progress == 0.5);
    EXPECT_TRUE(halfway);
}

TEST_F(TranscodeWorkerTest, AStalledTranscodeStopsTheWorkerAndLeavesTheJobToBeRetried) {
    std::string const id = add_media("original");
    Gate gate;
    TranscodeFn transcode = [&](fs::path const&, fs::path const&, LadderProgress const& progress) {
        progress(0.1);
        gate.wait();  // a decoder stuck in a loop
        return Result<LadderResult>(Error(Errc::internal, "released by the test"));
    };
    auto opts = options();
    opts.stall_timeout = 300ms;
    auto const started = std::chrono::steady_clock::now();
    Running worker(*this, transcode, opts);
    auto stopped = worker.finished();
    gate.open();
    ASSERT_TRUE(stopped) << stopped.error().message();
    EXPECT_EQ(*stopped, WorkerStop::stalled);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
    // The job stays leased to the stalled worker until its supervisor releases it.
    EXPECT_EQ(job_of(id).state, "running");
    EXPECT_EQ(job_of(id).lease_owner, "w1");
}

TEST_F(TranscodeWorkerTest, AJobWhoseMediaIsDeletedMeanwhileIsDroppedAndLeavesNoFiles) {
    std::string const id = add_media("original");
    Gate gate;
    std::atomic<bool> started{false};
    std::string deleted_source;
    TranscodeFn transcode = [&](fs::path const& source, fs::path const& out_dir, LadderProgress const&) {
        if (!started.exchange(true)) {
            gate.wait();
            deleted_source = read_file(source);
        }
        return write_outputs(out_dir);
    };
    Running worker(*this, transcode, options());
    ASSERT_TRUE(eventually([&] { return started.load(); }));
    // What DELETE /v1/media/{id} does.
    ASSERT_TRUE(run_alone(meta_->delete_media(id)));
    ASSERT_TRUE(blobs_->remove_all("media/" + id));
    gate.open();
    std::string const next = add_media("the next one");  // the worker moves on to it
    ASSERT_TRUE(eventually([&] { return job_is(next, "done"); }));
    (void)worker.stop();
    EXPECT_EQ(deleted_source, "original");  // still readable after the delete: the worker holds it open
    EXPECT_FALSE(fs::exists(dir_.path() / "blobs" / "media" / id));
    for (auto const& event : events()) EXPECT_FALSE(event.media_id == id && event.state == "done");
}

TEST_F(TranscodeWorkerTest, AnUnexpectedOutputFileFailsTheJob) {
    std::string const id = add_media("original");
    TranscodeFn transcode = [](fs::path const&, fs::path const& out_dir, LadderProgress const&) {
        auto result = write_outputs(out_dir);
        result->files.emplace_back("../original");
        return result;
    };
    Running worker(*this, transcode, options());
    ASSERT_TRUE(eventually([&] { return job_is(id, "failed"); }));
    (void)worker.stop();
    ASSERT_TRUE(media(id).transcode_error);
    EXPECT_NE(media(id).transcode_error->find("unexpected file ../original"), std::string::npos);
    EXPECT_EQ(read_file(dir_.path() / "blobs" / original_key(id)), "original");
}

TEST_F(TranscodeWorkerTest, AnOriginalThatIsNotALocalFileIsCopiedForTheTranscoder) {
    RemoteLikeBlobStore remote(*blobs_);
    std::string const id = add_media("remote bytes");
    std::string seen_source;
    fs::path source_path;
    TranscodeFn transcode = [&](fs::path const& source, fs::path const& out_dir, LadderProgress const&) {
        source_path = source;
        seen_source = read_file(source);
        return write_outputs(out_dir);
    };
    Running worker(*this, transcode, options(), &remote);
    ASSERT_TRUE(eventually([&] { return job_is(id, "done"); }));
    (void)worker.stop();
    EXPECT_EQ(seen_source, "remote bytes");
    EXPECT_EQ(source_path.parent_path().parent_path(), dir_.path() / "work" / "w1");
}

TEST_F(TranscodeWorkerTest, StopEndsAnIdleWorkerPromptly) {
    TranscodeFn transcode = [](fs::path const&, fs::path const& out_dir, LadderProgress const&) {
        return write_outputs(out_dir);
    };
    auto opts = options();
    opts.poll_interval = 1h;
    Running worker(*this, transcode, opts);
    std::this_thread::sleep_for(50ms);
    auto const asked = std::chrono::steady_clock::now();
    EXPECT_EQ(worker.stop().value(), WorkerStop::stopped);
    EXPECT_LT(std::chrono::steady_clock::now() - asked, 2s);
}

TEST(OutputKey, AcceptsTheLaddersFilesOnly) {
    EXPECT_EQ(output_key("m_1", "hls/master.m3u8").value(), "media/m_1/hls/master.m3u8");
    EXPECT_EQ(output_key("m_1", "hls/aac-128/seg-00001.m4s").value(), "media/m_1/hls/aac-128/seg-00001.m4s");
    EXPECT_EQ(output_key("m_1", "files/mp3-192.mp3").value(), "media/m_1/files/mp3-192.mp3");
    EXPECT_EQ(output_key("m_1", "waveform.json").value(), "media/m_1/waveform.json");
    EXPECT_EQ(output_key("m_1", "thumbnail.jpg").value(), "media/m_1/thumbnail.jpg");
    for (auto const* bad : {"original", "hls", "files", "", "/etc/passwd", "../original", "hls/../original", "hls/./x",
                            "files/a b.mp3", "other/x", "waveform.json/x"})
        EXPECT_EQ(output_key("m_1", bad).error().code(), Errc::invalid_argument) << bad;
}

}  // namespace
}  // namespace onda::media
