#include "uploads/multipart.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace onda::uploads {
namespace {

using namespace std::string_literals;
using namespace std::string_view_literals;

constexpr std::string_view boundary = "XyZ-b0undary";

struct Part {
    PartHeaders headers;
    std::string data;
    bool ended = false;
};

// Records what the parser reports and checks the begin/data/end order as it goes.
class RecordingSink final : public MultipartSink {
public:
    Result<void> on_part_begin(PartHeaders const& headers) override {
        EXPECT_TRUE(parts.empty() || parts.back().ended) << "a part began before the previous one ended";
        parts.push_back(Part{.headers = headers});
        return ok();
    }
    Result<void> on_part_data(std::string_view bytes) override {
        EXPECT_FALSE(bytes.empty()) << "empty data call";
        EXPECT_TRUE(!parts.empty() && !parts.back().ended) << "data outside a part";
        if (!parts.empty()) parts.back().data.append(bytes);
        data_bytes += bytes.size();
        return ok();
    }
    Result<void> on_part_end() override {
        EXPECT_TRUE(!parts.empty() && !parts.back().ended) << "end outside a part";
        if (!parts.empty()) parts.back().ended = true;
        return ok();
    }

    std::vector<Part> parts;
    std::size_t data_bytes = 0;
};

std::string part(std::string_view headers, std::string_view data) {
    return "--"s + std::string(boundary) + "\r\n" + std::string(headers) + "\r\n" + std::string(data) + "\r\n";
}

std::string closing() { return "--"s + std::string(boundary) + "--"; }

std::string field(std::string_view name, std::string_view data) {
    return part("Content-Disposition: form-data; name=\"" + std::string(name) + "\"\r\n", data);
}

struct Outcome {
    Result<void> result;
    std::vector<Part> parts;
};

// Feeds `body` in pieces of `piece` bytes (all at once for 0), then finishes.
Outcome parse(std::string_view body, std::size_t piece = 0, std::size_t max_header_bytes = 16 * 1024) {
    RecordingSink sink;
    MultipartParser parser(std::string(boundary), sink, max_header_bytes);
    if (piece == 0) piece = body.size() + 1;
    for (std::size_t at = 0; at < body.size(); at += piece) {
        auto fed = parser.feed(body.substr(at, piece));
        if (!fed) return {fed, sink.parts};
    }
    return {parser.finish(), sink.parts};
}

void expect_same_parts(std::vector<Part> const& actual, std::vector<Part> const& expected) {
    ASSERT_EQ(actual.size(), expected.size());
    for (std::size_t i = 0; i < actual.size(); ++i) {
        EXPECT_EQ(actual[i].headers.name, expected[i].headers.name) << "part " << i;
        EXPECT_EQ(actual[i].headers.filename, expected[i].headers.filename) << "part " << i;
        EXPECT_EQ(actual[i].headers.content_type, expected[i].headers.content_type) << "part " << i;
        EXPECT_EQ(actual[i].data, expected[i].data) << "part " << i;
        EXPECT_TRUE(actual[i].ended) << "part " << i;
    }
}

Errc error_code(Outcome const& outcome) { return outcome.result ? Errc::internal : outcome.result.error().code(); }

// A body that exercises most of the grammar: preamble, padding, binary data full of near-delimiters,
// an empty part, a part without headers other than Content-Disposition, and an epilogue.
std::string const binary_data = "\r\n--\r\r\n--XyZ\r\n-\r\n--XyZ-b0undar\0\xff\r\n\r\n--\r"s;
std::string const rich_body = "preamble \r\n--XyZ- not yet\r\n" + "--"s + std::string(boundary) + " \t\r\n" +
                              "Content-Disposition: form-data; name=\"title\"\r\n\r\nHello\r\n" +
                              part(
                                  "content-disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\n"
                                  "CONTENT-TYPE: application/octet-stream\r\n",
                                  binary_data) +
                              field("empty", "") + closing() + "\r\nepilogue --" + std::string(boundary) + "\r\n";
std::vector<Part> const rich_parts = {
    {.headers = {.name = "title"}, .data = "Hello", .ended = true},
    {.headers = {.name = "file", .filename = "a.bin", .content_type = "application/octet-stream"},
     .data = binary_data,
     .ended = true},
    {.headers = {.name = "empty"}, .data = "", .ended = true},
};

TEST(MultipartBoundary, ReadsATokenBoundary) {
    EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=abc123").value(), "abc123");
}

TEST(MultipartBoundary, ReadsAQuotedBoundaryWithCharactersTokensForbid) {
    EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=\"a b:c/d=e?(f)\"").value(), "a b:c/d=e?(f)");
}

