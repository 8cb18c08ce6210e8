#include <signal.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "support/http_client.hpp"
#include "support/onda_process.hpp"

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

// Ctrl-C in a terminal: the same graceful stop as SIGTERM, exit status 0.
TEST(Health, SigintExitsCleanly) {
    OndaProcess onda;
    ASSERT_EQ(::kill(onda.pid(), SIGINT), 0);
    EXPECT_EQ(onda.wait_for_exit(), 0);
}

}  // namespace
}  // namespace onda::test
