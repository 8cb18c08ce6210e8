#include "uploads/tus_metadata.hpp"

#include <gtest/gtest.h>

#include "auth/base64.hpp"
#include "uploads/upload_progress.hpp"

namespace onda::uploads {
namespace {

std::string b64(std::string_view text) { return auth::base64_encode(text); }

TEST(UploadInfo, ReadsTheKeysApiMdNamesAndKeepsTheRest) {
    auto info =
        decode_upload_info("filename " + b64("talk.wav") + ",filetype " + b64("audio/wav") + ",title " +
                           b64("T\xc3\xaate") + ",visibility " + b64("public") + ",episode " + b64("42") + ",flag");
    ASSERT_TRUE(info) << info.error().message();
    EXPECT_EQ(info->filename, "talk.wav");
    EXPECT_EQ(info->filetype, "audio/wav");
    EXPECT_EQ(info->title, "T\xc3\xaate");
    EXPECT_EQ(info->visibility, "public");
    EXPECT_EQ(info->extra.at("episode").as_string(), "42");
    EXPECT_EQ(info->extra.at("flag").as_string(), "");
    EXPECT_TRUE(decode_upload_info("")->filename.empty());
}

TEST(UploadInfo, AcceptsTusJsClientNames) {
    auto info = decode_upload_info("name " + b64("a.mp3") + ",type " + b64("audio/mpeg"));
    ASSERT_TRUE(info);
    EXPECT_EQ(info->filename, "a.mp3");
    EXPECT_EQ(info->filetype, "audio/mpeg");
}

TEST(UploadInfo, RefusesBadValues) {
    EXPECT_FALSE(decode_upload_info("visibility " + b64("friends")));
    EXPECT_FALSE(decode_upload_info("title " + b64("\xff\xfe")));              // not UTF-8
    EXPECT_FALSE(decode_upload_info("title " + b64(std::string(4097, 'a'))));  // past 4 KiB
    EXPECT_TRUE(decode_upload_info("title " + b64(std::string(4096, 'a'))));
    EXPECT_FALSE(decode_upload_info("filename ***"));
}

TEST(UploadProgress, ReportsPercentageSpeedAndTimeLeft) {
    auto event = upload_progress_event({.upload_id = "u_1",
                                        .file_name = "a.wav",
                                        .total_size = 3000,
                                        .uploaded_size = 1000,
                                        .request_start_offset = 500,
                                        .request_seconds = 2.0,
                                        .status = "uploading"});
    EXPECT_EQ(event.at("uploadId").as_string(), "u_1");
    EXPECT_EQ(event.at("fileName").as_string(), "a.wav");
    EXPECT_EQ(event.at("totalSize").to_number<std::uint64_t>(), 3000u);
    EXPECT_EQ(event.at("uploadedSize").to_number<std::uint64_t>(), 1000u);
    EXPECT_DOUBLE_EQ(event.at("percentage").to_number<double>(), 33.3);
    EXPECT_EQ(event.at("speed").to_number<std::uint64_t>(), 250u);  // 500 bytes in 2 s
    EXPECT_DOUBLE_EQ(event.at("estimatedTime").to_number<double>(), 8.0);
    EXPECT_EQ(event.at("status").as_string(), "uploading");
}

TEST(UploadProgress, EdgesAreNumbersOrNull) {
    auto done = upload_progress_event({.total_size = 10, .uploaded_size = 10, .status = "completed"});
    EXPECT_DOUBLE_EQ(done.at("percentage").to_number<double>(), 100.0);
    EXPECT_EQ(done.at("estimatedTime").to_number<double>(), 0.0);
    auto empty = upload_progress_event({.total_size = 0, .uploaded_size = 0, .status = "processing"});
    EXPECT_DOUBLE_EQ(empty.at("percentage").to_number<double>(), 100.0);
    auto unknown = upload_progress_event({.total_size = 10, .uploaded_size = 2, .status = "uploading"});
    EXPECT_TRUE(unknown.at("estimatedTime").is_null());  // no time measured yet
    EXPECT_EQ(unknown.at("speed").to_number<std::uint64_t>(), 0u);
}

}  // namespace
}  // namespace onda::uploads