TEST(MultipartBoundary, UnescapesQuotedPairs) {
    EXPECT_EQ(multipart_boundary(R"(multipart/form-data; boundary="a\bc")").value(), "abc");
}

TEST(MultipartBoundary, TypeAndParameterNamesAreCaseInsensitive) {
    EXPECT_EQ(multipart_boundary("Multipart/Form-Data; BOUNDARY=xyz").value(), "xyz");
}

TEST(MultipartBoundary, BoundaryValueKeepsItsCase) {
    EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=AbC").value(), "AbC");
}

TEST(MultipartBoundary, OtherParametersAndWhitespaceAreAccepted) {
    EXPECT_EQ(multipart_boundary(" multipart/form-data ;charset=utf-8 ;  boundary=x  ").value(), "x");
}

TEST(MultipartBoundary, OtherMediaTypesAreRejected) {
    EXPECT_EQ(multipart_boundary("multipart/mixed; boundary=x").error().code(), Errc::invalid_argument);
    EXPECT_EQ(multipart_boundary("text/plain; boundary=x").error().code(), Errc::invalid_argument);
    EXPECT_EQ(multipart_boundary("multipart/form-dataX; boundary=x").error().code(), Errc::invalid_argument);
}

TEST(MultipartBoundary, MissingBoundaryIsRejected) {
    EXPECT_FALSE(multipart_boundary("multipart/form-data"));
    EXPECT_FALSE(multipart_boundary("multipart/form-data; charset=utf-8"));
}

TEST(MultipartBoundary, EmptyBoundaryIsRejected) {
    EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary=\"\""));
    EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary="));
}

TEST(MultipartBoundary, SeventyCharactersAreAccepted) {
    std::string const seventy(70, 'a');
    EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=" + seventy).value(), seventy);
}

TEST(MultipartBoundary, SeventyOneCharactersAreRejected) {
    EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary=" + std::string(71, 'a')));
}

TEST(MultipartBoundary, TrailingSpaceIsRejected) {
    EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary=\"abc \""));
}

TEST(MultipartBoundary, CharactersOutsideBcharsAreRejected) {
    EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary=a@b"));
    EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary=\"a\\\"b\""));
    EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary=\"a\tb\""));
}

TEST(MultipartBoundary, DuplicateBoundaryIsRejected) {
    EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary=a; boundary=b"));
}

TEST(MultipartBoundary, UnterminatedQuotedBoundaryIsRejected) {
    EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary=\"abc"));
}

TEST(MultipartBoundary, GarbageAfterTheBoundaryIsRejected) {
    EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary=abc def"));
}

TEST(MultipartParser, ParsesFieldsAndAFile) {
    auto body = field("title", "Hello") +
                part(
                    "Content-Disposition: form-data; name=\"file\"; filename=\"a.mp3\"\r\n"
                    "Content-Type: audio/mpeg\r\n",
                    "ID3\x01\x02") +
                closing();
    auto outcome = parse(body);
    ASSERT_TRUE(outcome.result) << outcome.result.error().message();
    expect_same_parts(outcome.parts, {{.headers = {.name = "title"}, .data = "Hello"},
                                      {.headers = {.name = "file", .filename = "a.mp3", .content_type = "audio/mpeg"},
                                       .data = "ID3\x01\x02"}});
}

TEST(MultipartParser, ParsesARichBodyInOneFeed) {
    auto outcome = parse(rich_body);
    ASSERT_TRUE(outcome.result) << outcome.result.error().message();
    expect_same_parts(outcome.parts, rich_parts);
}

TEST(MultipartParser, EverySplitPointGivesTheSameParts) {
    for (std::size_t split = 0; split <= rich_body.size(); ++split) {
        RecordingSink sink;
        MultipartParser parser(std::string(boundary), sink);
        std::string_view const body = rich_body;
        ASSERT_TRUE(parser.feed(body.substr(0, split))) << "split " << split;
        ASSERT_TRUE(parser.feed(body.substr(split))) << "split " << split;
        ASSERT_TRUE(parser.finish()) << "split " << split;
        SCOPED_TRACE("split " + std::to_string(split));
        expect_same_parts(sink.parts, rich_parts);
    }
}

