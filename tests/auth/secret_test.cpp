#include "auth/secret.hpp"

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"

namespace onda::auth::blocking {
namespace {

namespace fs = std::filesystem;

std::string read_file(fs::path const& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

void write_file(fs::path const& file, std::string_view text) {
    std::ofstream out(file, std::ios::binary);
    out << text;
}

bool is_lowercase_hex(std::string_view text) {
    return text.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

TEST(LoadOrCreateSecret, CreatesSixtyFourLowercaseHexCharacters) {
    test::TempDir dir;
    auto secret = load_or_create_secret(dir.path());
    ASSERT_TRUE(secret) << secret.error().message();
    EXPECT_EQ(secret->size(), 64u);
    EXPECT_TRUE(is_lowercase_hex(*secret)) << *secret;
}

TEST(LoadOrCreateSecret, StoresExactlyTheSecretInTheFile) {
    test::TempDir dir;
    auto secret = load_or_create_secret(dir.path());
    ASSERT_TRUE(secret) << secret.error().message();
    EXPECT_EQ(read_file(dir.path() / "secret"), *secret);
}

TEST(LoadOrCreateSecret, CreatesTheFileWithMode0600) {
    test::TempDir dir;
    ASSERT_TRUE(load_or_create_secret(dir.path()));
    struct stat info {};
    ASSERT_EQ(::stat((dir.path() / "secret").c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 07777, 0600u);
}

TEST(LoadOrCreateSecret, CreatesMode0600EvenUnderAUmaskThatDropsWrite) {
    test::TempDir dir;
    mode_t const previous = ::umask(0277);
    auto secret = load_or_create_secret(dir.path());
    ::umask(previous);
    ASSERT_TRUE(secret) << secret.error().message();
    struct stat info {};
    ASSERT_EQ(::stat((dir.path() / "secret").c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 07777, 0600u);
}

TEST(LoadOrCreateSecret, IsStableAcrossCalls) {
    test::TempDir dir;
    auto first = load_or_create_secret(dir.path());
    auto second = load_or_create_secret(dir.path());
    ASSERT_TRUE(first) << first.error().message();
    ASSERT_TRUE(second) << second.error().message();
    EXPECT_EQ(*first, *second);
}

// serve and worker may start together on a fresh data dir: they must end up with one secret.
TEST(LoadOrCreateSecret, ConcurrentFirstCallsAgreeOnOneSecret) {
    test::TempDir dir;
    constexpr int caller_count = 8;
    std::vector<std::string> secrets(caller_count);
    std::atomic<bool> go{false};
    std::vector<std::thread> callers;
    for (int i = 0; i < caller_count; ++i) {
        callers.emplace_back([&, i] {
            while (!go.load()) std::this_thread::yield();  // start together so the creations overlap
            auto secret = load_or_create_secret(dir.path());
            secrets[i] = secret ? *secret : "error: " + secret.error().message();
        });
    }
    go.store(true);
    for (auto& caller : callers) caller.join();
    for (auto const& secret : secrets) EXPECT_EQ(secret, read_file(dir.path() / "secret"));
}

TEST(LoadOrCreateSecret, DiffersBetweenDataDirs) {
    test::TempDir one;
    test::TempDir two;
    auto a = load_or_create_secret(one.path());
    auto b = load_or_create_secret(two.path());
    ASSERT_TRUE(a && b);
    EXPECT_NE(*a, *b);
}

TEST(LoadOrCreateSecret, CreatesAMissingDataDir) {
    test::TempDir dir;
    fs::path const data_dir = dir.path() / "not" / "there" / "yet";
    auto secret = load_or_create_secret(data_dir);
    ASSERT_TRUE(secret) << secret.error().message();
    EXPECT_EQ(read_file(data_dir / "secret"), *secret);
}

TEST(LoadOrCreateSecret, LeavesNoTempFileBehind) {
    test::TempDir dir;
    ASSERT_TRUE(load_or_create_secret(dir.path()));
    std::vector<std::string> names;
    for (auto const& entry : fs::directory_iterator(dir.path())) names.push_back(entry.path().filename().string());
    EXPECT_EQ(names, std::vector<std::string>{"secret"});
}

TEST(LoadOrCreateSecret, ReadsAnExistingSecretWithATrailingNewline) {
    test::TempDir dir;
    std::string const existing(64, 'b');
    write_file(dir.path() / "secret", existing + "\n");
    auto secret = load_or_create_secret(dir.path());
    ASSERT_TRUE(secret) << secret.error().message();
    EXPECT_EQ(*secret, existing);
}

TEST(LoadOrCreateSecret, RefusesACorruptFileInsteadOfReplacingIt) {
    test::TempDir dir;
    write_file(dir.path() / "secret", "not-a-secret");
    auto secret = load_or_create_secret(dir.path());
    ASSERT_FALSE(secret);
    EXPECT_EQ(secret.error().code(), Errc::invalid_argument);
    EXPECT_EQ(read_file(dir.path() / "secret"), "not-a-secret");
}

TEST(LoadOrCreateSecret, RefusesAnEmptyFile) {
    test::TempDir dir;
    write_file(dir.path() / "secret", "");
    auto secret = load_or_create_secret(dir.path());
    ASSERT_FALSE(secret);
    EXPECT_EQ(secret.error().code(), Errc::invalid_argument);
}

TEST(LoadOrCreateSecret, ErrorMessageDoesNotRevealTheFileContents) {
    test::TempDir dir;
    std::string const almost(63, 'c');  // one character short of a secret
    write_file(dir.path() / "secret", almost);
    auto secret = load_or_create_secret(dir.path());
    ASSERT_FALSE(secret);
    EXPECT_EQ(secret.error().message().find(almost), std::string::npos) << secret.error().message();
}

TEST(LoadOrCreateSecret, ReportsADataDirThatIsAFile) {
    test::TempDir dir;
    write_file(dir.path() / "data", "a file, not a directory");
    auto secret = load_or_create_secret(dir.path() / "data");
    ASSERT_FALSE(secret);
    EXPECT_NE(secret.error().message().find((dir.path() / "data").string()), std::string::npos)
        << secret.error().message();
}

}  // namespace
}  // namespace onda::auth::blocking
