// The MetaStore contract: every implementation runs these tests (add its Backend to MetaStoreBackends).
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "meta_store_backends.hpp"
#include "core/run_alone.hpp"
#include "storage/meta_store.hpp"

namespace onda::storage {
namespace {

SystemTime at_micros(std::int64_t micros) { return from_unix_micros(micros); }

// A ready-to-insert record with every field set to something distinct.
MediaRecord make_record(std::string id, std::int64_t created_micros) {
    MediaRecord r;
    r.id = std::move(id);
    r.title = "Episode " + r.id;
    r.filename = r.id + ".wav";
    r.owner = "alice";
    r.visibility = "public";
    r.source = "upload";
    r.kind = "audio";
    r.content_type = "audio/wav";
    r.size = 5292044;
    r.sha256 = std::string(64, 'a');
    r.duration = 60.0;
    r.bit_rate = 705600;
    r.format = "wav";
    r.audio = boost::json::parse(R"({"codec":"pcm_s16le","sample_rate":44100,"channels":1,"bit_rate":705600})");
    r.created_at = at_micros(created_micros);
    return r;
}

std::vector<std::string> ids_of(MediaPage const& page) {
    std::vector<std::string> ids;
    for (auto const& item : page.items) ids.push_back(item.id);
    return ids;
}

void expect_same_record(MediaRecord const& got, MediaRecord const& want) {
    EXPECT_EQ(got.id, want.id);
    EXPECT_EQ(got.title, want.title);
    EXPECT_EQ(got.filename, want.filename);
    EXPECT_EQ(got.owner, want.owner);
    EXPECT_EQ(got.visibility, want.visibility);
    EXPECT_EQ(got.source, want.source);
    EXPECT_EQ(got.kind, want.kind);
    EXPECT_EQ(got.content_type, want.content_type);
    EXPECT_EQ(got.size, want.size);
    EXPECT_EQ(got.sha256, want.sha256);
    EXPECT_EQ(got.duration, want.duration);
    EXPECT_EQ(got.bit_rate, want.bit_rate);
    EXPECT_EQ(got.format, want.format);
    EXPECT_EQ(got.audio, want.audio) << boost::json::serialize(got.audio);
    EXPECT_EQ(got.video, want.video) << boost::json::serialize(got.video);
    EXPECT_EQ(got.metadata, want.metadata) << boost::json::serialize(got.metadata);
    EXPECT_EQ(to_unix_micros(got.created_at), to_unix_micros(want.created_at));
    EXPECT_EQ(got.transcode_state, want.transcode_state);
    EXPECT_EQ(got.transcode_progress, want.transcode_progress);
    EXPECT_EQ(got.transcode_error, want.transcode_error);
    EXPECT_EQ(got.renditions, want.renditions) << boost::json::serialize(got.renditions);
    EXPECT_EQ(got.has_hls, want.has_hls);
    EXPECT_EQ(got.has_thumbnail, want.has_thumbnail);
    EXPECT_EQ(got.has_waveform, want.has_waveform);
}

template <class Backend>
class MetaStoreContract : public ::testing::Test {
protected:
    MetaStore& store() { return *store_; }

    void insert_ready(MediaRecord record) {
        std::string const id = record.id;
        auto inserted = run_alone(store().insert_media(std::move(record)));
        ASSERT_TRUE(inserted) << inserted.error().message();
        auto ready = run_alone(store().mark_media_ready(id));
        ASSERT_TRUE(ready) << ready.error().message();
    }

    MediaPage list(MediaQuery query) {
        auto page = run_alone(store().list_media(std::move(query)));
        EXPECT_TRUE(page) << page.error().message();
        return page ? std::move(*page) : MediaPage{};
    }

    // Every id the query reaches, following next_cursor page by page.
    std::vector<std::string> list_every_page(MediaQuery query, std::vector<std::size_t>* page_sizes = nullptr) {
        std::vector<std::string> ids;
        for (int pages = 0; pages < 100; ++pages) {  // a cursor that never ends fails the test, not the run
            MediaPage page = list(query);
            if (page_sizes) page_sizes->push_back(page.items.size());
            for (auto const& item : page.items) ids.push_back(item.id);
            if (!page.next_cursor) return ids;
            query.cursor = page.next_cursor;
        }
        ADD_FAILURE() << "pagination did not end";
        return ids;
    }

    static MediaQuery admin_query() {
        MediaQuery query;
        query.viewer = "root";
        query.viewer_is_admin = true;
        return query;
    }