TEST(MultipartParser, EveryPairOfSplitPointsGivesTheSameParts) {
    std::string_view const body = rich_body;
    for (std::size_t first = 0; first <= body.size(); first += 3) {
        for (std::size_t second = first; second <= body.size(); ++second) {
            RecordingSink sink;
            MultipartParser parser(std::string(boundary), sink);
            ASSERT_TRUE(parser.feed(body.substr(0, first)));
            ASSERT_TRUE(parser.feed(body.substr(first, second - first)));
            ASSERT_TRUE(parser.feed(body.substr(second)));
            ASSERT_TRUE(parser.finish());
            SCOPED_TRACE("splits " + std::to_string(first) + ", " + std::to_string(second));
            expect_same_parts(sink.parts, rich_parts);
        }
    }
}

TEST(MultipartParser, OneByteAtATimeGivesTheSameParts) {
    auto outcome = parse(rich_body, 1);
    ASSERT_TRUE(outcome.result) << outcome.result.error().message();
    expect_same_parts(outcome.parts, rich_parts);
}

TEST(MultipartParser, BinaryDataWithNearDelimitersIsKeptIntact) {
    std::string data;
    for (int i = 0; i < 256; ++i) data.push_back(static_cast<char>(i));
    // Every prefix of the delimiter "\r\n--XyZ-b0undary" except the whole, in several guises.
    data += "\r\n--"s + "\r\n--XyZ-b0undar" + "\r\r\n--XyZ-b0undar\r\n" + "--XyZ-b0undarZ\r\n\r\n--";
    for (std::size_t piece : {0, 1, 2, 3, 7, 13, 64}) {
        auto outcome = parse(field("blob", data) + closing(), piece);
        ASSERT_TRUE(outcome.result) << "piece " << piece << ": " << outcome.result.error().message();
        ASSERT_EQ(outcome.parts.size(), 1u) << "piece " << piece;
        EXPECT_EQ(outcome.parts[0].data, data) << "piece " << piece;
    }
}

TEST(MultipartParser, DataEndingInADelimiterPrefixIsKept) {
    auto outcome = parse(field("a", "x\r\n--XyZ-b0undar") + closing());
    ASSERT_TRUE(outcome.result) << outcome.result.error().message();
    ASSERT_EQ(outcome.parts.size(), 1u);
    EXPECT_EQ(outcome.parts[0].data, "x\r\n--XyZ-b0undar");
}

TEST(MultipartParser, BoundarySplitAcrossFeedsIsFound) {
    RecordingSink sink;
    MultipartParser parser(std::string(boundary), sink);
    ASSERT_TRUE(parser.feed("--XyZ-b0undary\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nabc\r\n--XyZ-"));
    EXPECT_EQ(sink.parts.size(), 1u);
    EXPECT_EQ(sink.data_bytes, 3u);  // "abc" went on at once; "\r\n--XyZ-" is held as a possible delimiter
    ASSERT_TRUE(parser.feed("b0und"));
    ASSERT_TRUE(parser.feed("ary--"));
    EXPECT_TRUE(parser.done());
    ASSERT_TRUE(parser.finish());
    expect_same_parts(sink.parts, {{.headers = {.name = "a"}, .data = "abc"}});
}

TEST(MultipartParser, HeldDelimiterPrefixTurnsOutToBeData) {
    RecordingSink sink;
    MultipartParser parser(std::string(boundary), sink);
    ASSERT_TRUE(parser.feed("--XyZ-b0undary\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nabc\r\n--XyZ"));
    EXPECT_EQ(sink.data_bytes, 3u);
    ASSERT_TRUE(parser.feed("!"));
    EXPECT_EQ(sink.data_bytes, 11u);  // the held bytes were not a delimiter, so they are data now
    ASSERT_TRUE(parser.feed("\r\n--XyZ-b0undary--"));
    ASSERT_TRUE(parser.finish());
    expect_same_parts(sink.parts, {{.headers = {.name = "a"}, .data = "abc\r\n--XyZ!"}});
}

