// The BlobStore contract: every implementation runs these tests (add its Backend to BlobStoreBackends).
// LocalBlobStore-only behaviour is tested at the end of the file.
#include <atomic>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "storage/blob_store.hpp"
#include "storage/local_blob_store.hpp"
#include "support/temp_dir.hpp"

namespace onda::storage {
namespace {

namespace fs = std::filesystem;

// A LocalBlobStore under a temp dir; source files are made beside it, on the same filesystem.
struct LocalBackend {
    static constexpr bool has_native_handle = true;
    test::TempDir dir;
    std::unique_ptr<BlobStore> store = LocalBlobStore::open(dir.path() / "blobs").value();
    fs::path scratch_directory() const { return dir.path(); }
};

template <class Backend>
class BlobStoreContract : public ::testing::Test {
protected:
    BlobStore& store() { return *backend_.store; }

    // A new file holding `bytes`, ready to be put.
    fs::path make_source(std::string_view bytes) {
        fs::path const file = backend_.scratch_directory() / ("source-" + std::to_string(++sources_));
        std::ofstream(file, std::ios::binary) << bytes;
        return file;
    }

    void put(std::string_view key, std::string_view bytes) {
        auto put = store().put_file(key, make_source(bytes));
        ASSERT_TRUE(put) << put.error().message();
    }

    // The whole object, read through read_at in small steps so partial reads are exercised.
    std::string read_all(std::string_view key) {
        auto reader = store().open(key);
        if (!reader) return "<" + std::string(code_name(reader.error().code())) + ">";
        std::string bytes;
        char buffer[7];
        for (;;) {
            auto n = (*reader)->read_at(bytes.size(), buffer);
            if (!n) return "<read failed: " + n.error().message() + ">";
            if (*n == 0) break;
            bytes.append(buffer, *n);
        }
        EXPECT_EQ((*reader)->size(), bytes.size());
        return bytes;
    }

