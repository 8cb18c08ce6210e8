#include "http/content_disposition.hpp"

#include <gtest/gtest.h>

namespace onda::http {
namespace {

using namespace std::string_view_literals;

TEST(ContentDisposition, EmptyFilenameGivesOnlyTheDisposition) {
    EXPECT_EQ(content_disposition("attachment", ""), "attachment");
    EXPECT_EQ(content_disposition("inline", ""), "inline");
}

TEST(ContentDisposition, AsciiNameAppearsInBothParameters) {
    EXPECT_EQ(content_disposition("attachment", "a.mp3"), "attachment; filename=\"a.mp3\"; filename*=UTF-8''a.mp3");
}

TEST(ContentDisposition, InlineDispositionIsKept) {
    EXPECT_EQ(content_disposition("inline", "a.mp3"), "inline; filename=\"a.mp3\"; filename*=UTF-8''a.mp3");
}

TEST(ContentDisposition, SpaceStaysInFallbackAndIsEncodedInExtendedValue) {
    EXPECT_EQ(content_disposition("attachment", "my song.mp3"),
              "attachment; filename=\"my song.mp3\"; filename*=UTF-8''my%20song.mp3");
}

TEST(ContentDisposition, NonAsciiBytesBecomeUnderscoresAndUppercasePercentEscapes) {
    EXPECT_EQ(content_disposition("attachment",
                                  "Episode \xE2\x84\x96"
                                  "1.mp3"),
              "attachment; filename=\"Episode ___1.mp3\"; filename*=UTF-8''Episode%20%E2%84%961.mp3");
}

TEST(ContentDisposition, QuoteAndBackslashAreReplacedInFallbackAndEncodedInExtendedValue) {
    EXPECT_EQ(content_disposition("attachment", "a\"b\\c"),
              "attachment; filename=\"a_b_c\"; filename*=UTF-8''a%22b%5Cc");
}

TEST(ContentDisposition, CrLfCannotInjectAHeader) {
    auto const value = content_disposition("attachment", "x\r\nSet-Cookie: a=b");
    EXPECT_EQ(value.find('\r'), std::string::npos);
    EXPECT_EQ(value.find('\n'), std::string::npos);
    EXPECT_EQ(value, "attachment; filename=\"x__Set-Cookie: a=b\"; filename*=UTF-8''x%0D%0ASet-Cookie%3A%20a%3Db");
}

TEST(ContentDisposition, ControlCharactersAndDeleteAreReplaced) {
    EXPECT_EQ(content_disposition("attachment", "a\x01\x7F\tb"sv),
              "attachment; filename=\"a___b\"; filename*=UTF-8''a%01%7F%09b");
}

TEST(ContentDisposition, NulByteIsReplacedAndEncoded) {
    EXPECT_EQ(content_disposition("attachment", "a\0b"sv), "attachment; filename=\"a_b\"; filename*=UTF-8''a%00b");
}

TEST(ContentDisposition, AttrCharsAreKeptVerbatim) {
    EXPECT_EQ(content_disposition("attachment", "aZ09!#$&+-.^_`|~"),
              "attachment; filename=\"aZ09!#$&+-.^_`|~\"; filename*=UTF-8''aZ09!#$&+-.^_`|~");
}

TEST(ContentDisposition, PrintablesOutsideAttrCharAreEncoded) {
    EXPECT_EQ(content_disposition("attachment", ";='()%*/"),
              "attachment; filename=\";='()%*/\"; filename*=UTF-8''%3B%3D%27%28%29%25%2A%2F");
}

TEST(ContentDisposition, HighBytesUseUppercaseHex) {
    EXPECT_EQ(content_disposition("attachment", "\xFF\xab"), "attachment; filename=\"__\"; filename*=UTF-8''%FF%AB");
}

}  // namespace
}  // namespace onda::http