TEST(MultipartParser, DataStreamsOutWithAtMostADelimiterHeld) {
    RecordingSink sink;
    MultipartParser parser(std::string(boundary), sink);
    ASSERT_TRUE(parser.feed("--XyZ-b0undary\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n"));
    std::size_t const delimiter_size = 4 + boundary.size();
    std::string const chunk = "data\r\n--XyZ-b0und\r\r\n-";
    std::size_t fed = 0;
    for (int round = 0; round < 2000; ++round) {
        for (char c : chunk) {
            ASSERT_TRUE(parser.feed(std::string_view(&c, 1)));
            ++fed;
            EXPECT_GE(sink.data_bytes + delimiter_size - 1, fed);
            ASSERT_EQ(sink.parts.size(), 1u);
        }
    }
    EXPECT_FALSE(sink.parts[0].ended);
    ASSERT_TRUE(parser.feed("\r\n--XyZ-b0undary--"));
    EXPECT_EQ(sink.data_bytes, fed);
}

TEST(MultipartParser, LargePartArrivesBeforeItsEnd) {
    RecordingSink sink;
    MultipartParser parser(std::string(boundary), sink);
    ASSERT_TRUE(parser.feed("--XyZ-b0undary\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n"));
    std::string const chunk(64 * 1024, '\r');
    for (int i = 0; i < 64; ++i) ASSERT_TRUE(parser.feed(chunk));
    EXPECT_GE(sink.data_bytes, 64u * chunk.size() - 1);
    EXPECT_FALSE(sink.parts[0].ended);
}

TEST(MultipartParser, PreambleIsIgnored) {
    auto outcome = parse("This is a preamble.\r\n\r\n--XyZ-b0und\r\n" + field("a", "1") + closing());
    ASSERT_TRUE(outcome.result) << outcome.result.error().message();
    expect_same_parts(outcome.parts, {{.headers = {.name = "a"}, .data = "1"}});
}

TEST(MultipartParser, BoundaryLineInsideThePreambleStartsTheBody) {
    auto outcome = parse("A preamble that quotes\r\n--XyZ-b0undary in prose\r\n" + field("a", "1") + closing());
    EXPECT_EQ(error_code(outcome), Errc::invalid_argument);
}

TEST(MultipartParser, TransportPaddingAfterABoundaryIsAccepted) {
    auto outcome = parse(
        "--XyZ-b0undary \t \r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n"
        "--XyZ-b0undary\t\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\n2\r\n" +
        closing());
    ASSERT_TRUE(outcome.result) << outcome.result.error().message();
    expect_same_parts(outcome.parts,
                      {{.headers = {.name = "a"}, .data = "1"}, {.headers = {.name = "b"}, .data = "2"}});
}

TEST(MultipartParser, EpilogueIsIgnored) {
    RecordingSink sink;
    MultipartParser parser(std::string(boundary), sink);
    ASSERT_TRUE(parser.feed(field("a", "1") + closing()));
    EXPECT_TRUE(parser.done());
    ASSERT_TRUE(parser.feed("\r\nepilogue with garbage \r\n--XyZ-b0undary\r\nnot a part"));
    ASSERT_TRUE(parser.finish());
    expect_same_parts(sink.parts, {{.headers = {.name = "a"}, .data = "1"}});
}

TEST(MultipartParser, HeaderNamesAreCaseInsensitive) {
    auto outcome =
        parse(part("cOnTeNt-DiSpOsItIoN: form-data; name=\"a\"\r\ncontent-type: text/plain\r\n", "1") + closing());
    ASSERT_TRUE(outcome.result) << outcome.result.error().message();
    expect_same_parts(outcome.parts, {{.headers = {.name = "a", .content_type = "text/plain"}, .data = "1"}});
}

TEST(MultipartParser, DispositionTypeAndParameterNamesAreCaseInsensitive) {
    auto outcome = parse(part("Content-Disposition: Form-Data; NAME=\"a\"; FileName=\"f.txt\"\r\n", "1") + closing());
    ASSERT_TRUE(outcome.result) << outcome.result.error().message();
    expect_same_parts(outcome.parts, {{.headers = {.name = "a", .filename = "f.txt"}, .data = "1"}});
}

