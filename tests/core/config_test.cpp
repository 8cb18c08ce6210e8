#include "core/config.hpp"

#include <fstream>

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"

namespace onda {
namespace {

TEST(ParseDuration, AcceptsUnitsAndBareSeconds) {
    EXPECT_EQ(parse_duration("250ms").value(), std::chrono::milliseconds(250));
    EXPECT_EQ(parse_duration("10s").value(), std::chrono::seconds(10));
    EXPECT_EQ(parse_duration("5m").value(), std::chrono::minutes(5));
    EXPECT_EQ(parse_duration("24h").value(), std::chrono::hours(24));
    EXPECT_EQ(parse_duration("7").value(), std::chrono::seconds(7));
}

TEST(ParseDuration, RejectsGarbageAndOverflow) {
    EXPECT_FALSE(parse_duration(""));
    EXPECT_FALSE(parse_duration("ten seconds"));
    EXPECT_FALSE(parse_duration("10 s"));
    EXPECT_FALSE(parse_duration("-5s"));
    EXPECT_FALSE(parse_duration("99999999999999999999h"));
    EXPECT_FALSE(parse_duration("9223372036854775807d"));
}

TEST(ParseSize, AcceptsBinaryAndDecimalUnits) {
    EXPECT_EQ(parse_size("64KiB").value(), 65536u);
    EXPECT_EQ(parse_size("2GiB").value(), 2147483648u);
    EXPECT_EQ(parse_size("10MB").value(), 10'000'000u);
    EXPECT_EQ(parse_size("123").value(), 123u);
    EXPECT_FALSE(parse_size("12XB"));
    EXPECT_FALSE(parse_size("18446744073709551615GiB"));
}

TEST(Config, DefaultsMatchApiContract) {
    Config config;
    EXPECT_EQ(config.server.listen, "127.0.0.1:8080");
    EXPECT_EQ(config.data_dir, "./onda-data");
    EXPECT_EQ(config.auth.default_visibility, "private");
    EXPECT_EQ(config.auth.rate_limit_per_minute, 100u);
    EXPECT_EQ(config.limits.max_upload_bytes, 2ull << 30);
}

TEST(Config, FileThenEnvThenValueOverride) {
    test::TempDir dir;
    auto file = dir.path() / "onda.toml";
    std::ofstream(file) << "data_dir = \"/srv/onda\"\n[server]\nlisten = \"0.0.0.0:9000\"\nthreads = 3\n"
                           "[limits]\nmax_upload_bytes = \"1GiB\"\nidle_timeout = \"90s\"\n"
                           "[cors]\nallowed_origins = [\"https://a.example\", \"https://b.example\"]\n";
    Config config;
    ASSERT_TRUE(apply_config_file(config, file));
    EXPECT_EQ(config.data_dir, "/srv/onda");
    EXPECT_EQ(config.server.listen, "0.0.0.0:9000");
    EXPECT_EQ(config.server.threads, 3u);
    EXPECT_EQ(config.limits.max_upload_bytes, 1ull << 30);
    EXPECT_EQ(config.limits.idle_timeout, std::chrono::seconds(90));
    ASSERT_EQ(config.cors.allowed_origins.size(), 2u);
    EXPECT_EQ(config.cors.allowed_origins[1], "https://b.example");

    ASSERT_TRUE(apply_config_env(config, {{"ONDA_SERVER_THREADS", "5"}, {"HOME", "/root"}}));
    EXPECT_EQ(config.server.threads, 5u);
    ASSERT_TRUE(set_config_value(config, "server.threads", "1"));
    EXPECT_EQ(config.server.threads, 1u);
}

TEST(Config, UnknownKeyInFileIsAnErrorNamingIt) {
    test::TempDir dir;
    auto file = dir.path() / "onda.toml";
    std::ofstream(file) << "[server]\nlisen = \"0.0.0.0:9000\"\n";
    Config config;
    auto r = apply_config_file(config, file);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), Errc::invalid_argument);
    EXPECT_NE(r.error().message().find("server.lisen"), std::string::npos);
}

TEST(Config, MalformedTomlReportsTheLine) {
    test::TempDir dir;
    auto file = dir.path() / "onda.toml";
    std::ofstream(file) << "[server]\nlisten = \n";
    Config config;
    auto r = apply_config_file(config, file);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("line 2"), std::string::npos);
}

