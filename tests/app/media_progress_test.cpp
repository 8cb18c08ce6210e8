#include "app/media_progress.hpp"

#include <mutex>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include "core/ids.hpp"
#include "storage/sqlite_meta_store.hpp"
#include "core/run_alone.hpp"
#include "support/temp_dir.hpp"

namespace onda::app {
namespace {

using namespace std::chrono_literals;

struct Published {
    std::string room;
    std::string event;
    boost::json::object data;
};

class RecordingSink final : public EventSink {
public:
    void publish(std::string_view room, std::string_view event, boost::json::object data) override {
        published.push_back({std::string(room), std::string(event), std::move(data)});
    }
    std::vector<Published> published;
};

class MediaProgressTest : public ::testing::Test {
protected:
    std::string add_media(std::string owner) {
        std::string const id = make_id("m");
        storage::MediaRecord record;
        record.id = id;
        record.owner = std::move(owner);
        record.visibility = "private";
        EXPECT_TRUE(run_alone(meta_->insert_media(record)));
        EXPECT_TRUE(run_alone(meta_->mark_media_ready(id)));
        return id;
    }
    void publish(std::string const& id, std::string state, double progress,
                 std::optional<std::string> error = std::nullopt) {
        run_alone(progress_.publish({.media_id = id, .state = std::move(state), .progress = progress, .error = error}));
    }

    onda::test::TempDir dir_;
    net::thread_pool pool_{1};
    std::unique_ptr<storage::SqliteMetaStore> meta_ =
        storage::SqliteMetaStore::open(dir_.path() / "onda.db", pool_).value();
    RecordingSink sink_;
    MediaProgress progress_{*meta_, sink_, 1h};  // no second progress event within a test
};

TEST_F(MediaProgressTest, PublishesToTheMediaRoomAndItsOwnersRoom) {
    std::string const id = add_media("alice");
    publish(id, "running", 0.25);
    ASSERT_EQ(sink_.published.size(), 2u);
    EXPECT_EQ(sink_.published[0].room, "media:" + id);
    EXPECT_EQ(sink_.published[1].room, "user:alice");
    for (auto const& p : sink_.published) {
        EXPECT_EQ(p.event, "media_progress");
        EXPECT_EQ(p.data.at("mediaId").as_string(), id);
        EXPECT_EQ(p.data.at("state").as_string(), "running");
        EXPECT_EQ(p.data.at("progress").as_double(), 0.25);
        EXPECT_TRUE(p.data.at("error").is_null());
    }
}

TEST_F(MediaProgressTest, ProgressIsThrottledButEveryChangeOfStateGoesOut) {
    std::string const id = add_media("alice");
    publish(id, "running", 0.1);
    publish(id, "running", 0.2);  // within min_interval: dropped
    publish(id, "running", 0.3);
    publish(id, "failed", 0.3, "no audio");
    ASSERT_EQ(sink_.published.size(), 4u);  // two events, two rooms each
    EXPECT_EQ(sink_.published[0].data.at("progress").as_double(), 0.1);
    EXPECT_EQ(sink_.published[2].data.at("state").as_string(), "failed");
    EXPECT_EQ(sink_.published[2].data.at("error").as_string(), "no audio");
    publish(id, "running", 0.0);  // a new run (a retry) is a change of state again
    EXPECT_EQ(sink_.published.size(), 6u);
}

TEST_F(MediaProgressTest, AMediaThatIsGoneGetsNoEvents) {
    publish(make_id("m"), "done", 1);
    EXPECT_TRUE(sink_.published.empty());
}

}  // namespace
}  // namespace onda::app