TEST(MultipartParser, TokenParameterValuesAreAccepted) {
    auto outcome = parse(part("Content-Disposition: form-data; name=title\r\n", "1") + closing());
    ASSERT_TRUE(outcome.result) << outcome.result.error().message();
    expect_same_parts(outcome.parts, {{.headers = {.name = "title"}, .data = "1"}});
}

TEST(MultipartParser, PartWithoutContentTypeHasAnEmptyType) {
    auto outcome = parse(field("a", "1") + closing());
    ASSERT_TRUE(outcome.result);
    ASSERT_EQ(outcome.parts.size(), 1u);
    EXPECT_EQ(outcome.parts[0].headers.content_type, "");
    EXPECT_EQ(outcome.parts[0].headers.filename, "");
}

TEST(MultipartParser, ContentTypeValueIsTrimmed) {
    auto outcome =
        parse(part("Content-Disposition: form-data; name=a\r\nContent-Type:  audio/ogg  \r\n", "1") + closing());
    ASSERT_TRUE(outcome.result);
    EXPECT_EQ(outcome.parts.at(0).headers.content_type, "audio/ogg");
}

TEST(MultipartParser, UnknownHeadersAreIgnored) {
    auto outcome = parse(part("X-Extra: 1\r\nContent-Disposition: form-data; name=a\r\n"
                              "Content-Transfer-Encoding: binary\r\n",
                              "1") +
                         closing());
    ASSERT_TRUE(outcome.result) << outcome.result.error().message();
    expect_same_parts(outcome.parts, {{.headers = {.name = "a"}, .data = "1"}});
}

TEST(MultipartParser, EmptyPartsAreReported) {
    auto outcome = parse(field("a", "") + field("b", "") + closing());
    ASSERT_TRUE(outcome.result) << outcome.result.error().message();
    expect_same_parts(outcome.parts, {{.headers = {.name = "a"}}, {.headers = {.name = "b"}}});
}

TEST(MultipartParser, EmptyNameIsAllowed) {
    auto outcome = parse(field("", "1") + closing());
    ASSERT_TRUE(outcome.result) << outcome.result.error().message();
    expect_same_parts(outcome.parts, {{.headers = {.name = ""}, .data = "1"}});
}

TEST(MultipartParser, QuotedParametersUnescapeBackslashes) {
    auto outcome = parse(part(R"(Content-Disposition: form-data; name="a\"b\\c"; filename="x\;y.txt")"
                              "\r\n",
                              "1") +
                         closing());
    ASSERT_TRUE(outcome.result) << outcome.result.error().message();
    ASSERT_EQ(outcome.parts.size(), 1u);
    EXPECT_EQ(outcome.parts[0].headers.name, R"(a"b\c)");
    EXPECT_EQ(outcome.parts[0].headers.filename, "x;y.txt");
}

TEST(MultipartParser, SemicolonInsideAQuotedValueDoesNotEndIt) {
    auto outcome = parse(part("Content-Disposition: form-data; name=\"a; filename=evil\"\r\n", "1") + closing());
    ASSERT_TRUE(outcome.result) << outcome.result.error().message();
    EXPECT_EQ(outcome.parts.at(0).headers.name, "a; filename=evil");
    EXPECT_EQ(outcome.parts.at(0).headers.filename, "");
}

TEST(MultipartParser, RawUtf8InAQuotedFilenameIsKept) {
    auto outcome =
        parse(part("Content-Disposition: form-data; name=f; filename=\"\xC3\xA9t\xC3\xA9.mp3\"\r\n", "1") + closing());
    ASSERT_TRUE(outcome.result) << outcome.result.error().message();
    EXPECT_EQ(outcome.parts.at(0).headers.filename, "\xC3\xA9t\xC3\xA9.mp3");
}

TEST(MultipartParser, ExtendedFilenameIsPreferredOverFilename) {
    auto outcome = parse(part("Content-Disposition: form-data; name=f; filename=\"fallback.mp3\"; "
                              "filename*=UTF-8''%E2%84%96%201.mp3\r\n",
                              "1") +
                         closing());
    ASSERT_TRUE(outcome.result) << outcome.result.error().message();
    EXPECT_EQ(outcome.parts.at(0).headers.filename, "\xE2\x84\x96 1.mp3");
}

