#include "uploads/tus_protocol.hpp"

#include <gtest/gtest.h>

#include "uploads/digest.hpp"

namespace onda::uploads::tus {
namespace {

TEST(TusSize, AcceptsPlainDecimals) {
    EXPECT_EQ(parse_size("0", "Upload-Offset").value(), 0u);
    EXPECT_EQ(parse_size("5242880", "Upload-Offset").value(), 5242880u);
    EXPECT_EQ(parse_size("9223372036854775807", "Upload-Length").value(), 9223372036854775807u);
}

TEST(TusSize, RefusesEverythingElse) {
    for (std::string_view bad : {"", "-1", "+1", " 1", "1 ", "1.0", "0x10", "9223372036854775808",
                                 "18446744073709551616", "99999999999999999999", "1e3", "abc"}) {
        auto parsed = parse_size(bad, "Upload-Offset");
        ASSERT_FALSE(parsed) << bad;
        EXPECT_EQ(parsed.error().code(), Errc::invalid_argument);
        EXPECT_NE(parsed.error().message().find("Upload-Offset"), std::string::npos);
    }
}

TEST(TusMetadata, DecodesPairsAndBareKeys) {
    auto pairs =
        parse_metadata("filename d29ybGRfZG9taW5hdGlvbl9wbGFuLnBkZg==,is_confidential, title 0J/RgNC40LLQtdGC");
    ASSERT_TRUE(pairs) << pairs.error().message();
    ASSERT_EQ(pairs->size(), 3u);
    EXPECT_EQ((*pairs)[0], (std::pair<std::string, std::string>{"filename", "world_domination_plan.pdf"}));
    EXPECT_EQ((*pairs)[1], (std::pair<std::string, std::string>{"is_confidential", ""}));
    EXPECT_EQ((*pairs)[2],
              (std::pair<std::string, std::string>{"title", "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82"}));
    EXPECT_TRUE(parse_metadata("")->empty());
    EXPECT_EQ(parse_metadata("empty ")->at(0).second, "");  // a space and no value: base64 of nothing
}

TEST(TusMetadata, RefusesMalformedHeaders) {
    for (std::string_view bad :
         {",", "a YQ==,,b", "key not*base64", "key YQ", "a YQ==,a Yg==", "k\x01y YQ==", " ", "filename YQ== extra"}) {
        auto parsed = parse_metadata(bad);
        EXPECT_FALSE(parsed) << bad;
        if (!parsed) {
            EXPECT_EQ(parsed.error().code(), Errc::invalid_argument);
        }
    }
}

TEST(TusMetadata, LimitsTheNumberOfKeys) {
    std::string header;
    for (std::size_t i = 0; i <= max_metadata_pairs; ++i) header += (i ? ",k" : "k") + std::to_string(i);
    EXPECT_FALSE(parse_metadata(header));
    header = header.substr(0, header.rfind(','));
    EXPECT_EQ(parse_metadata(header)->size(), max_metadata_pairs);
}

TEST(TusChecksum, ParsesEachAlgorithm) {
    auto sha1 = parse_checksum("sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=");
    ASSERT_TRUE(sha1) << sha1.error().message();
    EXPECT_EQ(sha1->algorithm, DigestAlgorithm::sha1);
    EXPECT_EQ(sha1->digest.size(), 20u);
    auto sha256 = parse_checksum("sha256 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    ASSERT_TRUE(sha256);
    EXPECT_EQ(sha256->algorithm, DigestAlgorithm::sha256);
    Digest empty(DigestAlgorithm::sha256);
    EXPECT_EQ(sha256->digest, empty.finish());
    auto md5 = parse_checksum("md5 1B2M2Y8AsgTpgAmY7PhCfg==");
    ASSERT_TRUE(md5);
    EXPECT_EQ(md5->algorithm, DigestAlgorithm::md5);
}

TEST(TusChecksum, RefusesUnknownAlgorithmsAndWrongLengths) {
    for (std::string_view bad :
         {"", "sha256", "crc32 AAAAAA==", "SHA256 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
          "sha256 1B2M2Y8AsgTpgAmY7PhCfg==", "md5 not base64!", "sha1  Kq5sNclPz7QV2+lfQIuc6R7oRu0="}) {
        auto parsed = parse_checksum(bad);
        EXPECT_FALSE(parsed) << bad;
    }
}

TEST(Digest, CopiesCarryOnFromTheSameState) {
    Digest a(DigestAlgorithm::sha256);
    a.update("hello ");
    Digest b = a;
    a.update("world");
    b.update("world");
    EXPECT_EQ(a.finish_hex(), b.finish_hex());
    Digest whole;
    whole.update("hello world");
    Digest c;
    c.update("hello world");
    EXPECT_EQ(whole.finish_hex(), "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
    EXPECT_EQ(c.finish_hex(), "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
}

}  // namespace
}  // namespace onda::uploads::tus
