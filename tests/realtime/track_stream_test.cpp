// stream_track's chunking and quality switch: which frames each chunk holds, when it is due, and a
// TrackStream run against a catalog of made-up MP3 frames (each frame's bytes name its quality and
// number, so the test sees exactly what was sent).
#include "realtime/playback/track_stream.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include "realtime/socketio_packet.hpp"

namespace onda::realtime {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

Mp3Feed feed_of(std::int64_t audio_frames, int frame_bytes = 384) {
    return Mp3Feed{.frame_bytes = frame_bytes, .sample_rate = 48'000, .audio_frames = audio_frames};
}

TEST(TrackChunks, ChunksHoldFortyFramesAndTheFirstAlsoTheInfoFrame) {
    auto const feed = feed_of(100);
    EXPECT_EQ(chunk_count(100), 3);
    auto first = chunk_span(feed, 0);
    EXPECT_EQ(first.first_frame, 0);
    EXPECT_EQ(first.frames, 41);
    EXPECT_EQ(first.media_time, 0us);
    EXPECT_EQ(first.duration, 960ms);
    auto second = chunk_span(feed, 1);
    EXPECT_EQ(second.first_frame, 41);
    EXPECT_EQ(second.frames, 40);
    EXPECT_EQ(second.media_time, 960ms);
    auto last = chunk_span(feed, 2);
    EXPECT_EQ(last.first_frame, 81);
    EXPECT_EQ(last.frames, 20);  // frames 81 … 100
    EXPECT_EQ(last.duration, 480ms);
}

TEST(TrackChunks, AnEmptyFeedHasNoChunks) {
    EXPECT_EQ(chunk_count(0), 0);
    EXPECT_EQ(chunk_count(-3), 0);
    EXPECT_EQ(chunk_count(40), 1);
    EXPECT_EQ(chunk_count(41), 2);
}

TEST(TrackChunks, ChunksAreDueTheLeadBeforeTheirTime) {
    auto const start = std::chrono::steady_clock::time_point(100s);
    EXPECT_EQ(chunk_due(start, 0us), start);
    EXPECT_EQ(chunk_due(start, 2s), start);  // inside the lead: at once
    EXPECT_EQ(chunk_due(start, 10s), start + 7s);
    EXPECT_EQ(chunk_due(start, 10s, 0ms), start + 10s);
}

// Frame f of quality q is frame_bytes copies of one character: 'a' + f % 26 for 128k, 'A' + f % 26
// for 320k, so each chunk shows its frames and quality.
class FrameBytes final : public http::BodyStream {
public:
    FrameBytes(bool upper, std::int64_t first, std::int64_t end, int frame_bytes)
        : upper_(upper), frame_(first), end_(end), frame_bytes_(frame_bytes) {}
    Task<Result<std::optional<std::string>>> next() override {
        if (frame_ >= end_) co_return std::nullopt;
        char const c = static_cast<char>((upper_ ? 'A' : 'a') + frame_ % 26);
        ++frame_;
        co_return std::string(static_cast<std::size_t>(frame_bytes_), c);
    }

private:
    bool upper_;
    std::int64_t frame_;
    std::int64_t end_;
    int frame_bytes_;
};

class FrameCatalog final : public TrackCatalog {
public:
    Task<Result<TrackInfo>> find(auth::Identity, std::string id) override { co_return TrackInfo{.id = id}; }
    Task<Result<json::object>> urls(auth::Identity, std::string, std::string) override { co_return json::object{}; }
    Task<Result<Mp3Feed>> open_mp3(auth::Identity, std::string, std::int64_t bit_rate,
                                   std::int64_t first_frame) override {
        opened.emplace_back(bit_rate, first_frame);
        co_return make(bit_rate, first_frame);
    }
    Mp3Feed make(std::int64_t bit_rate, std::int64_t first_frame) {
        int const frame_bytes = static_cast<int>(144 * bit_rate / 48'000);
        auto feed = feed_of(audio_frames, frame_bytes);
        feed.bit_rate = bit_rate;
        feed.bytes = std::make_unique<FrameBytes>(bit_rate == 320'000, first_frame, audio_frames + 1, frame_bytes);
        return feed;
    }
    std::int64_t audio_frames = 100;
    std::vector<std::pair<std::int64_t, std::int64_t>> opened;
};

struct Emitted {
    std::string event;
    json::value data;
    std::vector<std::string> attachments;
};

class RecordingClient final : public SocketIoClient {
public:
    std::string const& id() const override { return id_; }
    auth::Identity const& identity() const override { return identity_; }
    std::string const& device() const override { return id_; }
    std::string_view transport() const override { return "websocket"; }
    bool is_connected() const override { return true; }
    net::any_io_executor executor() const override { return executor_; }
    bool emit(std::string_view event, json::value const& data, std::vector<std::string> attachments) override {
        emitted.push_back(Emitted{std::string(event), data, std::move(attachments)});
        if (on_emit) on_emit(emitted.back());
        return true;
    }
    void disconnect() override {}

    net::any_io_executor executor_;
    std::vector<Emitted> emitted;
    std::function<void(Emitted const&)> on_emit;

private:
    std::string id_ = "socket1";
    auth::Identity identity_;
};

// A 128k stream of track m_t to a recording client, on one io_context run by run().
class TrackStreamRun : public ::testing::Test {
protected:
    TrackStreamRun() { client_->executor_ = context_.get_executor(); }

    void run() {
        auto done = net::co_spawn(context_, TrackStream::run(stream_, client_), net::use_future);
        context_.run();
        done.get();
    }

    net::io_context context_;
    FrameCatalog catalog_;
    std::shared_ptr<RecordingClient> client_ = std::make_shared<RecordingClient>();
    std::shared_ptr<TrackStream> stream_ =
        std::make_shared<TrackStream>(context_.get_executor(), catalog_, auth::Identity{}, "m_t", "128k",
                                      catalog_.make(128'000, 0), TrackStream::Metrics{});
};

TEST_F(TrackStreamRun, SendsEveryChunkInOrderThenTheEnd) {
    run();

    ASSERT_EQ(client_->emitted.size(), 4u);
    for (std::int64_t seq = 0; seq < 3; ++seq) {
        auto const& chunk = client_->emitted[static_cast<std::size_t>(seq)];
        EXPECT_EQ(chunk.event, "audio_chunk");
        EXPECT_EQ(chunk.data.at("seq").to_number<std::int64_t>(), seq);
        EXPECT_EQ(chunk.data.at("timestamp").to_number<std::int64_t>(), seq * 960);
        EXPECT_TRUE(placeholder_index(chunk.data.at("data")));
        ASSERT_EQ(chunk.attachments.size(), 1u);
    }
    EXPECT_EQ(client_->emitted[0].attachments[0].size(), 41u * 384);
    EXPECT_EQ(client_->emitted[0].attachments[0][0], 'a');            // the Info frame, frame 0
    EXPECT_EQ(client_->emitted[1].attachments[0][0], 'a' + 41 % 26);  // frame 41 starts chunk 1
    EXPECT_EQ(client_->emitted[2].attachments[0].size(), 20u * 384);
    EXPECT_EQ(client_->emitted[3].event, "audio_end");
    EXPECT_EQ(client_->emitted[3].data.at("chunks").to_number<int>(), 3);
}

TEST_F(TrackStreamRun, AQualitySwitchRestartsTheConversionAtTheNextChunk) {
    client_->on_emit = [this](Emitted const& emitted) {
        if (emitted.event == "audio_chunk" && emitted.data.at("seq").to_number<int>() == 0)
            stream_->switch_quality("320k");
    };
    run();

    ASSERT_EQ(catalog_.opened.size(), 1u);
    EXPECT_EQ(catalog_.opened[0], (std::pair<std::int64_t, std::int64_t>{320'000, 41}));
    ASSERT_EQ(client_->emitted.size(), 4u);
    EXPECT_EQ(client_->emitted[0].data.at("quality").as_string(), "128k");
    EXPECT_EQ(client_->emitted[1].data.at("quality").as_string(), "320k");
    auto const& second = client_->emitted[1].attachments[0];
    EXPECT_EQ(second.size(), 40u * 960);       // 320k frames are 960 bytes at 48 kHz
    EXPECT_EQ(second.front(), 'A' + 41 % 26);  // the same frame number, at the new quality: no gap, no repeat
    EXPECT_EQ(client_->emitted[1].data.at("timestamp").to_number<int>(), 960);
}

TEST_F(TrackStreamRun, AStoppedStreamSendsNothingMore) {
    client_->on_emit = [this](Emitted const&) { stream_->stop(); };
    run();
    ASSERT_EQ(client_->emitted.size(), 1u);  // the first chunk, then nothing: no audio_end either
    EXPECT_EQ(client_->emitted[0].event, "audio_chunk");
}

}  // namespace
}  // namespace onda::realtime
