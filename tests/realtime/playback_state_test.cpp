// Playback sync as values: validating the payloads of the playback events, applying them to a
// user's state, extrapolating the position, the sync_state message, and when to preload.
#include "realtime/playback/playback_state.hpp"

#include <chrono>
#include <limits>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace onda::realtime {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

SystemTime const t0 = from_unix_micros(1'700'000'000'000'000);

PlaybackAction parsed(PlaybackEvent event, std::string_view payload) {
    auto action = parse_action(event, json::parse(payload));
    EXPECT_TRUE(action) << payload << ": " << action.error().message();
    return action ? *action : PlaybackAction{};
}

Errc refusal(PlaybackEvent event, std::string_view payload) {
    auto action = parse_action(event, json::parse(payload));
    EXPECT_FALSE(action) << payload << " was accepted";
    return action ? Errc::internal : action.error().code();
}

// alice playing a 100 s track from 10 s at t0.
PlaybackState playing_at_ten() {
    PlaybackState state = initial_playback_state("alice");
    state.track_id = "m_one";
    state.duration = 100;
    state.playing = true;
    state.position = 10;
    state.updated_at = t0;
    state.version = 3;
    return state;
}

PlaybackState applied(PlaybackState const& state, PlaybackAction const& action, SystemTime now) {
    auto next = apply(state, action, now, "phone");
    EXPECT_TRUE(next) << next.error().message();
    return next ? *next : state;
}

TEST(PlaybackParse, PlayTakesATrackAQualityAndAPosition) {
    auto action = parsed(PlaybackEvent::play, R"({"trackId":"m_abc","quality":"320k","position":12.5})");
    EXPECT_EQ(action.track_id, "m_abc");
    EXPECT_EQ(action.quality, "320k");
    EXPECT_EQ(action.position, 12.5);
    EXPECT_EQ(action.payload.size(), 3u);  // what sync_state echoes
    EXPECT_EQ(action.payload.at("trackId").as_string(), "m_abc");
    EXPECT_DOUBLE_EQ(action.payload.at("position").to_number<double>(), 12.5);
}

TEST(PlaybackParse, PlayAndPauseMayComeWithoutAPayload) {
    EXPECT_FALSE(parse_action(PlaybackEvent::play, json::value(nullptr))->track_id);
    EXPECT_FALSE(parse_action(PlaybackEvent::pause, json::value(nullptr))->position);
    EXPECT_EQ(parse_action(PlaybackEvent::seek, json::value(nullptr)).error().code(), Errc::invalid_argument);
}

TEST(PlaybackParse, WrongTypesAreRefused) {
    EXPECT_EQ(refusal(PlaybackEvent::play, R"({"trackId":42})"), Errc::invalid_argument);
    EXPECT_EQ(refusal(PlaybackEvent::play, R"({"trackId":""})"), Errc::invalid_argument);
    EXPECT_EQ(refusal(PlaybackEvent::play, R"({"trackId":"m_a","position":"10"})"), Errc::invalid_argument);
    EXPECT_EQ(refusal(PlaybackEvent::seek, R"({"position":true})"), Errc::invalid_argument);
    EXPECT_EQ(refusal(PlaybackEvent::volume, R"({"volume":"loud"})"), Errc::invalid_argument);
    EXPECT_EQ(refusal(PlaybackEvent::quality, R"({"quality":128})"), Errc::invalid_argument);
    EXPECT_EQ(refusal(PlaybackEvent::queue, R"({"trackIds":"m_a"})"), Errc::invalid_argument);
    EXPECT_EQ(refusal(PlaybackEvent::seek, R"([12])"), Errc::invalid_argument);
    EXPECT_EQ(refusal(PlaybackEvent::volume, R"("0.5")"), Errc::invalid_argument);
}

TEST(PlaybackParse, ATrackIdWithSpacesOrPastSixtyFourBytesIsRefused) {
    EXPECT_EQ(refusal(PlaybackEvent::play, R"({"trackId":"m_a b"})"), Errc::invalid_argument);
    std::string const long_id = "{\"trackId\":\"m_" + std::string(63, 'x') + "\"}";
    EXPECT_EQ(refusal(PlaybackEvent::play, long_id), Errc::invalid_argument);
}

TEST(PlaybackParse, PositionsMustBeFiniteAndNotNegative) {
    EXPECT_EQ(refusal(PlaybackEvent::seek, R"({"position":-1})"), Errc::invalid_argument);
    EXPECT_EQ(refusal(PlaybackEvent::seek, R"({"position":1e300})"), Errc::invalid_argument);
    EXPECT_EQ(parsed(PlaybackEvent::seek, R"({"position":0})").position, 0.0);
    EXPECT_EQ(parsed(PlaybackEvent::seek, R"({"position":7})").position, 7.0);  // an integer is seconds too
}

TEST(PlaybackParse, VolumeIsFromZeroToOne) {
    EXPECT_EQ(parsed(PlaybackEvent::volume, R"({"volume":0})").volume, 0.0);
    EXPECT_EQ(parsed(PlaybackEvent::volume, R"({"volume":1})").volume, 1.0);
    EXPECT_EQ(refusal(PlaybackEvent::volume, R"({"volume":1.01})"), Errc::invalid_argument);
    EXPECT_EQ(refusal(PlaybackEvent::volume, R"({"volume":-0.1})"), Errc::invalid_argument);
    EXPECT_EQ(refusal(PlaybackEvent::volume, R"({})"), Errc::invalid_argument);
}

TEST(PlaybackParse, OnlyTheThreeStreamQualitiesAreTaken) {
    for (auto quality : {"128k", "192k", "320k"})
        EXPECT_EQ(parsed(PlaybackEvent::quality, std::string(R"({"quality":")") + quality + "\"}").quality, quality);
    EXPECT_EQ(refusal(PlaybackEvent::quality, R"({"quality":"64k"})"), Errc::invalid_argument);
    EXPECT_EQ(refusal(PlaybackEvent::quality, R"({"quality":"best"})"), Errc::invalid_argument);
    EXPECT_EQ(quality_bit_rate("192k"), 192'000);
    EXPECT_EQ(quality_bit_rate("192"), 0);
}

TEST(PlaybackParse, QueueIndexMustPointIntoTheQueue) {
    auto action = parsed(PlaybackEvent::queue, R"({"trackIds":["m_a","m_b"],"index":1})");
    EXPECT_EQ(action.queue, (std::vector<std::string>{"m_a", "m_b"}));
    EXPECT_EQ(action.index, 1u);
    EXPECT_EQ(parsed(PlaybackEvent::queue, R"({"trackIds":[]})").index, 0u);
    EXPECT_EQ(refusal(PlaybackEvent::queue, R"({"trackIds":["m_a"],"index":1})"), Errc::invalid_argument);
    EXPECT_EQ(refusal(PlaybackEvent::queue, R"({"trackIds":["m_a"],"index":-1})"), Errc::invalid_argument);
    EXPECT_EQ(refusal(PlaybackEvent::queue, R"({"trackIds":["m_a","m_b"],"index":0.5})"), Errc::invalid_argument);
    EXPECT_EQ(refusal(PlaybackEvent::queue, R"({"trackIds":["m_a",7]})"), Errc::invalid_argument);
}

TEST(PlaybackParse, AQueuePastItsLimitIsRefused) {
    json::array ids;
    for (std::size_t i = 0; i <= max_queue_tracks; ++i) ids.emplace_back("m_" + std::to_string(i));
    auto action = parse_action(PlaybackEvent::queue, json::object{{"trackIds", ids}});
    ASSERT_FALSE(action);
    EXPECT_EQ(action.error().code(), Errc::invalid_argument);
}

TEST(PlaybackParse, AudioControlIsTheEventItsActionNames) {
    auto action = parse_audio_control(json::parse(R"({"action":"seek","payload":{"position":30}})"));
    ASSERT_TRUE(action);
    EXPECT_EQ(action->event, PlaybackEvent::seek);
    EXPECT_EQ(action->position, 30.0);
    auto pause = parse_audio_control(json::parse(R"({"action":"pause"})"));
    ASSERT_TRUE(pause);
    EXPECT_EQ(pause->event, PlaybackEvent::pause);
}

TEST(PlaybackParse, AudioControlRefusesUnknownActionsAndBadInnerPayloads) {
    for (auto payload :
         {R"({"action":"rewind"})", R"({"action":"queue","payload":{"trackIds":[]}})", R"({"payload":{}})",
          R"({"action":7})", R"("play")", "null", R"({"action":"volume","payload":{"volume":2}})"}) {
        auto action = parse_audio_control(json::parse(payload));
        ASSERT_FALSE(action) << payload;
        EXPECT_EQ(action.error().code(), Errc::invalid_argument) << payload;
    }
}

TEST(PlaybackPosition, WhilePlayingTheStoredPositionMovesWithTheClock) {
    auto const state = playing_at_ten();
    EXPECT_DOUBLE_EQ(position_at(state, t0), 10);
    EXPECT_DOUBLE_EQ(position_at(state, t0 + 2500ms), 12.5);
}

TEST(PlaybackPosition, ExtrapolationStopsAtTheEndOfTheTrack) {
    EXPECT_DOUBLE_EQ(position_at(playing_at_ten(), t0 + 1h), 100);
}

TEST(PlaybackPosition, APausedPositionStaysPut) {
    auto state = playing_at_ten();
    state.playing = false;
    EXPECT_DOUBLE_EQ(position_at(state, t0 + 30s), 10);
}

TEST(PlaybackPosition, AClockThatSteppedBackNeverRewinds) {
    EXPECT_DOUBLE_EQ(position_at(playing_at_ten(), t0 - 5s), 10);
}

TEST(PlaybackApply, PlayingANewTrackStartsItAtTheGivenPosition) {
    auto action = parsed(PlaybackEvent::play, R"({"trackId":"m_two","position":5})");
    action.track_duration = 42;
    auto next = applied(playing_at_ten(), action, t0 + 1s);
    EXPECT_EQ(next.track_id, "m_two");
    EXPECT_DOUBLE_EQ(next.position, 5);
    EXPECT_DOUBLE_EQ(next.duration, 42);
    EXPECT_TRUE(next.playing);
    EXPECT_EQ(next.device, "phone");
    EXPECT_EQ(next.updated_at, t0 + 1s);
    EXPECT_EQ(next.version, 4u);
}

TEST(PlaybackApply, PlayingANewTrackWithoutAPositionStartsAtZero) {
    auto action = parsed(PlaybackEvent::play, R"({"trackId":"m_two"})");
    EXPECT_DOUBLE_EQ(applied(playing_at_ten(), action, t0 + 1s).position, 0);
}

TEST(PlaybackApply, PlayWithoutATrackResumesWherePlaybackWas) {
    auto state = playing_at_ten();
    state.playing = false;
    auto next = applied(state, parsed(PlaybackEvent::play, "{}"), t0 + 20s);
    EXPECT_TRUE(next.playing);
    EXPECT_EQ(next.track_id, "m_one");
    EXPECT_DOUBLE_EQ(next.position, 10);
}

TEST(PlaybackApply, PlayWithoutATrackBeforeAnyIsRefused) {
    auto next = apply(initial_playback_state("alice"), parsed(PlaybackEvent::play, "{}"), t0, "phone");
    ASSERT_FALSE(next);
    EXPECT_EQ(next.error().code(), Errc::invalid_argument);
}

TEST(PlaybackApply, PauseKeepsTheExtrapolatedPosition) {
    auto next = applied(playing_at_ten(), parsed(PlaybackEvent::pause, "{}"), t0 + 4s);
    EXPECT_FALSE(next.playing);
    EXPECT_DOUBLE_EQ(next.position, 14);
    EXPECT_DOUBLE_EQ(position_at(next, t0 + 60s), 14);
}

TEST(PlaybackApply, PauseWithAPositionTakesIt) {
    EXPECT_DOUBLE_EQ(applied(playing_at_ten(), parsed(PlaybackEvent::pause, R"({"position":3})"), t0 + 4s).position, 3);
}

TEST(PlaybackApply, ChangingTheVolumeWhilePlayingLosesNoProgress) {
    auto next = applied(playing_at_ten(), parsed(PlaybackEvent::volume, R"({"volume":0.3})"), t0 + 5s);
    EXPECT_DOUBLE_EQ(next.volume, 0.3);
    EXPECT_TRUE(next.playing);
    EXPECT_DOUBLE_EQ(position_at(next, t0 + 7s), 17);
}

TEST(PlaybackApply, SeekPastTheEndLandsAtTheEnd) {
    auto next = applied(playing_at_ten(), parsed(PlaybackEvent::seek, R"({"position":500})"), t0);
    EXPECT_DOUBLE_EQ(next.position, 100);
    EXPECT_TRUE(next.playing);  // a seek does not pause
}

TEST(PlaybackApply, QualityAndQueueChangeOnlyTheirFields) {
    auto quality = applied(playing_at_ten(), parsed(PlaybackEvent::quality, R"({"quality":"128k"})"), t0);
    EXPECT_EQ(quality.quality, "128k");
    EXPECT_EQ(quality.track_id, "m_one");
    auto queued = applied(quality, parsed(PlaybackEvent::queue, R"({"trackIds":["m_one","m_two"],"index":0})"), t0);
    EXPECT_EQ(queued.queue.size(), 2u);
    EXPECT_EQ(queued.queue_index, 0u);
    EXPECT_EQ(queued.quality, "128k");
    EXPECT_EQ(queued.version, quality.version + 1);
}

TEST(PlaybackApply, PlayingAQueuedTrackMovesTheQueueToIt) {
    auto state = applied(playing_at_ten(),
                         parsed(PlaybackEvent::queue, R"({"trackIds":["m_one","m_two","m_three"],"index":0})"), t0);
    auto next = applied(state, parsed(PlaybackEvent::play, R"({"trackId":"m_three"})"), t0 + 1s);
    EXPECT_EQ(next.queue_index, 2u);
    auto outside = applied(next, parsed(PlaybackEvent::play, R"({"trackId":"m_elsewhere"})"), t0 + 2s);
    EXPECT_EQ(outside.queue_index, 2u);  // a track outside the queue leaves the queue where it was
}

TEST(PlaybackJson, StateCarriesTheApiFieldsWithTheCurrentPosition) {
    auto const state = playing_at_ten();
    auto object = state_json(state, t0 + 1500ms);
    EXPECT_EQ(object.at("trackId").as_string(), "m_one");
    EXPECT_EQ(object.at("playing").as_bool(), true);
    EXPECT_DOUBLE_EQ(object.at("position").to_number<double>(), 11.5);
    EXPECT_DOUBLE_EQ(object.at("volume").to_number<double>(), 1);
    EXPECT_EQ(object.at("quality").as_string(), "192k");
    EXPECT_EQ(object.at("updatedAt").to_number<std::int64_t>(), 1'700'000'000'000);
    EXPECT_TRUE(object.at("queue").is_object());
}

TEST(PlaybackJson, AStateNeverChangedHasNoTrackAndNoUpdateTime) {
    auto object = state_json(initial_playback_state("alice"), t0);
    EXPECT_TRUE(object.at("trackId").is_null());
    EXPECT_TRUE(object.at("updatedAt").is_null());
    EXPECT_EQ(object.at("playing").as_bool(), false);
}

TEST(PlaybackJson, SyncStateNamesTheActionTheDeviceAndTheTime) {
    auto message = sync_state_json("seek", json::object{{"position", 3}}, t0, "phone", playing_at_ten());
    EXPECT_EQ(message.at("action").as_string(), "seek");
    EXPECT_EQ(message.at("payload").at("position").to_number<int>(), 3);
    EXPECT_EQ(message.at("timestamp").to_number<std::int64_t>(), 1'700'000'000'000);
    EXPECT_EQ(message.at("deviceId").as_string(), "phone");
    EXPECT_EQ(message.at("state").at("trackId").as_string(), "m_one");
}

TEST(PlaybackPreload, TheNextTrackIsDueWhenTenSecondsOrLessRemain) {
    auto state = playing_at_ten();
    state.queue = {"m_one", "m_two"};
    state.queue_index = 0;
    EXPECT_FALSE(track_to_preload(state, PositionReport{.position = 89.9, .duration = 100}));
    EXPECT_EQ(track_to_preload(state, PositionReport{.position = 90, .duration = 100}), "m_two");
    EXPECT_EQ(track_to_preload(state, PositionReport{.position = 99, .duration = 100}), "m_two");
}

TEST(PlaybackPreload, NothingIsDueAtTheEndOfTheQueueOrWithoutADuration) {
    auto state = playing_at_ten();
    state.queue = {"m_one", "m_two"};
    state.queue_index = 1;
    EXPECT_FALSE(track_to_preload(state, PositionReport{.position = 99, .duration = 100}));
    state.queue_index = 0;
    EXPECT_FALSE(track_to_preload(state, PositionReport{.position = 0, .duration = 0}));
}

TEST(PlaybackPreload, PositionUpdatesNeedBothNumbers) {
    EXPECT_TRUE(parse_position_update(json::parse(R"({"position":1,"duration":2})")));
    for (auto payload :
         {R"({"position":1})", R"({"position":"1","duration":2})", R"([1,2])", R"({"position":-1,"duration":2})"}) {
        auto report = parse_position_update(json::parse(payload));
        ASSERT_FALSE(report) << payload;
        EXPECT_EQ(report.error().code(), Errc::invalid_argument);
    }
}

}  // namespace
}  // namespace onda::realtime
