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

TEST(Health, SigtermExitsCleanly) {
    OndaProcess onda;
    EXPECT_EQ(onda.stop(), 0);
}

}  // namespace
}  // namespace onda::test
