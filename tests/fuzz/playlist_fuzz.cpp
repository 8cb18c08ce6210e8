// Fuzzes the HLS text helpers (src/media/transcode/playlist.hpp) with one input. Properties, for any
// bytes x:
//   - playlist_segments(x) never yields a segment with an empty URI, a URI starting with '#', or a
//     URI holding a line break;
//   - sign_playlist_uris(x, q) keeps the number of lines, leaves '#' lines without URI="…" as they
//     are, and ends every URI line with q.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "media/transcode/playlist.hpp"

namespace {

std::size_t count_lines(std::string_view text) {
    std::size_t lines = 0;
    for (char c : text) lines += c == '\n';
    return lines;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    std::string_view const text(reinterpret_cast<char const*>(data), size);
    for (auto const& segment : onda::media::playlist_segments(text)) {
        ONDA_FUZZ_CHECK(!segment.uri.empty(), "a segment has a URI");
        ONDA_FUZZ_CHECK(segment.uri.front() != '#', "tags are not URIs");
        ONDA_FUZZ_CHECK(segment.uri.find('\n') == std::string::npos, "a URI is one line");
    }
    std::string_view const query = "exp=1&sig=s";
    auto const signed_text = onda::media::sign_playlist_uris(text, query);
    ONDA_FUZZ_CHECK(count_lines(signed_text) == count_lines(text), "signing keeps the lines");
    std::string_view rest = signed_text;
    std::string_view original = text;
    while (!rest.empty()) {
        auto const end = rest.find('\n');
        auto line = rest.substr(0, end);
        auto const original_end = original.find('\n');
        auto original_line = original.substr(0, original_end);
        if (line.ends_with('\r')) line.remove_suffix(1);
        if (original_line.ends_with('\r')) original_line.remove_suffix(1);
        if (!original_line.empty() && original_line.front() != '#')
            ONDA_FUZZ_CHECK(line.ends_with(query), "every URI line carries the query");
        if (original_line.starts_with('#') && original_line.find("URI=\"") == std::string_view::npos)
            ONDA_FUZZ_CHECK(line == original_line, "other tags stay as they are");
        rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
        original = original_end == std::string_view::npos ? std::string_view{} : original.substr(original_end + 1);
    }
    return 0;
}