TEST(MultipartParser, ExtendedFilenameIsPreferredWhenItComesFirst) {
    auto outcome =
        parse(part("Content-Disposition: form-data; name=f; filename*=utf-8''new.mp3; filename=old.mp3\r\n", "1") +
              closing());
    ASSERT_TRUE(outcome.result) << outcome.result.error().message();
    EXPECT_EQ(outcome.parts.at(0).headers.filename, "new.mp3");
}

TEST(MultipartParser, ExtendedFilenameAloneIsUsed) {
    auto outcome =
        parse(part("Content-Disposition: form-data; name=f; filename*=UTF-8'en'a%2Fb.txt\r\n", "1") + closing());
    ASSERT_TRUE(outcome.result) << outcome.result.error().message();
    EXPECT_EQ(outcome.parts.at(0).headers.filename, "a/b.txt");
}

TEST(MultipartParser, MalformedExtendedFilenameFallsBackToFilename) {
    for (std::string_view bad : {"UTF-8''%G1.mp3", "UTF-8''%E", "UTF-8''a%", "UTF-8'a.mp3", "UTF-8''a'b", "UTF-8"}) {
        auto outcome = parse(
            part("Content-Disposition: form-data; name=f; filename=old.mp3; filename*=" + std::string(bad) + "\r\n",
                 "1") +
            closing());
        ASSERT_TRUE(outcome.result) << bad << ": " << outcome.result.error().message();
        EXPECT_EQ(outcome.parts.at(0).headers.filename, "old.mp3") << bad;
    }
}

TEST(MultipartParser, ExtendedFilenameInAnotherCharsetFallsBackToFilename) {
    auto outcome = parse(part("Content-Disposition: form-data; name=f; filename=old.mp3; "
                              "filename*=ISO-8859-1''%E9t%E9.mp3\r\n",
                              "1") +
                         closing());
    ASSERT_TRUE(outcome.result) << outcome.result.error().message();
    EXPECT_EQ(outcome.parts.at(0).headers.filename, "old.mp3");
}

TEST(MultipartParser, CloseDelimiterAloneYieldsNoParts) {
    auto outcome = parse(closing());
    ASSERT_TRUE(outcome.result) << outcome.result.error().message();
    EXPECT_TRUE(outcome.parts.empty());
}

TEST(MultipartParser, DoneOnlyAfterTheCloseDelimiter) {
    RecordingSink sink;
    MultipartParser parser(std::string(boundary), sink);
    ASSERT_TRUE(parser.feed(field("a", "1") + "--XyZ-b0undary-"));
    EXPECT_FALSE(parser.done());
    ASSERT_TRUE(parser.feed("-"));
    EXPECT_TRUE(parser.done());
}

TEST(MultipartParser, PartEndsOnlyWhenItsBoundaryLineIsComplete) {
    RecordingSink sink;
    MultipartParser parser(std::string(boundary), sink);
    ASSERT_TRUE(parser.feed(field("a", "1") + "--XyZ-b0undary"));
    EXPECT_FALSE(sink.parts.at(0).ended);
    ASSERT_TRUE(parser.feed("--"));
    EXPECT_TRUE(sink.parts.at(0).ended);
}

TEST(MultipartParser, FinishWithoutInputIsAnError) {
    RecordingSink sink;
    MultipartParser parser(std::string(boundary), sink);
    EXPECT_EQ(parser.finish().error().code(), Errc::invalid_argument);
}

TEST(MultipartParser, TruncatedInPreambleIsAnError) {
    EXPECT_EQ(error_code(parse("only a preamble \r\n--XyZ-b0und")), Errc::invalid_argument);
}

TEST(MultipartParser, TruncatedInHeadersIsAnError) {
    EXPECT_EQ(error_code(parse("--XyZ-b0undary\r\nContent-Disposition: form-data; name=\"a\"\r\n")),
              Errc::invalid_argument);
}

TEST(MultipartParser, TruncatedInDataIsAnError) {
    auto outcome = parse(field("a", "1").substr(0, field("a", "1").size() - 1) + "more data");
    EXPECT_EQ(error_code(outcome), Errc::invalid_argument);
    ASSERT_EQ(outcome.parts.size(), 1u);
    EXPECT_FALSE(outcome.parts[0].ended);
}