TEST(Config, BadValuesAreRejected) {
    Config config;
    EXPECT_FALSE(set_config_value(config, "auth.default_visibility", "secret"));
    EXPECT_FALSE(set_config_value(config, "server.threads", "many"));
    EXPECT_FALSE(set_config_value(config, "server.threads", "99999999999"));
    EXPECT_FALSE(set_config_value(config, "log.level", "loud"));
    EXPECT_FALSE(apply_config_env(config, {{"ONDA_LIMITS_IDLE_TIMEOUT", "soon"}}));
}

TEST(Config, RealtimeKeysHaveDefaultsAndParse) {
    Config config;
    EXPECT_EQ(config.realtime.history_size, 100u);
    EXPECT_EQ(config.realtime.sse_keepalive, std::chrono::seconds(15));
    ASSERT_TRUE(set_config_value(config, "realtime.history_size", "500"));
    ASSERT_TRUE(set_config_value(config, "realtime.sse_keepalive", "250ms"));
    EXPECT_EQ(config.realtime.history_size, 500u);
    EXPECT_EQ(config.realtime.sse_keepalive, std::chrono::milliseconds(250));
    EXPECT_FALSE(set_config_value(config, "realtime.sse_keepalive", "0s"));  // would spin
    EXPECT_FALSE(set_config_value(config, "realtime.history_size", "lots"));
}

TEST(Config, HistoryLimitsAreSetPerRoomKindAndChatHasItsOwnDefaults) {
    Config config;
    EXPECT_EQ(config.realtime.history_max_age, std::chrono::minutes(5));
    EXPECT_EQ(config.realtime.history_by_kind.at("chat").size, 100u);
    EXPECT_EQ(config.realtime.history_by_kind.at("chat").max_age, std::chrono::minutes(5));
    ASSERT_TRUE(set_config_value(config, "realtime.history.chat.size", "20"));
    ASSERT_TRUE(set_config_value(config, "realtime.history.user.max_age", "1h"));
    ASSERT_TRUE(set_config_value(config, "realtime.history_max_age", "0"));
    EXPECT_EQ(config.realtime.history_by_kind.at("chat").size, 20u);
    EXPECT_EQ(config.realtime.history_by_kind.at("user").max_age, std::chrono::hours(1));
    EXPECT_FALSE(config.realtime.history_by_kind.at("user").size);  // falls back to history_size
    EXPECT_EQ(config.realtime.history_max_age, std::chrono::milliseconds(0));
    EXPECT_FALSE(set_config_value(config, "realtime.history.chat.size", "many"));
    EXPECT_FALSE(set_config_value(config, "realtime.history.lobby.size", "5"));  // no such room kind
    ASSERT_TRUE(apply_config_env(config, {{"ONDA_REALTIME_HISTORY_TTS_SIZE", "7"}}));
    EXPECT_EQ(config.realtime.history_by_kind.at("tts").size, 7u);
}

TEST(Config, SocketIoKeysHaveTheContractsDefaultsAndParse) {
    Config config;
    EXPECT_EQ(config.realtime.ping_interval, std::chrono::seconds(25));
    EXPECT_EQ(config.realtime.ping_timeout, std::chrono::seconds(20));
    EXPECT_EQ(config.realtime.max_payload, 1'000'000u);
    EXPECT_EQ(config.realtime.max_devices, 3u);
    EXPECT_EQ(config.realtime.events_per_minute, 100u);
    ASSERT_TRUE(set_config_value(config, "realtime.ping_interval", "200ms"));
    ASSERT_TRUE(set_config_value(config, "realtime.ping_timeout", "1s"));
    ASSERT_TRUE(set_config_value(config, "realtime.max_payload", "64KiB"));
    ASSERT_TRUE(set_config_value(config, "realtime.connect_timeout", "5s"));
    ASSERT_TRUE(set_config_value(config, "realtime.max_devices", "5"));
    ASSERT_TRUE(set_config_value(config, "realtime.events_per_minute", "0"));
    ASSERT_TRUE(set_config_value(config, "realtime.send_queue_frames", "16"));
    ASSERT_TRUE(set_config_value(config, "realtime.send_queue_bytes", "1MiB"));
    EXPECT_EQ(config.realtime.ping_interval, std::chrono::milliseconds(200));
    EXPECT_EQ(config.realtime.max_payload, 64u * 1024);
    EXPECT_EQ(config.realtime.connect_timeout, std::chrono::seconds(5));
    EXPECT_EQ(config.realtime.max_devices, 5u);
    EXPECT_EQ(config.realtime.events_per_minute, 0u);
    EXPECT_EQ(config.realtime.send_queue_frames, 16u);
    EXPECT_EQ(config.realtime.send_queue_bytes, 1024u * 1024);
    EXPECT_FALSE(set_config_value(config, "realtime.ping_interval", "0s"));  // would ping without pause
    EXPECT_FALSE(set_config_value(config, "realtime.max_devices", "three"));
}