    Backend backend_;
    std::unique_ptr<MetaStore> store_ = backend_.open();
};

TYPED_TEST_SUITE(MetaStoreContract, test::MetaStoreBackends);

TYPED_TEST(MetaStoreContract, PendingRowIsInvisibleUntilMarkedReady) {
    ASSERT_TRUE(run_alone(this->store().insert_media(make_record("m_1", 1000))));
    auto found = run_alone(this->store().find_media("m_1"));
    ASSERT_FALSE(found);
    EXPECT_EQ(found.error().code(), Errc::not_found);
    EXPECT_TRUE(this->list(this->admin_query()).items.empty());

    ASSERT_TRUE(run_alone(this->store().mark_media_ready("m_1")));
    EXPECT_TRUE(run_alone(this->store().find_media("m_1")));
    EXPECT_EQ(ids_of(this->list(this->admin_query())), std::vector<std::string>{"m_1"});
}

TYPED_TEST(MetaStoreContract, MarkReadyNeedsAPendingRow) {
    auto unknown = run_alone(this->store().mark_media_ready("m_none"));
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().code(), Errc::not_found);
    this->insert_ready(make_record("m_1", 1000));
    auto again = run_alone(this->store().mark_media_ready("m_1"));
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code(), Errc::not_found);
}

TYPED_TEST(MetaStoreContract, DuplicateIdIsConflict) {
    ASSERT_TRUE(run_alone(this->store().insert_media(make_record("m_1", 1000))));
    auto pending_twice = run_alone(this->store().insert_media(make_record("m_1", 2000)));
    ASSERT_FALSE(pending_twice);
    EXPECT_EQ(pending_twice.error().code(), Errc::conflict);
    ASSERT_TRUE(run_alone(this->store().mark_media_ready("m_1")));
    auto ready_twice = run_alone(this->store().insert_media(make_record("m_1", 3000)));
    ASSERT_FALSE(ready_twice);
    EXPECT_EQ(ready_twice.error().code(), Errc::conflict);
    EXPECT_EQ(to_unix_micros(run_alone(this->store().find_media("m_1"))->created_at), 1000);
}

