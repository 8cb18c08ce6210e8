#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "e2e.hpp"
#include "support/http_client.hpp"
#include "support/media_fixtures.hpp"
#include "support/onda_process.hpp"
#include "support/temp_dir.hpp"

namespace onda::test {
namespace {

TEST(Health, HealthzAnswersOkAndReadyzChecksTheStores) {
    OndaProcess onda;
    auto health = http_get(onda.url("/healthz"));
    EXPECT_EQ(health.status, 200);
    EXPECT_EQ(health.body, R"({"status":"ok"})");
    auto ready = http_get(onda.url("/readyz"));
    EXPECT_EQ(ready.status, 200);
    EXPECT_NE(ready.body.find(R"("metadata":"ok")"), std::string::npos);
    EXPECT_NE(ready.body.find(R"("blobs":"ok")"), std::string::npos);
}

// The blob store's directory gone (a volume unmounted): not ready, 503 with what failed; back, ready.
TEST(Health, ReadyzIs503WhileAStoreIsUnavailable) {
    OndaProcess onda;
    auto const blobs = onda.data_dir() / "blobs";
    auto const moved = onda.data_dir() / "blobs.away";
    std::filesystem::rename(blobs, moved);
    auto ready = http_get(onda.url("/readyz"));
    std::filesystem::rename(moved, blobs);
    EXPECT_EQ(ready.status, 503) << ready.body;
    EXPECT_NE(ready.body.find(R"("status":"unavailable")"), std::string::npos) << ready.body;
    EXPECT_NE(ready.body.find(R"("metadata":"ok")"), std::string::npos) << ready.body;
    EXPECT_NE(ready.body.find("not a writable directory"), std::string::npos) << ready.body;
    EXPECT_EQ(http_get(onda.url("/healthz")).status, 200);  // alive all along
    EXPECT_EQ(http_get(onda.url("/readyz")).status, 200);
}

TEST(Health, SigtermExitsCleanly) {
    OndaProcess onda;
    EXPECT_EQ(onda.stop(), 0);
}

// The configuration layers of the real binary, each shown by a setting it alone decides: a TOML file
// given with --config (CORS origins), an ONDA_* variable over the file (the rate limit), and --set
// over both (the default visibility).
TEST(Health, ConfigFileThenEnvironmentThenFlags) {
    TempDir dir;
    auto const file = dir.path() / "onda.toml";
    std::ofstream(file) << "[auth]\ndefault_visibility = \"public\"\nrate_limit_per_minute = 1000\n"
                           "[cors]\nallowed_origins = [\"https://app.example\"]\n";
    ::setenv("ONDA_AUTH_RATE_LIMIT_PER_MINUTE", "4", 1);
    OndaProcess onda({.settings = {{"auth.default_visibility", "private"}}, .extra_args = {"--config", file.string()}});
    ::unsetenv("ONDA_AUTH_RATE_LIMIT_PER_MINUTE");

    auto const token = onda.token("alice", "creator");
    auto up = upload_raw(onda, token, make_wav(0.2));  // 1 of 4
    ASSERT_EQ(up.response.status, 201) << up.response.body;
    EXPECT_EQ(up.body.at("visibility").as_string(), "private");  // --set over the file
    auto listed = http_get(onda.url("/v1/media"), {bearer(token), {"Origin", "https://app.example"}});  // 2 of 4
    EXPECT_EQ(listed.header("Access-Control-Allow-Origin"), "https://app.example");                     // from the file
    EXPECT_EQ(http_get(onda.url("/v1/media"), {bearer(token)}).status, 200);                            // 3 of 4
    EXPECT_EQ(http_get(onda.url("/v1/media"), {bearer(token)}).status, 200);                            // 4 of 4
    EXPECT_EQ(http_get(onda.url("/v1/media"), {bearer(token)}).status, 429);  // the environment over the file
}

// Ctrl-C in a terminal: the same graceful stop as SIGTERM, exit status 0.
TEST(Health, SigintExitsCleanly) {
    OndaProcess onda;
    ASSERT_EQ(::kill(onda.pid(), SIGINT), 0);
    EXPECT_EQ(onda.wait_for_exit(), 0);
}

}  // namespace
}  // namespace onda::test