TEST(MultipartParser, TruncatedAfterADelimiterIsAnError) {
    EXPECT_EQ(error_code(parse(field("a", "1") + "--XyZ-b0undary")), Errc::invalid_argument);
    EXPECT_EQ(error_code(parse(field("a", "1") + "--XyZ-b0undary-")), Errc::invalid_argument);
}

TEST(MultipartParser, MissingContentDispositionIsAnError) {
    auto outcome = parse(part("Content-Type: text/plain\r\n", "1") + closing());
    EXPECT_EQ(error_code(outcome), Errc::invalid_argument);
    EXPECT_TRUE(outcome.parts.empty());
}

TEST(MultipartParser, PartWithNoHeadersIsAnError) {
    EXPECT_EQ(error_code(parse(part("", "1") + closing())), Errc::invalid_argument);
}

TEST(MultipartParser, DispositionOtherThanFormDataIsAnError) {
    EXPECT_EQ(error_code(parse(part("Content-Disposition: attachment; name=a\r\n", "1") + closing())),
              Errc::invalid_argument);
}

TEST(MultipartParser, DispositionWithoutNameIsAnError) {
    EXPECT_EQ(error_code(parse(part("Content-Disposition: form-data; filename=a\r\n", "1") + closing())),
              Errc::invalid_argument);
}

TEST(MultipartParser, DuplicateContentDispositionIsAnError) {
    EXPECT_EQ(error_code(parse(part("Content-Disposition: form-data; name=a\r\nContent-Disposition: form-data; "
                                    "name=b\r\n",
                                    "1") +
                               closing())),
              Errc::invalid_argument);
}

TEST(MultipartParser, DuplicateParameterIsAnError) {
    EXPECT_EQ(error_code(parse(part("Content-Disposition: form-data; name=a; NAME=b\r\n", "1") + closing())),
              Errc::invalid_argument);
}

TEST(MultipartParser, UnterminatedQuotedParameterIsAnError) {
    EXPECT_EQ(error_code(parse(part("Content-Disposition: form-data; name=\"a\r\n", "1") + closing())),
              Errc::invalid_argument);
}

TEST(MultipartParser, HeaderLineWithoutColonIsAnError) {
    EXPECT_EQ(error_code(parse(part("Content-Disposition: form-data; name=a\r\nnonsense\r\n", "1") + closing())),
              Errc::invalid_argument);
}

TEST(MultipartParser, WhitespaceBeforeTheColonIsAnError) {
    EXPECT_EQ(error_code(parse(part("Content-Disposition : form-data; name=a\r\n", "1") + closing())),
              Errc::invalid_argument);
}

TEST(MultipartParser, FoldedHeaderLineIsAnError) {
    EXPECT_EQ(error_code(parse(part("Content-Disposition: form-data;\r\n name=a\r\n", "1") + closing())),
              Errc::invalid_argument);
}

TEST(MultipartParser, NulInAHeaderValueIsAnError) {
    EXPECT_EQ(error_code(parse(part("Content-Disposition: form-data; name=a\r\nX-Bad: a\0b\r\n"sv, "1") + closing())),
              Errc::invalid_argument);
}

TEST(MultipartParser, BareCrInAHeaderValueIsAnError) {
    EXPECT_EQ(error_code(parse(part("Content-Disposition: form-data; name=a\rb\r\n", "1") + closing())),
              Errc::invalid_argument);
}

TEST(MultipartParser, HeadersExactlyAtTheLimitAreAccepted) {
    std::string const headers = "Content-Disposition: form-data; name=a\r\n";
    std::size_t const block = headers.size() + 2;  // the field lines and the empty line after them
    auto outcome = parse(part(headers, "1") + closing(), 0, block);
    ASSERT_TRUE(outcome.result) << outcome.result.error().message();
    expect_same_parts(outcome.parts, {{.headers = {.name = "a"}, .data = "1"}});
}

TEST(MultipartParser, HeadersOneByteOverTheLimitAreAnError) {
    std::string const headers = "Content-Disposition: form-data; name=a\r\n";
    std::size_t const block = headers.size() + 2;
    EXPECT_EQ(error_code(parse(part(headers, "1") + closing(), 0, block - 1)), Errc::invalid_argument);
    EXPECT_EQ(error_code(parse(part(headers, "1") + closing(), 1, block - 1)), Errc::invalid_argument);
}

