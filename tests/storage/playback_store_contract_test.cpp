// The MetaStore contract for users' playback state: one row per user, kept whole, and ordered by
// version so that a late write of an older state never replaces a newer one.
#include <string>

#include <gtest/gtest.h>

#include "core/run_alone.hpp"
#include "meta_store_backends.hpp"
#include "storage/meta_store.hpp"

namespace onda::storage {
namespace {

SystemTime at_seconds(std::int64_t seconds) { return from_unix_micros(seconds * 1'000'000); }

PlaybackRecord make_state(std::string user, std::uint64_t version) {
    return PlaybackRecord{.user = std::move(user),
                          .track_id = "m_track1",
                          .playing = true,
                          .position = 12.5,
                          .volume = 0.25,
                          .quality = "320k",
                          .duration = 61.5,
                          .queue = {"m_track1", "m_track2", "m_track3"},
                          .queue_index = 1,
                          .device = "laptop",
                          .updated_at = at_seconds(1'700'000'000),
                          .version = version};
}

template <class Backend>
class PlaybackStoreContract : public ::testing::Test {
protected:
    MetaStore& store() { return *store_; }
    std::optional<PlaybackRecord> find(std::string user) { return run_alone(store().find_playback(user)).value(); }
    bool save(PlaybackRecord record) { return run_alone(store().save_playback(std::move(record))).value(); }

    Backend backend_;
    std::unique_ptr<MetaStore> store_ = backend_.open();
};

TYPED_TEST_SUITE(PlaybackStoreContract, test::MetaStoreBackends);

TYPED_TEST(PlaybackStoreContract, AUserWithNoSavedStateHasNone) { EXPECT_FALSE(this->find("alice")); }

TYPED_TEST(PlaybackStoreContract, ASavedStateReadsBackWhole) {
    EXPECT_TRUE(this->save(make_state("alice", 1)));
    auto found = this->find("alice");
    ASSERT_TRUE(found);
    auto const expected = make_state("alice", 1);
    EXPECT_EQ(found->user, "alice");
    EXPECT_EQ(found->track_id, expected.track_id);
    EXPECT_TRUE(found->playing);
    EXPECT_DOUBLE_EQ(found->position, expected.position);
    EXPECT_DOUBLE_EQ(found->volume, expected.volume);
    EXPECT_EQ(found->quality, expected.quality);
    EXPECT_DOUBLE_EQ(found->duration, expected.duration);
    EXPECT_EQ(found->queue, expected.queue);
    EXPECT_EQ(found->queue_index, 1u);
    EXPECT_EQ(found->device, "laptop");
    EXPECT_EQ(found->updated_at, expected.updated_at);
    EXPECT_EQ(found->version, 1u);
}

TYPED_TEST(PlaybackStoreContract, ANewerVersionReplacesTheState) {
    EXPECT_TRUE(this->save(make_state("alice", 1)));
    auto next = make_state("alice", 2);
    next.playing = false;
    next.queue.clear();
    next.queue_index = 0;
    EXPECT_TRUE(this->save(next));
    auto found = this->find("alice");
    ASSERT_TRUE(found);
    EXPECT_FALSE(found->playing);
    EXPECT_TRUE(found->queue.empty());
    EXPECT_EQ(found->version, 2u);
}

TYPED_TEST(PlaybackStoreContract, AnOlderOrEqualVersionArrivingLateChangesNothing) {
    EXPECT_TRUE(this->save(make_state("alice", 5)));
    auto stale = make_state("alice", 4);
    stale.track_id = "m_stale";
    EXPECT_FALSE(this->save(stale));
    stale.version = 5;
    EXPECT_FALSE(this->save(stale));
    EXPECT_EQ(this->find("alice")->track_id, "m_track1");
}

TYPED_TEST(PlaybackStoreContract, UsersHaveStatesOfTheirOwn) {
    EXPECT_TRUE(this->save(make_state("alice", 3)));
    auto bob = make_state("bob", 1);
    bob.track_id = "m_bob";
    EXPECT_TRUE(this->save(bob));
    EXPECT_EQ(this->find("alice")->track_id, "m_track1");
    EXPECT_EQ(this->find("bob")->track_id, "m_bob");
}

TYPED_TEST(PlaybackStoreContract, TheStateIsSeenByAnotherConnection) {
    EXPECT_TRUE(this->save(make_state("alice", 1)));
    auto other = this->backend_.open();  // another process on the same database, e.g. after a restart
    auto found = run_alone(other->find_playback("alice")).value();
    ASSERT_TRUE(found);
    EXPECT_EQ(found->queue.size(), 3u);
}

}  // namespace
}  // namespace onda::storage
