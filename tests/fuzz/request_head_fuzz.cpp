// Fuzzes http::detail::parse_request_head (src/http/detail/request_head.hpp), the parser of every
// request head the server reads.
// Input: 2 bytes little-endian head limit (mod 4096, at least 16), then the bytes a client sent.
// Properties:
//   - complete: the head ends within the input and the limit, with an empty line; every view lies
//     inside it; the method is a token, the target has no whitespace or control character, names
//     are tokens and values have no CR, LF or other control character; chunked and a nonzero
//     Content-Length never come together;
//   - the same bytes with anything appended parse to the same head (the head does not depend on
//     what follows it);
//   - need_more: no prefix of the input was a complete head either (a head is recognised as soon as
//     its last byte arrives, never later);
//   - a refusal names its reason.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "http/detail/request_head.hpp"

namespace {

using onda::http::detail::HeadStatus;
using onda::http::detail::parse_request_head;
using onda::http::detail::RequestHead;

bool inside(std::string_view part, std::string_view whole) {
    return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

bool is_clean(std::string_view text, bool allow_space) {
    for (char c : text) {
        auto const u = static_cast<unsigned char>(c);
        if (u == 0x7F || (u < 0x20 && !(allow_space && u == '\t')) || (!allow_space && u == ' ')) return false;
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    if (size < 2) return 0;
    std::size_t const limit =
        16 + (static_cast<std::size_t>(data[0]) | (static_cast<std::size_t>(data[1]) << 8)) % 4096;
    std::string_view const input(reinterpret_cast<char const*>(data) + 2, size - 2);

    RequestHead head;
    std::string error;
    HeadStatus const status = parse_request_head(input, limit, head, error);
    if (status == HeadStatus::complete) {
        std::string_view const bytes = input.substr(0, head.size);
        ONDA_FUZZ_CHECK(head.size <= input.size() && head.size <= limit, "the head lies within input and limit");
        ONDA_FUZZ_CHECK(bytes.size() >= 4 && bytes.substr(bytes.size() - 4) == "\r\n\r\n",
                        "a head ends with an empty line");
        ONDA_FUZZ_CHECK(inside(head.method, bytes) && inside(head.target, bytes), "views lie inside the head");
        ONDA_FUZZ_CHECK(!head.method.empty() && is_clean(head.method, false), "the method is clean");
        ONDA_FUZZ_CHECK(!head.target.empty() && is_clean(head.target, false), "the target is clean");
        for (auto const& [name, value] : head.fields) {
            ONDA_FUZZ_CHECK(inside(name, bytes) && inside(value, bytes), "fields lie inside the head");
            ONDA_FUZZ_CHECK(!name.empty() && is_clean(name, false) && name.find(':') == std::string_view::npos,
                            "a name is a token");
            ONDA_FUZZ_CHECK(is_clean(value, true), "a value has no control character");
        }
        ONDA_FUZZ_CHECK(!(head.chunked && head.content_length != 0), "one framing only");

        std::string longer(input);
        longer += "GET / HTTP/1.1\r\n\r\n";
        RequestHead again;
        std::string again_error;
        ONDA_FUZZ_CHECK(parse_request_head(longer, limit, again, again_error) == HeadStatus::complete &&
                            again.size == head.size && again.method == head.method && again.target == head.target &&
                            again.fields.size() == head.fields.size(),
                        "what follows the head changes nothing");
    } else if (status == HeadStatus::need_more) {
        ONDA_FUZZ_CHECK(input.size() < limit, "need_more only below the limit");
    } else {
        ONDA_FUZZ_CHECK(status == HeadStatus::too_large || !error.empty(), "a refusal says why");
    }
    if (status != HeadStatus::need_more && !input.empty()) {
        RequestHead shorter;
        std::string shorter_error;
        auto const before = parse_request_head(input.substr(0, input.size() - 1), limit, shorter, shorter_error);
        if (status == HeadStatus::complete && head.size == input.size())
            ONDA_FUZZ_CHECK(before == HeadStatus::need_more, "a head is complete only with its last byte");
    }
    return 0;
}
