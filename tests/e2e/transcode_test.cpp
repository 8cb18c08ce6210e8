// Transcoding against the real binary: `onda serve` starts its `onda worker`, an upload becomes a
// durable job the worker runs through the ladder, progress is streamed as SSE, and a worker that is
// killed, a server that crashes or a file that cannot be decoded never leave a job stuck or the server
// down.
#include <signal.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "e2e.hpp"
#include "sse_client.hpp"
#include "support/media_fixtures.hpp"

namespace onda::test {
namespace {

using namespace std::chrono_literals;

// The ladder runs under the sanitizers on a shared machine: generous, but bounded.
constexpr auto transcode_deadline = 120s;

// One worker, public media, and no API rate limit: the tests poll the media object.
OndaProcess::Options with_workers(std::map<std::string, std::string> extra = {}) {
    OndaProcess::Options options{.settings = {{"transcode.workers", "1"},
                                              {"auth.default_visibility", "public"},
                                              {"auth.rate_limit_per_minute", "0"}}};
    for (auto& [key, value] : extra) options.settings[key] = value;
    return options;
}

boost::json::object media_object(OndaProcess const& onda, std::string const& id) {
    auto res = http_get(onda.url("/v1/media/" + id));
    auto body = parse_json(res.body);
    return res.status == 200 && body.is_object() ? body.as_object() : boost::json::object{};
}

struct TranscodeState {
    std::string state;  // "" when the media object could not be read
    double progress = -1;
};

TranscodeState transcode_of(OndaProcess const& onda, std::string const& id) {
    auto media = media_object(onda, id);
    if (!media.contains("transcode")) return {};
    auto const& transcode = media.at("transcode");
    return {std::string(transcode.at("state").as_string()), transcode.at("progress").to_number<double>()};
}

std::string transcode_state(OndaProcess const& onda, std::string const& id) { return transcode_of(onda, id).state; }

bool is_gone(pid_t pid) { return ::kill(pid, 0) == -1 && errno == ESRCH; }

bool server_is_healthy(OndaProcess const& onda) { return http_get(onda.url("/healthz")).status == 200; }

TEST(Transcode, AnUploadIsTranscodedByAWorkerIntoRenditions) {
    OndaProcess onda(with_workers());
    auto token = onda.token("alice", "creator");
    auto up = upload_raw(onda, token, make_wav(2.0, 44100));
    ASSERT_EQ(up.response.status, 201) << up.response.body;
    EXPECT_EQ(up.body.at("transcode").at("state").as_string(), "queued");
    ASSERT_TRUE(eventually([&] { return transcode_state(onda, up.id) == "done"; }, transcode_deadline)) << onda.log();

    auto media = media_object(onda, up.id);
    EXPECT_EQ(media.at("transcode").at("progress").to_number<double>(), 1.0);
    EXPECT_TRUE(media.at("transcode").at("error").is_null());
    ASSERT_FALSE(media.at("renditions").as_array().empty());
    EXPECT_EQ(media.at("urls").at("hls").as_string(), "/v1/media/" + up.id + "/hls/master.m3u8");
    EXPECT_EQ(media.at("urls").at("waveform").as_string(), "/v1/media/" + up.id + "/waveform.json");
    auto const stored = onda.data_dir() / "blobs" / "media" / up.id;
    EXPECT_TRUE(std::filesystem::exists(stored / "hls" / "master.m3u8"));
    EXPECT_TRUE(std::filesystem::exists(stored / "waveform.json"));
    EXPECT_TRUE(std::filesystem::exists(stored / "original"));

    // Deleting the media takes its renditions with it.
    auto deleted =
        http_request({.method = "DELETE", .url = onda.url("/v1/media/" + up.id), .headers = {bearer(token)}});
    EXPECT_EQ(deleted.status, 204);
    EXPECT_EQ(count_files(stored), 0u);
}

TEST(Transcode, MediaEventsStreamProgressThenReadyAndEnd) {
    OndaProcess onda(with_workers());
    auto up = upload_raw(onda, onda.token("alice", "creator"), make_wav(2.0, 44100));
    ASSERT_EQ(up.response.status, 201);
    auto const events_url = onda.url("/v1/media/" + up.id + "/events");

    SseClient watcher(events_url, {});
    EXPECT_EQ(watcher.read(nullptr, 120'000), CURLE_OK);  // the server ends the stream after ready
    EXPECT_EQ(watcher.status(), 200);
    auto const body = watcher.snapshot();
    auto const first_progress = body.find("event: progress\ndata: {\"state\":");
    auto const ready = body.find("event: ready\nid: ready\ndata: ");
    ASSERT_NE(first_progress, std::string::npos) << body;
    ASSERT_NE(ready, std::string::npos) << body;
    EXPECT_LT(first_progress, ready);
    auto const data_at = ready + std::string_view("event: ready\nid: ready\ndata: ").size();
    auto media = parse_json(body.substr(data_at, body.find('\n', data_at) - data_at));
    ASSERT_TRUE(media.is_object()) << body;
    EXPECT_EQ(media.at("id").as_string(), up.id);
    EXPECT_EQ(media.at("transcode").at("state").as_string(), "done");
    EXPECT_FALSE(media.at("renditions").as_array().empty());

    // Once done: ready at once; and a browser reconnecting after it is told to stop (204).
    SseClient late(events_url, {});
    EXPECT_EQ(late.read(nullptr, 10'000), CURLE_OK);
    EXPECT_EQ(late.snapshot().rfind("event: ready\nid: ready\n", 0), 0u) << late.snapshot();
    EXPECT_EQ(http_get(events_url, {{"Last-Event-ID", "ready"}}).status, 204);
}

TEST(Transcode, MediaEventsFollowTheMediaAccessRules) {
    OndaProcess onda;  // private by default, no worker needed
    auto alice = onda.token("alice", "creator");
    auto up = upload_raw(onda, alice, make_wav(0.5));
    ASSERT_EQ(up.response.status, 201);
    auto const path = "/v1/media/" + up.id + "/events";
    EXPECT_EQ(http_get(onda.url(path)).status, 401);
    EXPECT_EQ(http_get(onda.url(path), {bearer(onda.token("bob"))}).status, 403);
    EXPECT_EQ(http_get(onda.url("/v1/media/m_nope/events"), {bearer(alice)}).status, 404);
    SseClient owner(onda.url(path), {"Authorization: Bearer " + alice});
    owner.read([](std::string const& body) { return body.find("\n\n") != std::string::npos; });
    EXPECT_EQ(owner.status(), 200);
    EXPECT_EQ(owner.snapshot().rfind("event: progress\ndata: {\"state\":\"queued\",\"progress\":0", 0), 0u)
        << owner.snapshot();
}

TEST(Transcode, AWorkerKilledMidJobIsRestartedAndTheJobRetriedWhileTheServerStaysHealthy) {
    OndaProcess onda(with_workers({{"transcode.lease", "3s"}}));  // progress reaches the row every second
    ASSERT_TRUE(eventually([&] { return onda.children("worker").size() == 1; }));
    pid_t const first_worker = onda.children("worker")[0];
    auto up = upload_raw(onda, onda.token("alice", "creator"), make_wav(120.0, 44100));
    ASSERT_EQ(up.response.status, 201);
    ASSERT_TRUE(eventually(
        [&] {
            auto const now = transcode_of(onda, up.id);
            return now.state == "running" && now.progress > 0 && now.progress < 0.6;
        },
        transcode_deadline))
        << onda.log();

    ASSERT_EQ(::kill(first_worker, SIGKILL), 0);
    EXPECT_TRUE(server_is_healthy(onda));
    ASSERT_TRUE(eventually([&] {
        auto children = onda.children("worker");
        return children.size() == 1 && children[0] != first_worker;
    })) << onda.log();
    ASSERT_TRUE(eventually([&] { return transcode_state(onda, up.id) == "done"; }, transcode_deadline)) << onda.log();
    EXPECT_TRUE(server_is_healthy(onda));
    auto const log = onda.log();
    EXPECT_NE(log.find("killed by SIGKILL"), std::string::npos) << log;
    EXPECT_NE(log.find("transcode attempt 2 of 3"), std::string::npos) << log;
}

TEST(Transcode, ACorruptFileFailsWithAReasonAndTheServerStaysHealthy) {
    OndaProcess onda(with_workers());
    auto up = upload_raw(onda, onda.token("alice", "creator"), make_undecodable_wav(), "filename=bad.wav");
    ASSERT_EQ(up.response.status, 201) << up.response.body;  // its header probes as audio
    ASSERT_TRUE(eventually([&] { return transcode_state(onda, up.id) == "failed"; }, transcode_deadline)) << onda.log();
    auto media = media_object(onda, up.id);
    ASSERT_TRUE(media.at("transcode").at("error").is_string());
    std::string const error(media.at("transcode").at("error").as_string());
    EXPECT_NE(error.find("no audio could be decoded"), std::string::npos) << error;
    EXPECT_EQ(error.find("/proc/"), std::string::npos) << error;  // no path of the worker's
    EXPECT_TRUE(server_is_healthy(onda));
    EXPECT_EQ(onda.log().find("transcode attempt 2"), std::string::npos);  // failed for good, not retried
    // The original is still served, as API.md promises whatever the transcode state.
    EXPECT_EQ(http_get(onda.url("/v1/media/" + up.id + "/stream")).body, make_undecodable_wav());
}

TEST(Transcode, ACrashOfTheServerMidJobIsRecoveredAfterARestart) {
    OndaProcess onda(with_workers({{"transcode.lease", "2s"}}));
    auto up = upload_raw(onda, onda.token("alice", "creator"), make_wav(120.0, 44100));
    ASSERT_EQ(up.response.status, 201);
    ASSERT_TRUE(eventually([&] { return transcode_state(onda, up.id) == "running"; }, transcode_deadline));
    ASSERT_EQ(onda.children("worker").size(), 1u);
    pid_t const worker = onda.children("worker")[0];
    onda.kill9();
    // The worker dies with its server (PR_SET_PDEATHSIG).
    EXPECT_TRUE(eventually([&] { return is_gone(worker); }));
    onda.start();
    // The job is still leased to the dead worker; once the lease runs out the new worker takes it.
    ASSERT_TRUE(eventually([&] { return transcode_state(onda, up.id) == "done"; }, transcode_deadline)) << onda.log();
}

TEST(Transcode, StoppingTheServerStopsItsWorkers) {
    OndaProcess onda(with_workers({{"transcode.workers", "2"}}));
    ASSERT_TRUE(eventually([&] { return onda.children("worker").size() == 2; }));
    auto const workers = onda.children("worker");
    EXPECT_EQ(onda.stop(), 0);
    for (pid_t pid : workers) EXPECT_TRUE(is_gone(pid)) << pid;
}

TEST(Transcode, TheConfiguredLadderIsTheOneMade) {
    OndaProcess onda(with_workers({{"transcode.audio_hls", "96k@44100"}, {"transcode.audio_files", "mp3:160k"}}));
    auto up = upload_raw(onda, onda.token("alice", "creator"), make_wav(1.0, 44100));
    ASSERT_EQ(up.response.status, 201) << up.response.body;
    ASSERT_TRUE(eventually([&] { return transcode_state(onda, up.id) == "done"; }, transcode_deadline)) << onda.log();
    std::vector<std::string> names;
    auto const media = media_object(onda, up.id);
    for (auto const& rendition : media.at("renditions").as_array())
        names.emplace_back(rendition.at("name").as_string());
    std::ranges::sort(names);
    EXPECT_EQ(names, (std::vector<std::string>{"aac-96", "mp3-160"}));
}

TEST(Transcode, AMistakeInTheLadderKeysStopsTheServerAtStart) {
    TempDir dir;
    // Bounded: a server that took the key would run until `timeout` ends it (status 124).
    auto result = run_command({"/usr/bin/timeout", "15", ONDA_BINARY, "serve", "--listen", "127.0.0.1:0", "--data-dir",
                               dir.path().string(), "--set", "transcode.video=720:2500k"});
    EXPECT_EQ(result.status, 1);
}

TEST(Transcode, WithNoWorkersAJobStaysQueued) {
    OndaProcess onda(with_workers({{"transcode.workers", "0"}}));
    auto up = upload_raw(onda, onda.token("alice", "creator"), make_wav(0.5));
    ASSERT_EQ(up.response.status, 201);
    EXPECT_TRUE(onda.children("worker").empty());
    EXPECT_EQ(transcode_state(onda, up.id), "queued");
    EXPECT_NE(onda.log().find("transcode.workers = 0"), std::string::npos);
}

}  // namespace
}  // namespace onda::test
