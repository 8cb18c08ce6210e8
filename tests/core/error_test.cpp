#include "core/error.hpp"

#include <gtest/gtest.h>

namespace onda {
namespace {

TEST(ParseCodeName, ReadsBackEveryCodeName) {
    for (int code = 0; code <= static_cast<int>(Errc::cancelled); ++code) {
        auto const errc = static_cast<Errc>(code);
        EXPECT_EQ(parse_code_name(code_name(errc)), errc) << code_name(errc);
    }
}

TEST(ParseCodeName, RangeNotSatisfiableIsOutOfRange) {
    EXPECT_EQ(parse_code_name("range_not_satisfiable"), Errc::out_of_range);
}

TEST(ParseCodeName, AnyOtherTextIsNothing) {
    EXPECT_EQ(parse_code_name(""), std::nullopt);
    EXPECT_EQ(parse_code_name("Not_Found"), std::nullopt);
    EXPECT_EQ(parse_code_name("out_of_range"), std::nullopt);
}

}  // namespace
}  // namespace onda
