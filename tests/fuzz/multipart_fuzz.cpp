// Fuzzes uploads::MultipartParser and uploads::multipart_boundary (src/uploads/multipart.hpp).
// Input: one control byte c, then (c & 7) split positions of 2 bytes each (little-endian, taken
// modulo the body length), then the body, parsed with the boundary "XyZ-b0undary". Bits 3-4 of c
// pick the header limit: 24, 64, 512 bytes or the default 16 KiB. With bit 5 set, the body is not
// parsed as it stands but describes parts (FuzzedDataProvider: name, filename, content type, data,
// in turn; then an epilogue), which are written out as a multipart body with the default limit.
// Properties:
//   - the sink sees begin, data..., end in order, data never empty and never outside a part;
//   - feeding the body in pieces split at those positions gives the same parts (headers and data)
//     and the same success or failure as feeding it in one piece;
//   - finish() succeeds exactly when done(), and then every part has ended;
//   - no part's data contains the delimiter CRLF "--" boundary (RFC 2046 §5.1.1);
//   - a body written from parts (whose data holds no delimiter) parses, whole or in pieces, to
//     exactly those parts;
//   - the whole input read as a Content-Type: a boundary multipart_boundary() accepts is 1-70
//     bchars not ending in a space, and quoting it into a fresh Content-Type gives it back.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "fuzz_check.hpp"
#include "uploads/multipart.hpp"

namespace {

using namespace onda;
using namespace onda::uploads;

constexpr std::string_view boundary = "XyZ-b0undary";

struct Part {
    PartHeaders headers;
    std::string data;
    bool ended = false;

    bool operator==(Part const& other) const {
        return headers.name == other.headers.name && headers.filename == other.headers.filename &&
               headers.content_type == other.headers.content_type && data == other.data && ended == other.ended;
    }
};

class RecordingSink final : public MultipartSink {
public:
    Result<void> on_part_begin(PartHeaders const& headers) override {
        ONDA_FUZZ_CHECK(parts.empty() || parts.back().ended, "a part begins only after the previous one ended");
        parts.push_back(Part{.headers = headers});
        return ok();
    }
    Result<void> on_part_data(std::string_view bytes) override {
        ONDA_FUZZ_CHECK(!bytes.empty(), "no empty data calls");
        ONDA_FUZZ_CHECK(!parts.empty() && !parts.back().ended, "data only inside a part");
        parts.back().data.append(bytes);
        return ok();
    }
    Result<void> on_part_end() override {
        ONDA_FUZZ_CHECK(!parts.empty() && !parts.back().ended, "end only of an open part");
        parts.back().ended = true;
        return ok();
    }

