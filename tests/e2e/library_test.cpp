// The media library routes: get, patch, delete, list with filters and cursors, the compatibility
// routes, and ids that try to walk out of the data directory.
#include <set>

#include <gtest/gtest.h>

#include "e2e.hpp"
#include "support/media_fixtures.hpp"
#include "support/media_tools.hpp"
#include "support/temp_dir.hpp"

namespace onda::test {
namespace {

TEST(Library, OwnerPatchesTitleVisibilityAndMetadata) {
    OndaProcess onda;
    auto token = onda.token("alice", "creator");
    auto up = upload_raw(onda, token, make_wav(0.5));
    ASSERT_EQ(up.response.status, 201);
    auto res =
        http_request({.method = "PATCH",
                      .url = onda.url("/v1/media/" + up.id),
                      .headers = {bearer(token), {"Content-Type", "application/json"}},
                      .body = R"({"title":"Renamed","visibility":"public","metadata":{"episode":3,"tags":["a"]}})"});
    ASSERT_EQ(res.status, 200) << res.body;
    auto o = parse_json(res.body);
    EXPECT_EQ(o.at("title").as_string(), "Renamed");
    EXPECT_EQ(o.at("visibility").as_string(), "public");
    EXPECT_EQ(o.at("metadata").at("episode").to_number<int>(), 3);
    // Public now: anyone reads it.
    auto anonymous = http_get(onda.url("/v1/media/" + up.id));
    EXPECT_EQ(anonymous.status, 200);
    EXPECT_EQ(parse_json(anonymous.body).at("title").as_string(), "Renamed");
}

TEST(Library, PatchRejectsUnknownFieldsBadTypesAndBrokenJson) {
    OndaProcess onda;
    auto token = onda.token("alice", "creator");
    auto up = upload_raw(onda, token, make_wav(0.5));
    auto patch = [&](std::string body) {
        return http_request(
            {.method = "PATCH", .url = onda.url("/v1/media/" + up.id), .headers = {bearer(token)}, .body = body});
    };
    EXPECT_EQ(patch(R"({"owner":"mallory"})").status, 400);
    EXPECT_EQ(patch(R"({"title":42})").status, 400);
    EXPECT_EQ(patch(R"({"title":""})").status, 400);
    EXPECT_EQ(patch(R"({"visibility":"everyone"})").status, 400);
    EXPECT_EQ(patch(R"({"metadata":[1,2]})").status, 400);
    EXPECT_EQ(patch(R"({"title":"x")").status, 400);
    EXPECT_EQ(patch("[]").status, 400);
    EXPECT_EQ(error_code(patch("not json")), "invalid_argument");
    auto still = parse_json(http_get(onda.url("/v1/media/" + up.id), {bearer(token)}).body);
    EXPECT_EQ(still.at("title").as_string(), "clip");
}

TEST(Library, OthersCannotPatchOrDeleteButAnAdminCan) {
    OndaProcess onda;
    auto alice = onda.token("alice", "creator");
    auto up = upload_raw(onda, alice, make_wav(0.5), "filename=a.wav&visibility=public");
    auto bob = onda.token("bob", "creator");
    auto patch_bob = http_request({.method = "PATCH",
                                   .url = onda.url("/v1/media/" + up.id),
                                   .headers = {bearer(bob)},
                                   .body = R"({"title":"mine"})"});
    EXPECT_EQ(patch_bob.status, 403);
    auto delete_anonymous = http_request({.method = "DELETE", .url = onda.url("/v1/media/" + up.id)});
    EXPECT_EQ(delete_anonymous.status, 401);
    auto admin = onda.token("root", "admin");
    auto delete_admin =
        http_request({.method = "DELETE", .url = onda.url("/v1/media/" + up.id), .headers = {bearer(admin)}});
    EXPECT_EQ(delete_admin.status, 204);
}

TEST(Library, DeleteRemovesTheRowAndTheBytes) {
    OndaProcess onda;
    auto token = onda.token("alice", "creator");
    auto up = upload_raw(onda, token, make_wav(0.5));
    EXPECT_EQ(count_files(onda.data_dir() / "blobs"), 1u);
    auto res = http_request({.method = "DELETE", .url = onda.url("/v1/media/" + up.id), .headers = {bearer(token)}});
    EXPECT_EQ(res.status, 204);
    EXPECT_EQ(res.body, "");
    EXPECT_EQ(http_get(onda.url("/v1/media/" + up.id), {bearer(token)}).status, 404);
    EXPECT_EQ(http_get(onda.url("/v1/media/" + up.id + "/stream"), {bearer(token)}).status, 404);
    EXPECT_EQ(count_files(onda.data_dir() / "blobs"), 0u);
    EXPECT_EQ(
        http_request({.method = "DELETE", .url = onda.url("/v1/media/" + up.id), .headers = {bearer(token)}}).status,
        404);
}

TEST(Library, ListPagesNewestFirstWithCursorsAndEveryItemOnce) {
    OndaProcess onda;
    auto token = onda.token("alice", "creator");
    std::vector<std::string> ids;
    for (int i = 0; i < 5; ++i)
        ids.push_back(upload_raw(onda, token, make_wav(0.2), "filename=n" + std::to_string(i) + ".wav").id);
    std::vector<std::string> seen;
    std::string cursor;
    for (int page = 0; page < 10; ++page) {
        auto res =
            http_get(onda.url("/v1/media?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor)), {bearer(token)});
        ASSERT_EQ(res.status, 200) << res.body;
        auto body = parse_json(res.body);
        for (auto const& item : body.at("items").as_array()) seen.emplace_back(item.at("id").as_string());
        if (body.at("next_cursor").is_null()) break;
        cursor = std::string(body.at("next_cursor").as_string());
    }
    std::vector<std::string> newest_first(ids.rbegin(), ids.rend());
    EXPECT_EQ(seen, newest_first);
}

TEST(Library, ListShowsPublicItemsAndTheCallersOwnAdminsSeeAll) {
    OndaProcess onda;
    auto alice = onda.token("alice", "creator");
    auto bob = onda.token("bob", "creator");
    auto alice_private = upload_raw(onda, alice, make_wav(0.2), "filename=ap.wav").id;
    auto alice_public = upload_raw(onda, alice, make_wav(0.2), "filename=apub.wav&visibility=public").id;
    auto bob_private = upload_raw(onda, bob, make_wav(0.2), "filename=bp.wav").id;
    auto ids = [&](std::vector<std::pair<std::string, std::string>> headers) {
        std::set<std::string> out;
        auto page = parse_json(http_get(onda.url("/v1/media"), headers).body);  // named: the loop must not outlive it
        for (auto const& item : page.at("items").as_array()) out.emplace(item.at("id").as_string());
        return out;
    };
    EXPECT_EQ(ids({}), (std::set<std::string>{alice_public}));
    EXPECT_EQ(ids({bearer(alice)}), (std::set<std::string>{alice_private, alice_public}));
    EXPECT_EQ(ids({bearer(bob)}), (std::set<std::string>{alice_public, bob_private}));
    EXPECT_EQ(ids({bearer(onda.token("root", "admin"))}),
              (std::set<std::string>{alice_private, alice_public, bob_private}));
}

TEST(Library, ListFiltersByKindSourceAndText) {
    OndaProcess onda;
    auto token = onda.token("alice", "creator");
    upload_raw(onda, token, make_wav(0.2), "filename=Morning_100%25.wav&title=Morning");
    upload_raw(onda, token, make_wav(0.2), "filename=evening.wav&title=Evening");
    auto count = [&](std::string const& query) {
        auto res = http_get(onda.url("/v1/media?" + query), {bearer(token)});
        return parse_json(res.body).at("items").as_array().size();
    };
    EXPECT_EQ(count("kind=audio"), 2u);
    EXPECT_EQ(count("kind=video"), 0u);
    EXPECT_EQ(count("source=upload"), 2u);
    EXPECT_EQ(count("source=tts"), 0u);
    EXPECT_EQ(count("q=morn"), 1u);
    EXPECT_EQ(count("q=EVENING"), 1u);
    EXPECT_EQ(count("q=100%25"), 1u);  // '%' is literal, not a wildcard
    EXPECT_EQ(count("q=_"), 1u);       // so is '_'
}

TEST(Library, ListRejectsBadParameters) {
    OndaProcess onda;
    for (auto query : {"limit=0", "limit=201", "limit=abc", "kind=image", "source=radio", "cursor=garbage!!"}) {
        auto res = http_get(onda.url(std::string("/v1/media?") + query));
        EXPECT_EQ(res.status, 400) << query << " " << res.body;
        EXPECT_EQ(error_code(res), "invalid_argument") << query;
    }
}

TEST(Library, PodcastCompatibilityRoutesServeTheSameMedia) {
    OndaProcess onda({.settings = {{"auth.default_visibility", "public"}}});
    auto const alice = onda.token("alice", "creator");
    auto wav = make_wav(0.5);
    auto up = upload_raw(onda, alice, wav);
    // A video as well: the podcast list is of audio only.
    TempDir dir;
    auto const mp4 = dir.path() / "clip.mp4";
    ASSERT_TRUE(
        run_ffmpeg("-f lavfi -i testsrc=size=160x120:rate=10:d=1 -c:v libx264 -preset ultrafast " + quoted(mp4)));
    auto video = upload_raw(onda, alice, read_file(mp4), "filename=clip.mp4", "video/mp4");
    ASSERT_EQ(video.response.status, 201) << video.response.body;
    auto list = http_get(onda.url("/podcast/audio/list"));
    ASSERT_EQ(list.status, 200);
    auto const listed = parse_json(list.body);
    auto const& items = listed.at("items").as_array();
    ASSERT_EQ(items.size(), 1u) << list.body;
    EXPECT_EQ(items.at(0).at("id").as_string(), up.id);
    EXPECT_EQ(parse_json(http_get(onda.url("/v1/media")).body).at("items").as_array().size(), 2u);
    EXPECT_EQ(http_get(onda.url("/podcast/audio/" + up.id + "/stream")).body, wav);
    auto range = http_get(onda.url("/podcast/audio/" + up.id + "/stream-range"), {{"Range", "bytes=0-3"}});
    EXPECT_EQ(range.status, 206);
    EXPECT_EQ(range.body, "RIFF");
    auto download = http_get(onda.url("/podcast/audio/" + up.id + "/download"));
    EXPECT_EQ(download.status, 200);
    EXPECT_NE(download.header("Content-Disposition").find("attachment"), std::string::npos);
    // The presigned link, for the owner, as on /v1/media: a URL that streams the same bytes.
    EXPECT_EQ(http_get(onda.url("/podcast/audio/" + up.id + "/presigned-url")).status, 401);
    auto presigned = http_get(onda.url("/podcast/audio/" + up.id + "/presigned-url"), {bearer(alice)});
    ASSERT_EQ(presigned.status, 200) << presigned.body;
    std::string const link(parse_json(presigned.body).at("url").as_string());
    EXPECT_NE(link.find("sig="), std::string::npos) << link;
    EXPECT_EQ(http_get(link).body, wav);
}

TEST(Library, IdsThatLookLikePathsAreNotFound) {
    OndaProcess onda;
    for (auto path : {"/v1/media/..%2F..%2Fsecret/stream", "/v1/media/m_..%2F..%2F..%2Fetc%2Fpasswd",
                      "/v1/media/m_AAAAAAAAAAAAAAAAAAAA%00/stream", "/v1/media/%2e%2e/download", "/v1/media/m_x"}) {
        auto res = http_get(onda.url(path));
        EXPECT_EQ(res.status, 404) << path;
        EXPECT_EQ(error_code(res), "not_found") << path;
    }
    auto traversal = http_get(onda.url("/v1/media/../../secret"));
    EXPECT_EQ(traversal.status, 404);
}

}  // namespace
}  // namespace onda::test