TYPED_TEST(MetaStoreContract, EveryFieldSurvivesTheRoundTrip) {
    MediaRecord audio = make_record("m_audio", 1'795'780'800'123'457);  // microsecond precision
    audio.title = "Épisode 1 — «naïve» 日本";
    audio.size = 5'000'000'000;  // past 32 bits
    audio.duration = 60.123456789;
    audio.metadata = boost::json::parse(R"({"artist":"A","tags":["x","y"],"n":1.5,"nested":{"k":null}})").as_object();
    audio.transcode_state = "failed";
    audio.transcode_progress = 0.25;
    audio.transcode_error = "decoder said no";

    MediaRecord video = make_record("m_video", 1'795'780'800'000'001);
    video.kind = "video";
    video.content_type = "video/mp4";
    video.audio = nullptr;
    video.video = boost::json::parse(R"({"codec":"h264","width":1920,"height":1080,"fps":29.97,"bit_rate":4000000})");
    video.transcode_state = "done";
    video.transcode_progress = 1;
    video.renditions =
        boost::json::parse(R"([{"name":"720p","codec":"h264","bit_rate":2500000,"container":"hls"}])").as_array();
    video.has_hls = true;
    video.has_thumbnail = true;
    audio.has_waveform = true;

    this->insert_ready(audio);
    this->insert_ready(video);
    auto found_audio = run_alone(this->store().find_media("m_audio"));
    ASSERT_TRUE(found_audio);
    expect_same_record(*found_audio, audio);
    auto found_video = run_alone(this->store().find_media("m_video"));
    ASSERT_TRUE(found_video);
    expect_same_record(*found_video, video);
    EXPECT_TRUE(found_video->audio.is_null());
    EXPECT_FALSE(found_video->transcode_error);

    MediaPage page = this->list(this->admin_query());
    ASSERT_EQ(page.items.size(), 2u);
    expect_same_record(page.items[0], audio);  // the newer one
    expect_same_record(page.items[1], video);
}

TYPED_TEST(MetaStoreContract, ListsNewestFirstWithIdBreakingTies) {
    this->insert_ready(make_record("m_b", 2000));
    this->insert_ready(make_record("m_old", 1000));
    this->insert_ready(make_record("m_a", 2000));
    this->insert_ready(make_record("m_new", 3000));
    this->insert_ready(make_record("m_c", 2000));
    std::vector<std::string> const newest_first = {"m_new", "m_c", "m_b", "m_a", "m_old"};
    EXPECT_EQ(ids_of(this->list(this->admin_query())), newest_first);
}

TYPED_TEST(MetaStoreContract, PagesVisitEveryItemExactlyOnceInOrder) {
    // Seven items, three of them sharing a timestamp across the first page boundary.
    for (auto const& [id, micros] : std::vector<std::pair<std::string, std::int64_t>>{
             {"m_1", 100}, {"m_2", 200}, {"m_3", 300}, {"m_4", 300}, {"m_5", 300}, {"m_6", 600}, {"m_7", 700}})
        this->insert_ready(make_record(id, micros));
    MediaQuery query = this->admin_query();
    query.limit = 3;
    std::vector<std::size_t> sizes;
    std::vector<std::string> const ids = this->list_every_page(query, &sizes);
    EXPECT_EQ(ids, (std::vector<std::string>{"m_7", "m_6", "m_5", "m_4", "m_3", "m_2", "m_1"}));
    EXPECT_EQ(sizes, (std::vector<std::size_t>{3, 3, 1}));
}

TYPED_TEST(MetaStoreContract, LastFullPageHasNoCursor) {
    for (int i = 1; i <= 6; ++i) this->insert_ready(make_record("m_" + std::to_string(i), i * 10));
    MediaQuery query = this->admin_query();
    query.limit = 3;
    MediaPage first = this->list(query);
    ASSERT_TRUE(first.next_cursor);
    query.cursor = first.next_cursor;
    MediaPage second = this->list(query);
    EXPECT_EQ(ids_of(second), (std::vector<std::string>{"m_3", "m_2", "m_1"}));
    EXPECT_FALSE(second.next_cursor);
}

TYPED_TEST(MetaStoreContract, EmptyStoreListsNothing) {
    MediaPage page = this->list(MediaQuery{});
    EXPECT_TRUE(page.items.empty());
    EXPECT_FALSE(page.next_cursor);
}

TYPED_TEST(MetaStoreContract, FiltersByKindAndSource) {
    MediaRecord video = make_record("m_video", 100);
    video.kind = "video";
    MediaRecord tts = make_record("m_tts", 200);
    tts.source = "tts";
    MediaRecord live = make_record("m_live", 300);
    live.kind = "video";
    live.source = "live";
    this->insert_ready(make_record("m_audio", 50));
    this->insert_ready(video);
    this->insert_ready(tts);
    this->insert_ready(live);

    MediaQuery videos = this->admin_query();
    videos.kind = "video";
    EXPECT_EQ(ids_of(this->list(videos)), (std::vector<std::string>{"m_live", "m_video"}));
    MediaQuery from_tts = this->admin_query();
    from_tts.source = "tts";
    EXPECT_EQ(ids_of(this->list(from_tts)), std::vector<std::string>{"m_tts"});
    MediaQuery live_audio = this->admin_query();
    live_audio.kind = "audio";
    live_audio.source = "live";
    EXPECT_TRUE(this->list(live_audio).items.empty());
}

TYPED_TEST(MetaStoreContract, TextMatchesTitleOrFilenameIgnoringCase) {
    MediaRecord news = make_record("m_news", 100);
    news.title = "Morning News";
    news.filename = "show.mp3";
    MediaRecord episode = make_record("m_episode", 200);
    episode.title = "Untitled";
    episode.filename = "Episode_01.wav";
    this->insert_ready(news);
    this->insert_ready(episode);

    auto matching = [&](std::string text) {
        MediaQuery query = this->admin_query();
        query.text = std::move(text);
        return ids_of(this->list(query));
    };
    EXPECT_EQ(matching("news"), std::vector<std::string>{"m_news"});
    EXPECT_EQ(matching("NING NE"), std::vector<std::string>{"m_news"});
    EXPECT_EQ(matching("episode"), std::vector<std::string>{"m_episode"});
    EXPECT_EQ(matching(".MP3"), std::vector<std::string>{"m_news"});
    EXPECT_EQ(matching("o"), (std::vector<std::string>{"m_episode", "m_news"}));
    EXPECT_TRUE(matching("nothing like it").empty());
}

TYPED_TEST(MetaStoreContract, TextTreatsPercentUnderscoreAndBackslashLiterally) {
    std::vector<std::pair<std::string, std::string>> const titles = {
        {"m_percent", "100% pure"}, {"m_digits", "1000 pure"}, {"m_under", "a_b"}, {"m_x", "axb"},
        {"m_slash", "back\\slash"}, {"m_plain", "backslash"},
    };
    std::int64_t micros = 100;
    for (auto const& [id, title] : titles) {
        MediaRecord record = make_record(id, micros += 100);
        record.title = title;
        record.filename = "file.wav";
        this->insert_ready(record);
    }
    auto matching = [&](std::string text) {
        MediaQuery query = this->admin_query();
        query.text = std::move(text);
        return ids_of(this->list(query));
    };
    EXPECT_EQ(matching("%"), std::vector<std::string>{"m_percent"});
    EXPECT_EQ(matching("0%"), std::vector<std::string>{"m_percent"});
    EXPECT_EQ(matching("_"), std::vector<std::string>{"m_under"});
    EXPECT_EQ(matching("a_b"), std::vector<std::string>{"m_under"});
    EXPECT_EQ(matching("\\"), std::vector<std::string>{"m_slash"});
    EXPECT_EQ(matching("k\\s"), std::vector<std::string>{"m_slash"});
}

TYPED_TEST(MetaStoreContract, ViewersSeePublicItemsAndTheirOwn) {
    MediaRecord alice_public = make_record("m_alice_public", 300);
    MediaRecord alice_private = make_record("m_alice_private", 200);
    alice_private.visibility = "private";
    MediaRecord bob_private = make_record("m_bob_private", 100);
    bob_private.owner = "bob";
    bob_private.visibility = "private";
    this->insert_ready(alice_public);
    this->insert_ready(alice_private);
    this->insert_ready(bob_private);

    auto visible_to = [&](std::string viewer, bool admin) {
        MediaQuery query;
        query.viewer = std::move(viewer);
        query.viewer_is_admin = admin;
        return ids_of(this->list(query));
    };
    EXPECT_EQ(visible_to("", false), std::vector<std::string>{"m_alice_public"});
    EXPECT_EQ(visible_to("alice", false), (std::vector<std::string>{"m_alice_public", "m_alice_private"}));
    EXPECT_EQ(visible_to("bob", false), (std::vector<std::string>{"m_alice_public", "m_bob_private"}));
    EXPECT_EQ(visible_to("carol", false), std::vector<std::string>{"m_alice_public"});
    EXPECT_EQ(visible_to("root", true),
              (std::vector<std::string>{"m_alice_public", "m_alice_private", "m_bob_private"}));
}

TYPED_TEST(MetaStoreContract, AnonymousViewerDoesNotMatchAnOwnerlessRow) {
    MediaRecord ownerless = make_record("m_ownerless", 100);
    ownerless.owner = "";
    ownerless.visibility = "private";
    this->insert_ready(ownerless);
    EXPECT_TRUE(this->list(MediaQuery{}).items.empty());
}

TYPED_TEST(MetaStoreContract, MalformedCursorIsInvalidArgument) {
    this->insert_ready(make_record("m_1", 100));
    std::vector<std::string> const bad = {
        "",   "abc",    "123",    ":m_1", "12x:m_1", "0123:m_1", "+5:m_1", "-0:m_1", "99999999999999999999:m_1",
        "5:", " 5:m_1", "5 :m_1",
    };
    for (auto const& cursor : bad) {
        SCOPED_TRACE(cursor);
        MediaQuery query = this->admin_query();
        query.cursor = cursor;
        auto page = run_alone(this->store().list_media(query));
        ASSERT_FALSE(page);
        EXPECT_EQ(page.error().code(), Errc::invalid_argument);
    }
}

TYPED_TEST(MetaStoreContract, UpdateChangesOnlyThePatchedFields) {
    MediaRecord record = make_record("m_1", 100);
    this->insert_ready(record);

    MediaPatch title_only;
    title_only.title = "New title";
    auto updated = run_alone(this->store().update_media("m_1", title_only));
    ASSERT_TRUE(updated) << updated.error().message();
    record.title = "New title";
    expect_same_record(*updated, record);

    MediaPatch rest;
    rest.visibility = "private";
    rest.metadata = boost::json::object{{"artist", "B"}};
    updated = run_alone(this->store().update_media("m_1", rest));
    ASSERT_TRUE(updated);
    record.visibility = "private";
    record.metadata = boost::json::object{{"artist", "B"}};
    expect_same_record(*updated, record);
    expect_same_record(run_alone(this->store().find_media("m_1")).value(), record);

    MediaPatch empty_metadata;
    empty_metadata.metadata = boost::json::object{};
    updated = run_alone(this->store().update_media("m_1", empty_metadata));
    ASSERT_TRUE(updated);
    EXPECT_TRUE(updated->metadata.empty());
}

TYPED_TEST(MetaStoreContract, UpdateOfAnAbsentOrPendingRowIsNotFound) {
    MediaPatch patch;
    patch.title = "x";
    auto absent = run_alone(this->store().update_media("m_none", patch));
    ASSERT_FALSE(absent);
    EXPECT_EQ(absent.error().code(), Errc::not_found);
    ASSERT_TRUE(run_alone(this->store().insert_media(make_record("m_pending", 100))));
    auto pending = run_alone(this->store().update_media("m_pending", patch));
    ASSERT_FALSE(pending);
    EXPECT_EQ(pending.error().code(), Errc::not_found);
}

TYPED_TEST(MetaStoreContract, DeleteRemovesTheRow) {
    this->insert_ready(make_record("m_1", 100));
    this->insert_ready(make_record("m_2", 200));
    ASSERT_TRUE(run_alone(this->store().delete_media("m_1")));
    EXPECT_EQ(run_alone(this->store().find_media("m_1")).error().code(), Errc::not_found);
    EXPECT_EQ(ids_of(this->list(this->admin_query())), std::vector<std::string>{"m_2"});
    auto again = run_alone(this->store().delete_media("m_1"));
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code(), Errc::not_found);
}

TYPED_TEST(MetaStoreContract, DeleteAlsoTakesBackAPendingRow) {
    ASSERT_TRUE(run_alone(this->store().insert_media(make_record("m_1", 100))));
    ASSERT_TRUE(run_alone(this->store().delete_media("m_1")));
    EXPECT_TRUE(run_alone(this->store().take_pending_media())->empty());
    EXPECT_TRUE(run_alone(this->store().insert_media(make_record("m_1", 100))));  // the id is free again
}

TYPED_TEST(MetaStoreContract, TakePendingReturnsAndRemovesOnlyPendingRows) {
    ASSERT_TRUE(run_alone(this->store().insert_media(make_record("m_p1", 100))));
    ASSERT_TRUE(run_alone(this->store().insert_media(make_record("m_p2", 200))));
    this->insert_ready(make_record("m_ready", 300));
    auto taken = run_alone(this->store().take_pending_media());
    ASSERT_TRUE(taken);
    std::sort(taken->begin(), taken->end());
    EXPECT_EQ(*taken, (std::vector<std::string>{"m_p1", "m_p2"}));
    EXPECT_TRUE(run_alone(this->store().take_pending_media())->empty());
    EXPECT_TRUE(run_alone(this->store().find_media("m_ready")));
    EXPECT_EQ(run_alone(this->store().mark_media_ready("m_p1")).error().code(), Errc::not_found);
}

TYPED_TEST(MetaStoreContract, ReopeningKeepsTheData) {
    MediaRecord record = make_record("m_1", 100);
    this->insert_ready(record);
    ASSERT_TRUE(run_alone(this->store().insert_media(make_record("m_pending", 200))));
    for (int reopen = 0; reopen < 2; ++reopen) {  // migrations run again at each open and must change nothing
        this->store_.reset();
        this->store_ = this->backend_.open();
        expect_same_record(run_alone(this->store().find_media("m_1")).value(), record);
    }
    EXPECT_EQ(run_alone(this->store().take_pending_media()).value(), std::vector<std::string>{"m_pending"});
}

TYPED_TEST(MetaStoreContract, PingSucceeds) { EXPECT_TRUE(run_alone(this->store().ping())); }

Task<Result<void>> insert_then_mark_ready(MetaStore& store, MediaRecord record) {  // store outlives the task
    std::string const id = record.id;
    auto inserted = co_await store.insert_media(std::move(record));
    if (!inserted) co_return inserted;
    co_return co_await store.mark_media_ready(id);
}

TYPED_TEST(MetaStoreContract, ConcurrentCallsFromOneExecutorAllSucceed) {
    constexpr int count = 24;
    boost::asio::io_context context;
    std::vector<std::future<Result<void>>> outcomes;
    for (int i = 0; i < count; ++i) {
        auto task = insert_then_mark_ready(this->store(), make_record("m_" + std::to_string(i), i));
        outcomes.push_back(boost::asio::co_spawn(context, std::move(task), boost::asio::use_future));
    }
    context.run();
    for (auto& outcome : outcomes) {
        auto result = outcome.get();
        EXPECT_TRUE(result) << result.error().message();
    }
    MediaQuery query = this->admin_query();
    query.limit = 200;
    EXPECT_EQ(this->list(query).items.size(), static_cast<std::size_t>(count));
}

UploadRecord make_upload(std::string id, std::int64_t expires_micros) {
    return UploadRecord{.id = std::move(id),
                        .owner = "alice",
                        .length = 5'000'000'000,
                        .offset = 0,
                        .metadata = "filename YS53YXY=,title",
                        .created_at = at_micros(1'000),
                        .expires_at = at_micros(expires_micros)};
}

TYPED_TEST(MetaStoreContract, UploadRowSurvivesTheRoundTrip) {
    auto inserted = run_alone(this->store().insert_upload(make_upload("u_1", 9'000)));
    ASSERT_TRUE(inserted) << inserted.error().message();
    auto found = run_alone(this->store().find_upload("u_1"));
    ASSERT_TRUE(found) << found.error().message();
    EXPECT_EQ(found->owner, "alice");
    EXPECT_EQ(found->length, 5'000'000'000u);
    EXPECT_EQ(found->offset, 0u);
    EXPECT_EQ(found->metadata, "filename YS53YXY=,title");
    EXPECT_EQ(found->created_at, at_micros(1'000));
    EXPECT_EQ(found->expires_at, at_micros(9'000));
    EXPECT_FALSE(found->media_id);
    EXPECT_EQ(run_alone(this->store().insert_upload(make_upload("u_1", 1))).error().code(), Errc::conflict);
}

TYPED_TEST(MetaStoreContract, UploadOffsetAndMediaAreRecorded) {
    ASSERT_TRUE(run_alone(this->store().insert_upload(make_upload("u_1", 9'000))));
    ASSERT_TRUE(run_alone(this->store().update_upload_offset("u_1", 4096, at_micros(20'000))));
    auto found = run_alone(this->store().find_upload("u_1"));
    ASSERT_TRUE(found);
    EXPECT_EQ(found->offset, 4096u);
    EXPECT_EQ(found->expires_at, at_micros(20'000));
    ASSERT_TRUE(run_alone(this->store().set_upload_media("u_1", "m_7", at_micros(30'000))));
    found = run_alone(this->store().find_upload("u_1"));
    ASSERT_TRUE(found);
    EXPECT_EQ(found->media_id, "m_7");
    EXPECT_EQ(found->offset, found->length);
    EXPECT_EQ(found->expires_at, at_micros(30'000));
}

TYPED_TEST(MetaStoreContract, UploadChangesNeedTheRow) {
    EXPECT_EQ(run_alone(this->store().find_upload("u_none")).error().code(), Errc::not_found);
    EXPECT_EQ(run_alone(this->store().update_upload_offset("u_none", 1, at_micros(1))).error().code(), Errc::not_found);
    EXPECT_EQ(run_alone(this->store().set_upload_media("u_none", "m_1", at_micros(1))).error().code(), Errc::not_found);
    EXPECT_EQ(run_alone(this->store().delete_upload("u_none")).error().code(), Errc::not_found);
}

TYPED_TEST(MetaStoreContract, OffsetPastLengthIsRefused) {
    ASSERT_TRUE(run_alone(this->store().insert_upload(make_upload("u_1", 9'000))));
    EXPECT_FALSE(run_alone(this->store().update_upload_offset("u_1", 6'000'000'000, at_micros(1))));
    EXPECT_EQ(run_alone(this->store().find_upload("u_1"))->offset, 0u);
}

TYPED_TEST(MetaStoreContract, ExpiredUploadsAreListedOldestFirstAndDeleted) {
    for (auto [id, expires] : {std::pair{"u_late", 5'000}, {"u_early", 1'000}, {"u_future", 99'000}})
        ASSERT_TRUE(run_alone(this->store().insert_upload(make_upload(id, expires))));
    auto expired = run_alone(this->store().list_expired_uploads(at_micros(10'000), 10));
    ASSERT_TRUE(expired);
    EXPECT_EQ(*expired, (std::vector<std::string>{"u_early", "u_late"}));
    EXPECT_EQ(run_alone(this->store().list_expired_uploads(at_micros(10'000), 1))->size(), 1u);
    ASSERT_TRUE(run_alone(this->store().delete_upload("u_early")));
    EXPECT_EQ(*run_alone(this->store().list_expired_uploads(at_micros(10'000), 10)),
              (std::vector<std::string>{"u_late"}));
}

}  // namespace
}  // namespace onda::storage
