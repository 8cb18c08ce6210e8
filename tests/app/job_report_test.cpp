#include "app/job_report.hpp"

#include <gtest/gtest.h>

namespace onda::app {
namespace {

constexpr char const* media_id = "m_2xK9aQ7bC4dE5fG6hJ8k";

TEST(JobReport, RoundTripsEveryField) {
    media::JobEvent event{.media_id = media_id, .state = "failed", .progress = 0.25, .error = "no \"audio\"\nat all"};
    std::string const line = format_job_report(event);
    ASSERT_EQ(line.back(), '\n');
    EXPECT_EQ(line.find('\n'), line.size() - 1);  // one line, whatever the error says
    auto parsed = parse_job_report(std::string_view(line).substr(0, line.size() - 1));
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->media_id, media_id);
    EXPECT_EQ(parsed->state, "failed");
    EXPECT_EQ(parsed->progress, 0.25);
    EXPECT_EQ(parsed->error, "no \"audio\"\nat all");
}

TEST(JobReport, NullErrorAndWholeNumberProgressAreFine) {
    auto parsed = parse_job_report(R"({"mediaId":"m_2xK9aQ7bC4dE5fG6hJ8k","state":"done","progress":1,"error":null})");
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->progress, 1.0);
    EXPECT_FALSE(parsed->error);
}

TEST(JobReport, AnythingElseIsNotAReport) {
    for (std::string const line : {
             "",
             "not json",
             "[]",
             R"({"state":"done","progress":1})",
             R"({"mediaId":"m_short","state":"done","progress":1})",
             R"({"mediaId":"../../etc","state":"done","progress":1})",
             R"({"mediaId":"m_2xK9aQ7bC4dE5fG6hJ8k","state":"exploded","progress":1})",
             R"({"mediaId":"m_2xK9aQ7bC4dE5fG6hJ8k","state":"done","progress":1.5})",
             R"({"mediaId":"m_2xK9aQ7bC4dE5fG6hJ8k","state":"done","progress":-0.1})",
             R"({"mediaId":"m_2xK9aQ7bC4dE5fG6hJ8k","state":"done","progress":"1"})",
             R"({"mediaId":"m_2xK9aQ7bC4dE5fG6hJ8k","state":"done"})",
             R"({"mediaId":"m_2xK9aQ7bC4dE5fG6hJ8k","state":"failed","progress":0,"error":42})",
             R"({"mediaId":7,"state":"done","progress":1})",
         }) {
        EXPECT_FALSE(parse_job_report(line)) << line;
    }
    std::string const huge = R"({"mediaId":"m_2xK9aQ7bC4dE5fG6hJ8k","state":"failed","progress":0,"error":")" +
                             std::string(max_job_report_bytes, 'x') + "\"}";
    EXPECT_FALSE(parse_job_report(huge));
}

}  // namespace
}  // namespace onda::app