    std::vector<Part> parts;
};

struct Outcome {
    bool succeeded = false;
    std::vector<Part> parts;
};

// Feeds body[cuts[i], cuts[i+1]) in turn, stopping at the first error, then finishes.
Outcome parse(std::string_view body, std::vector<std::size_t> const& cuts, std::size_t max_header_bytes) {
    RecordingSink sink;
    MultipartParser parser(std::string(boundary), sink, max_header_bytes);
    bool fed = true;
    for (std::size_t i = 0; fed && i + 1 < cuts.size(); ++i)
        fed = bool(parser.feed(body.substr(cuts[i], cuts[i + 1] - cuts[i])));
    if (!fed) {
        ONDA_FUZZ_CHECK(!parser.finish(), "after a failed feed, finish fails too");
        ONDA_FUZZ_CHECK(!parser.feed("x"), "after a failed feed, feed fails too");
        return {false, std::move(sink.parts)};
    }
    bool const finished = bool(parser.finish());
    ONDA_FUZZ_CHECK(finished == parser.done(), "finish succeeds exactly when the close delimiter was seen");
    if (finished) {
        for (Part const& part : sink.parts) ONDA_FUZZ_CHECK(part.ended, "a finished body has no open part");
        ONDA_FUZZ_CHECK(bool(parser.feed("\r\n--XyZ-b0undary\r\n")), "the epilogue is ignored");
    }
    return {finished, std::move(sink.parts)};
}

// A quoted-string (RFC 9110 §5.6.4) holding `text`, less the bytes no quoted-string can carry.
std::string quoted(std::string_view text, std::string& kept) {
    std::string out = "\"";
    for (char c : text) {
        auto const byte = static_cast<unsigned char>(c);
        if ((byte < 0x20 && c != '\t') || byte == 0x7F) continue;
        kept += c;
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + '"';
}

// A field value (RFC 9110 §5.5) from `text`: no CR, LF or NUL, no whitespace at either end.
std::string field_value(std::string_view text) {
    std::string out;
    for (char c : text)
        if (c != '\r' && c != '\n' && c != '\0') out += c;
    while (!out.empty() && (out.back() == ' ' || out.back() == '\t')) out.pop_back();
    while (!out.empty() && (out.front() == ' ' || out.front() == '\t')) out.erase(0, 1);
    return out;
}

// Writes parts described by `description` as a multipart body; `expected` gets what parsing it
// must give. False when some part's data holds the delimiter, so the body cannot carry it.
bool compose(std::string_view description, std::string& body, std::vector<Part>& expected) {
    FuzzedDataProvider input(reinterpret_cast<std::uint8_t const*>(description.data()), description.size());
    std::string const dash_boundary = "--" + std::string(boundary);
    constexpr std::size_t max_parts = 8;
    while (expected.size() < max_parts && input.remaining_bytes() > 0) {
        Part part{.ended = true};
        std::string const name = quoted(input.ConsumeRandomLengthString(32), part.headers.name);
        std::string filename;
        if (input.ConsumeBool())
            filename = "; filename=" + quoted(input.ConsumeRandomLengthString(32), part.headers.filename);
        part.headers.content_type = field_value(input.ConsumeRandomLengthString(32));
        part.data = input.ConsumeRandomLengthString(256);
        if (part.data.find("\r\n" + dash_boundary) != std::string::npos) return false;

        body += dash_boundary + "\r\nContent-Disposition: form-data; name=" + name + filename + "\r\n";
        if (!part.headers.content_type.empty()) body += "Content-Type: " + part.headers.content_type + "\r\n";
        body += "\r\n" + part.data + "\r\n";
        expected.push_back(std::move(part));
    }
    // RFC 2046 §5.1.1: with no part at all the body is just the close delimiter.
    body += dash_boundary + "--" + input.ConsumeRemainingBytesAsString();
    return true;
}

void check_boundary(std::string_view content_type) {
    auto const parsed = multipart_boundary(content_type);
    if (!parsed) return;
    std::string const& value = *parsed;
    ONDA_FUZZ_CHECK(!value.empty() && value.size() <= 70, "a boundary has 1-70 characters");
    ONDA_FUZZ_CHECK(value.back() != ' ', "a boundary does not end in a space");
    for (char c : value) {
        bool const bchar = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                           std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
        ONDA_FUZZ_CHECK(bchar, "a boundary holds bchars only");
    }
    auto const again = multipart_boundary("multipart/form-data; boundary=\"" + value + "\"");
    ONDA_FUZZ_CHECK(again && *again == value, "a boundary quoted into a Content-Type comes back");
    // The parser's preconditions hold for whatever multipart_boundary accepts.
    RecordingSink sink;
    MultipartParser parser(value, sink);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    check_boundary(std::string_view(reinterpret_cast<char const*>(data), size));
    if (size < 1) return 0;

    std::uint8_t const control = data[0];
    std::size_t const split_count = control & 7;
    constexpr std::size_t header_limits[] = {24, 64, 512, 16 * 1024};
    bool const composing = (control & 0x20) != 0;
    std::size_t const max_header_bytes = composing ? 16 * 1024 : header_limits[(control >> 3) & 3];
    std::size_t const body_at = 1 + 2 * split_count;
    if (size < body_at) return 0;
    std::string_view const rest(reinterpret_cast<char const*>(data) + body_at, size - body_at);

    std::string composed;
    std::vector<Part> expected;
    if (composing && !compose(rest, composed, expected)) return 0;
    std::string_view const body = composing ? std::string_view(composed) : rest;

    std::vector<std::size_t> cuts = {0, body.size()};
    for (std::size_t i = 0; i < split_count; ++i) {
        std::size_t const position = data[1 + 2 * i] | (std::size_t{data[2 + 2 * i]} << 8);
        cuts.push_back(position % (body.size() + 1));
    }
    std::sort(cuts.begin(), cuts.end());

    Outcome const whole = parse(body, {0, body.size()}, max_header_bytes);
    Outcome const pieces = parse(body, cuts, max_header_bytes);
    ONDA_FUZZ_CHECK(pieces.succeeded == whole.succeeded, "pieces succeed exactly when the whole body does");
    ONDA_FUZZ_CHECK(pieces.parts == whole.parts, "pieces give the same parts as the whole body");

    if (composing) {
        ONDA_FUZZ_CHECK(whole.succeeded, "a body written from parts parses");
        ONDA_FUZZ_CHECK(whole.parts == expected, "a body written from parts gives back those parts");
    }

    std::string const delimiter = "\r\n--" + std::string(boundary);
    for (Part const& part : whole.parts)
        ONDA_FUZZ_CHECK(part.data.find(delimiter) == std::string::npos, "part data never holds a delimiter");
    return 0;
}