TEST(MultipartParser, EndlessHeadersFailAtTheLimitWithoutWaitingForMore) {
    RecordingSink sink;
    MultipartParser parser(std::string(boundary), sink, 1024);
    ASSERT_TRUE(parser.feed("--XyZ-b0undary\r\nX-Long: "));
    std::string const filler(512, 'a');
    Result<void> fed = ok();
    int feeds = 0;
    while (fed && feeds < 10) {
        fed = parser.feed(filler);
        ++feeds;
    }
    ASSERT_FALSE(fed);
    EXPECT_EQ(fed.error().code(), Errc::invalid_argument);
    EXPECT_EQ(feeds, 2);
}

TEST(MultipartParser, HugeHeaderFeedFailsAtOnce) {
    RecordingSink sink;
    MultipartParser parser(std::string(boundary), sink);
    auto fed = parser.feed("--XyZ-b0undary\r\nX-Long: " + std::string(10 * 1024 * 1024, 'a'));
    ASSERT_FALSE(fed);
    EXPECT_EQ(fed.error().code(), Errc::invalid_argument);
}

TEST(MultipartParser, GarbageAfterABoundaryIsAnError) {
    EXPECT_EQ(error_code(parse("--XyZ-b0undaryX\r\n" + field("a", "1").substr(16) + closing())),
              Errc::invalid_argument);
}

TEST(MultipartParser, LongerBoundaryInDataIsAnError) {
    EXPECT_EQ(error_code(parse(field("a", "1\r\n--XyZ-b0undaryZ") + closing())), Errc::invalid_argument);
}

TEST(MultipartParser, PaddingBeforeTheClosingDashesIsAnError) {
    EXPECT_EQ(error_code(parse(field("a", "1") + "--XyZ-b0undary --")), Errc::invalid_argument);
}

TEST(MultipartParser, SingleDashAfterABoundaryIsAnError) {
    EXPECT_EQ(error_code(parse(field("a", "1") + "--XyZ-b0undary-\r\n")), Errc::invalid_argument);
}

TEST(MultipartParser, LfOnlyLineEndingsAreAnError) {
    EXPECT_EQ(error_code(parse("--XyZ-b0undary\nContent-Disposition: form-data; name=a\n\n1\n--XyZ-b0undary--")),
              Errc::invalid_argument);
}

TEST(MultipartParser, CrWithoutLfAfterABoundaryIsAnError) {
    EXPECT_EQ(error_code(parse("--XyZ-b0undary\rContent-Disposition: form-data; name=a\r\n\r\n1\r\n" + closing())),
              Errc::invalid_argument);
}

TEST(MultipartParser, BodyOfGarbageIsAnError) {
    EXPECT_EQ(error_code(parse("\x00\xff garbage with no boundary at all \r\n--"sv)), Errc::invalid_argument);
}

TEST(MultipartParser, FeedAfterAnErrorKeepsFailing) {
    RecordingSink sink;
    MultipartParser parser(std::string(boundary), sink);
    ASSERT_FALSE(parser.feed("--XyZ-b0undary!"));
    EXPECT_FALSE(parser.feed(field("a", "1") + closing()));
    EXPECT_FALSE(parser.finish());
    EXPECT_FALSE(parser.done());
    EXPECT_TRUE(sink.parts.empty());
}

// Refuses data past a byte budget, like an upload over its size limit.
class LimitedSink final : public MultipartSink {
public:
    Result<void> on_part_begin(PartHeaders const&) override { return ok(); }
    Result<void> on_part_data(std::string_view bytes) override {
        received += bytes.size();
        if (received > 4) return Error(Errc::too_large, "part larger than 4 bytes");
        return ok();
    }
    Result<void> on_part_end() override {
        ++ended;
        return ok();
    }
    std::size_t received = 0;
    int ended = 0;
};

TEST(MultipartParser, SinkErrorStopsParsingAndIsReturned) {
    LimitedSink sink;
    MultipartParser parser(std::string(boundary), sink);
    auto fed = parser.feed(field("a", "0123456789") + closing());
    ASSERT_FALSE(fed);
    EXPECT_EQ(fed.error().code(), Errc::too_large);
    EXPECT_EQ(sink.ended, 0);
    EXPECT_FALSE(parser.feed("more"));
    EXPECT_FALSE(parser.finish());
}

}  // namespace
}  // namespace onda::uploads