    Backend backend_;
    int sources_ = 0;
};

using BlobStoreBackends = ::testing::Types<LocalBackend>;
TYPED_TEST_SUITE(BlobStoreContract, BlobStoreBackends);

TYPED_TEST(BlobStoreContract, PutObjectCanBeOpenedAndRead) {
    this->put("media/m_1/original", "hello, world");
    auto reader = this->store().open("media/m_1/original");
    ASSERT_TRUE(reader) << reader.error().message();
    EXPECT_EQ((*reader)->size(), 12u);
    char out[5];
    auto n = (*reader)->read_at(7, out);
    ASSERT_TRUE(n);
    EXPECT_EQ(std::string_view(out, *n), "world");
    EXPECT_EQ(this->read_all("media/m_1/original"), "hello, world");
    EXPECT_EQ(this->store().exists("media/m_1/original").value(), true);
}

TYPED_TEST(BlobStoreContract, ReadAtTheEndReturnsZero) {
    this->put("a", "abc");
    auto reader = this->store().open("a").value();
    char out[4];
    EXPECT_EQ(reader->read_at(3, out).value(), 0u);
    EXPECT_EQ(reader->read_at(1000, out).value(), 0u);
}

TYPED_TEST(BlobStoreContract, EmptyObjectHasSizeZero) {
    this->put("empty", "");
    EXPECT_EQ(this->store().open("empty").value()->size(), 0u);
    EXPECT_EQ(this->read_all("empty"), "");
}

TYPED_TEST(BlobStoreContract, ModifiedTimeIsWhenTheObjectWasPut) {
    auto const before = std::chrono::system_clock::now() - std::chrono::minutes(1);
    this->put("a", "abc");
    auto const modified = this->store().open("a").value()->modified();
    EXPECT_GT(modified, before);
    EXPECT_LT(modified, std::chrono::system_clock::now() + std::chrono::minutes(1));
}

TYPED_TEST(BlobStoreContract, PutConsumesTheSourceFile) {
    fs::path const source = this->make_source("bytes");
    ASSERT_TRUE(this->store().put_file("k", source));
    EXPECT_FALSE(fs::exists(source));
}

TYPED_TEST(BlobStoreContract, PutOfAMissingSourceFailsAndCreatesNothing) {
    EXPECT_FALSE(this->store().put_file("k", this->backend_.scratch_directory() / "no-such-file"));
    EXPECT_EQ(this->store().exists("k").value(), false);
}

TYPED_TEST(BlobStoreContract, PutReplacesAnExistingObject) {
    this->put("media/m_1/original", "first version, longer");
    this->put("media/m_1/original", "second");
    EXPECT_EQ(this->read_all("media/m_1/original"), "second");
}

TYPED_TEST(BlobStoreContract, ConcurrentReadersSeeOneWholeVersionOrTheOther) {
    std::string const a(4000, 'a');
    std::string const b(9000, 'b');
    this->put("k", a);
    std::atomic<bool> writing = true;
    std::atomic<int> reads = 0;
    std::atomic<int> torn = 0;
    std::thread reader([&] {
        while (writing) {
            std::string const seen = this->read_all("k");
            if (seen != a && seen != b) ++torn;
            ++reads;
        }
    });
    // Start replacing only once the reader is reading, so the two really overlap.
    auto const deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (reads == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    for (int i = 0; i < 40; ++i) this->put("k", i % 2 ? a : b);
    writing = false;
    reader.join();
    EXPECT_GT(reads, 0);
    EXPECT_EQ(torn, 0);
}

TYPED_TEST(BlobStoreContract, MissingKeyIsNotFound) {
    auto reader = this->store().open("media/m_none/original");
    ASSERT_FALSE(reader);
    EXPECT_EQ(reader.error().code(), Errc::not_found);
    EXPECT_EQ(this->store().exists("media/m_none/original").value(), false);
}

TYPED_TEST(BlobStoreContract, PrefixOfKeysIsNotAnObject) {
    this->put("media/m_1/original", "x");
    auto reader = this->store().open("media/m_1");
    ASSERT_FALSE(reader);
    EXPECT_EQ(reader.error().code(), Errc::not_found);
    EXPECT_EQ(this->store().exists("media/m_1").value(), false);
}

TYPED_TEST(BlobStoreContract, InvalidKeysAreRejectedByEveryMethod) {
    std::vector<std::string> const bad_keys = {
        "../x", "/abs",        "a//b", "a/./b", "", "a/", "a/..", ".", "..", "with space", std::string("a\0b", 3),
        "a\\b", "caf\xc3\xa9", "a\nb",
    };
    for (auto const& key : bad_keys) {
        SCOPED_TRACE(testing::PrintToString(key));
        fs::path const source = this->make_source("x");
        auto put = this->store().put_file(key, source);
        ASSERT_FALSE(put);
        EXPECT_EQ(put.error().code(), Errc::invalid_argument);
        EXPECT_TRUE(fs::exists(source));  // a rejected put leaves its source alone
        auto reader = this->store().open(key);
        ASSERT_FALSE(reader);
        EXPECT_EQ(reader.error().code(), Errc::invalid_argument);
        auto exists = this->store().exists(key);
        ASSERT_FALSE(exists);
        EXPECT_EQ(exists.error().code(), Errc::invalid_argument);
        auto removed = this->store().remove_all(key);
        ASSERT_FALSE(removed);
        EXPECT_EQ(removed.error().code(), Errc::invalid_argument);
    }
}

TYPED_TEST(BlobStoreContract, RemoveAllRemovesThePrefixAndEverythingBelowIt) {
    this->put("media/m_1/original", "1");
    this->put("media/m_1/hls/aac-128/seg1.m4s", "2");
    this->put("media/m_10/original", "3");  // shares the characters "media/m_1" but is not below it
    this->put("media/m_2/original", "4");
    ASSERT_TRUE(this->store().remove_all("media/m_1"));
    EXPECT_EQ(this->store().exists("media/m_1/original").value(), false);
    EXPECT_EQ(this->store().exists("media/m_1/hls/aac-128/seg1.m4s").value(), false);
    EXPECT_EQ(this->read_all("media/m_10/original"), "3");
    EXPECT_EQ(this->read_all("media/m_2/original"), "4");
}

TYPED_TEST(BlobStoreContract, RemoveAllOfOneObjectKeyRemovesIt) {
    this->put("media/m_1/original", "1");
    this->put("media/m_1/waveform.json", "2");
    ASSERT_TRUE(this->store().remove_all("media/m_1/original"));
    EXPECT_EQ(this->store().exists("media/m_1/original").value(), false);
    EXPECT_EQ(this->read_all("media/m_1/waveform.json"), "2");
}

TYPED_TEST(BlobStoreContract, RemoveAllOfNothingSucceeds) {
    EXPECT_TRUE(this->store().remove_all("media/m_none"));
    this->put("a", "1");
    EXPECT_TRUE(this->store().remove_all("a/b"));  // below an object, not a prefix of anything
    EXPECT_EQ(this->read_all("a"), "1");
}

TYPED_TEST(BlobStoreContract, NativeHandleReadsTheObjectWithPread) {
    this->put("media/m_1/original", "0123456789");
    auto reader = this->store().open("media/m_1/original").value();
    int const fd = reader->native_handle();
    if (!TypeParam::has_native_handle) {
        EXPECT_EQ(fd, -1);
        return;
    }
    ASSERT_GE(fd, 0);
    char out[4];
    ASSERT_EQ(::pread(fd, out, sizeof out, 3), 4);
    EXPECT_EQ(std::string_view(out, 4), "3456");
}

TYPED_TEST(BlobStoreContract, PingSucceeds) { EXPECT_TRUE(this->store().ping()); }

TEST(IsValidKey, AcceptsSegmentsOfTheKeyAlphabet) {
    EXPECT_TRUE(is_valid_key("a"));
    EXPECT_TRUE(is_valid_key("media/m_2xK9/original"));
    EXPECT_TRUE(is_valid_key("media/m_1/hls/aac-128/init.mp4"));
    EXPECT_TRUE(is_valid_key("..a/b.."));  // only "." and ".." themselves are special
}

TEST(IsValidKey, RejectsEmptySegmentsDotSegmentsAndOtherCharacters) {
    EXPECT_FALSE(is_valid_key(""));
    EXPECT_FALSE(is_valid_key("/"));
    EXPECT_FALSE(is_valid_key("a/"));
    EXPECT_FALSE(is_valid_key("/a"));
    EXPECT_FALSE(is_valid_key("a//b"));
    EXPECT_FALSE(is_valid_key("a/./b"));
    EXPECT_FALSE(is_valid_key("a/../b"));
    EXPECT_FALSE(is_valid_key("a b"));
    EXPECT_FALSE(is_valid_key(std::string_view("a\0b", 3)));
    EXPECT_FALSE(is_valid_key("a:b"));
    EXPECT_FALSE(is_valid_key("a%2fb"));
}

// LocalBlobStore only. The stores are used through BlobStore, as callers do: on LocalBlobStore itself,
// open("k") could mean the static open(root) as well as open(key).

std::unique_ptr<BlobStore> open_local(fs::path const& root) { return LocalBlobStore::open(root).value(); }

TEST(LocalBlobStore, ObjectIsTheFileAtRootSlashKey) {
    test::TempDir dir;
    auto store = open_local(dir.path() / "nested" / "blobs");
    EXPECT_TRUE(fs::is_directory(dir.path() / "nested" / "blobs"));
    std::ofstream(dir.path() / "src") << "bytes";
    ASSERT_TRUE(store->put_file("media/m_1/original", dir.path() / "src"));
    std::ifstream in(dir.path() / "nested" / "blobs" / "media" / "m_1" / "original");
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "bytes");
}

TEST(LocalBlobStore, OpenReaderKeepsTheVersionItOpened) {
    test::TempDir dir;
    auto store = open_local(dir.path() / "blobs");
    std::ofstream(dir.path() / "v1") << "version one";
    ASSERT_TRUE(store->put_file("k", dir.path() / "v1"));
    auto reader = store->open("k").value();
    std::ofstream(dir.path() / "v2") << "two";
    ASSERT_TRUE(store->put_file("k", dir.path() / "v2"));
    char out[32];
    auto n = reader->read_at(0, out);
    ASSERT_TRUE(n);
    EXPECT_EQ(std::string_view(out, *n), "version one");
}

TEST(LocalBlobStore, ReaderDescriptorIsCloseOnExec) {
    test::TempDir dir;
    auto store = open_local(dir.path() / "blobs");
    std::ofstream(dir.path() / "src") << "x";
    ASSERT_TRUE(store->put_file("k", dir.path() / "src"));
    auto reader = store->open("k").value();
    int const flags = ::fcntl(reader->native_handle(), F_GETFD);
    ASSERT_GE(flags, 0);
    EXPECT_TRUE(flags & FD_CLOEXEC);
    EXPECT_EQ(::fcntl(reader->native_handle(), F_GETFL) & O_ACCMODE, O_RDONLY);
}

TEST(LocalBlobStore, PutBelowAnObjectOrOverAPrefixIsConflict) {
    test::TempDir dir;
    auto store = open_local(dir.path() / "blobs");
    std::ofstream(dir.path() / "src1") << "x";
    ASSERT_TRUE(store->put_file("a/b", dir.path() / "src1"));
    std::ofstream(dir.path() / "src2") << "y";
    auto below = store->put_file("a/b/c", dir.path() / "src2");
    ASSERT_FALSE(below);
    EXPECT_EQ(below.error().code(), Errc::conflict);
    auto over = store->put_file("a", dir.path() / "src2");
    ASSERT_FALSE(over);
    EXPECT_EQ(over.error().code(), Errc::conflict);
}

TEST(LocalBlobStore, PingFailsWhenTheRootIsGone) {
    test::TempDir dir;
    auto store = open_local(dir.path() / "blobs");
    fs::remove_all(dir.path() / "blobs");
    auto ping = store->ping();
    ASSERT_FALSE(ping);
    EXPECT_EQ(ping.error().code(), Errc::unavailable);
}

}  // namespace
}  // namespace onda::storage
