// Fuzzes what on-the-fly conversions parse (src/media/convert/plan.hpp): the `bitrate` query value
// (parse_bit_rate), the `format` one (parse_convert_format), and the job text a waiting
// `onda convert` child reads (decode_job). Input: arbitrary text, given whole to each.
// Properties:
//   - a bit rate is digits with an optional k/K, above zero; written back as plain digits it
//     parses to the same value.
//   - a format is one of the six names, and its name is the text.
//   - a decoded job passes check_plan, and encode_job of it decodes to the very same job (a fixed
//     point); plans made from a parsed format and bit rate are checked the same way.
//   - every failure is Errc::invalid_argument.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "media/convert/plan.hpp"

namespace {

using namespace onda;
using namespace onda::media;

bool same_job(ConversionJob const& a, ConversionJob const& b) {
    return a.plan.format == b.plan.format && a.plan.bit_rate == b.plan.bit_rate &&
           a.plan.sample_rate == b.plan.sample_rate && a.plan.channels == b.plan.channels &&
           a.plan.samples == b.plan.samples && a.offset == b.offset;
}

void check_bit_rate(std::string_view text) {
    auto const parsed = parse_bit_rate(text);
    if (!parsed) {
        ONDA_FUZZ_CHECK(parsed.error().code() == Errc::invalid_argument, "a refused bit rate is invalid_argument");
        return;
    }
    ONDA_FUZZ_CHECK(*parsed > 0, "a bit rate is above zero");
    ONDA_FUZZ_CHECK(!text.empty() && text.front() >= '0' && text.front() <= '9', "a bit rate starts with a digit");
    auto const again = parse_bit_rate(std::to_string(*parsed));
    ONDA_FUZZ_CHECK(again && *again == *parsed, "a bit rate written back parses to itself");
    // Every format takes or refuses it with a reason; what it takes is a plan check_plan accepts.
    for (auto format : {ConvertFormat::mp3, ConvertFormat::aac, ConvertFormat::opus, ConvertFormat::ogg}) {
        auto plan = plan_conversion(format, *parsed, {.duration = 10, .sample_rate = 44'100, .channels = 2});
        if (plan) ONDA_FUZZ_CHECK(check_plan(*plan).has_value(), "a planned conversion passes check_plan");
    }
}

void check_format(std::string_view text) {
    auto const format = parse_convert_format(text);
    if (!format) {
        ONDA_FUZZ_CHECK(format.error().code() == Errc::invalid_argument, "a refused format is invalid_argument");
        return;
    }
    ONDA_FUZZ_CHECK(format_name(*format) == text, "a format is its own name");
}

void check_job(std::string_view text) {
    auto const job = decode_job(text);
    if (!job) {
        ONDA_FUZZ_CHECK(job.error().code() == Errc::invalid_argument, "a refused job is invalid_argument");
        return;
    }
    ONDA_FUZZ_CHECK(check_plan(job->plan).has_value(), "a decoded job's plan passes check_plan");
    auto const again = decode_job(encode_job(job->plan, job->offset));
    ONDA_FUZZ_CHECK(again && same_job(*again, *job), "encode_job of a decoded job decodes to the same job");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    std::string_view const text(reinterpret_cast<char const*>(data), size);
    check_bit_rate(text);
    check_format(text);
    check_job(text);
    return 0;
}
