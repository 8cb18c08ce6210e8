#include "http/sse.hpp"

#include <fmt/format.h>

namespace onda::http {
namespace {

// A single-line field value: CR and LF would end the line early and smuggle in another field.
void append_single_line(std::string& out, std::string_view value, bool drop_nul) {
    for (char c : value) {
        if (c == '\r' || c == '\n' || (drop_nul && c == '\0')) continue;
        out += c;
    }
}

// Calls line(text) for each line of `text`; LF, CR and CRLF all end a line.
template <class Fn>
void for_each_line(std::string_view text, Fn line) {
    for (;;) {
        auto end = text.find_first_of("\r\n");
        if (end == std::string_view::npos) {
            line(text);
            return;
        }
        line(text.substr(0, end));
        std::size_t const skip = text[end] == '\r' && end + 1 < text.size() && text[end + 1] == '\n' ? 2 : 1;
        text.remove_prefix(end + skip);
    }
}

}  // namespace

void append_sse_event(std::string& out, SseEvent const& event) {
    if (!event.name.empty()) {
        out += "event: ";
        append_single_line(out, event.name, false);
        out += '\n';
    }
    if (!event.id.empty()) {
        out += "id: ";
        append_single_line(out, event.id, true);
        out += '\n';
    }
    for_each_line(event.data, [&out](std::string_view line) {
        out += "data: ";
        out += line;
        out += '\n';
    });
    out += '\n';
}

std::string format_sse_event(SseEvent const& event) {
    std::string out;
    out.reserve(event.name.size() + event.id.size() + event.data.size() + 32);
    append_sse_event(out, event);
    return out;
}

std::string format_sse_comment(std::string_view text) {
    std::string out;
    for_each_line(text, [&out](std::string_view line) {
        out += ": ";
        out += line;
        out += '\n';
    });
    out += '\n';
    return out;
}

std::string format_sse_retry(std::chrono::milliseconds delay) {
    return fmt::format("retry: {}\n\n", delay.count() < 0 ? 0 : delay.count());
}

std::string format_sse_id(std::string_view id) {
    std::string out = "id: ";
    append_single_line(out, id, true);
    out += "\n\n";
    return out;
}

Response sse_response() {
    Response response(200);
    response.add_header("Content-Type", "text/event-stream");
    response.add_header("Cache-Control", "no-store");
    response.add_header("X-Accel-Buffering", "no");
    return response;
}

}  // namespace onda::http