TEST(Config, UploadKeysHaveDefaultsAndParse) {
    Config config;
    EXPECT_EQ(config.uploads.tus_max_size, 2ull * 1024 * 1024 * 1024);
    EXPECT_EQ(config.uploads.expire_after, std::chrono::hours(24));
    EXPECT_EQ(config.uploads.sweep_interval, std::chrono::minutes(1));
    EXPECT_TRUE(config.uploads.sync_writes);
    ASSERT_TRUE(set_config_value(config, "uploads.tus_max_size", "100MiB"));
    ASSERT_TRUE(set_config_value(config, "uploads.expire_after", "2s"));
    ASSERT_TRUE(set_config_value(config, "uploads.sweep_interval", "500ms"));
    ASSERT_TRUE(set_config_value(config, "uploads.sync_writes", "false"));
    EXPECT_EQ(config.uploads.tus_max_size, 100u * 1024 * 1024);
    EXPECT_EQ(config.uploads.expire_after, std::chrono::seconds(2));
    EXPECT_EQ(config.uploads.sweep_interval, std::chrono::milliseconds(500));
    EXPECT_FALSE(config.uploads.sync_writes);
    EXPECT_FALSE(set_config_value(config, "uploads.sweep_interval", "0s"));  // would spin
    EXPECT_FALSE(set_config_value(config, "uploads.expire_after", "0"));     // every upload born expired
    EXPECT_FALSE(set_config_value(config, "uploads.sync_writes", "maybe"));
}

TEST(Config, ProbeKeysHaveDefaultsAndParse) {
    Config config;
    EXPECT_EQ(config.probe.max_bytes, 64u * 1024 * 1024);
    ASSERT_TRUE(set_config_value(config, "probe.timeout", "250ms"));
    ASSERT_TRUE(set_config_value(config, "probe.max_bytes", "1MiB"));
    EXPECT_EQ(config.probe.timeout, std::chrono::milliseconds(250));
    EXPECT_EQ(config.probe.max_bytes, 1024u * 1024);
    EXPECT_FALSE(set_config_value(config, "probe.timeout", "0"));  // would refuse every upload
}

TEST(Config, TranscodeKeysHaveDefaultsAndParse) {
    Config config;
    EXPECT_EQ(config.transcode.workers, 1u);
    EXPECT_EQ(config.transcode.max_attempts, 3u);
    EXPECT_EQ(config.transcode.lease, std::chrono::seconds(30));
    EXPECT_EQ(config.transcode.stall_timeout, std::chrono::minutes(2));
    ASSERT_TRUE(set_config_value(config, "transcode.workers", "0"));  // transcoding off
    ASSERT_TRUE(set_config_value(config, "transcode.max_attempts", "5"));
    ASSERT_TRUE(set_config_value(config, "transcode.lease", "10s"));
    ASSERT_TRUE(set_config_value(config, "transcode.stall_timeout", "5m"));
    EXPECT_EQ(config.transcode.workers, 0u);
    EXPECT_EQ(config.transcode.max_attempts, 5u);
    EXPECT_EQ(config.transcode.lease, std::chrono::seconds(10));
    EXPECT_EQ(config.transcode.stall_timeout, std::chrono::minutes(5));
    EXPECT_FALSE(set_config_value(config, "transcode.max_attempts", "0"));  // a job must run at least once
    EXPECT_FALSE(set_config_value(config, "transcode.lease", "0s"));        // every lease born expired
    EXPECT_FALSE(set_config_value(config, "transcode.stall_timeout", "0"));
    EXPECT_FALSE(set_config_value(config, "transcode.workers", "-1"));
}

}  // namespace
}  // namespace onda
