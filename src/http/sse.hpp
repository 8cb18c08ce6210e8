// The Server-Sent Events wire format (HTML Living Standard §9.2, "text/event-stream"): pure text,
// no I/O. A stream is a sequence of blocks separated by a blank line; each line is `field: value`:
//
//   event: upload_progress          the event type (absent: "message")
//   id: 3f9c01a2b7de-42             becomes the client's Last-Event-ID, sent back on reconnect
//   data: {"percentage":42}         one line per line of the payload; the client joins them with \n
//   retry: 3000                     reconnection delay in milliseconds
//   : keepalive                     a comment, ignored by clients (keeps proxies from timing out)
//
// A block with an `id:` and no data updates the client's Last-Event-ID without firing an event.
// Line ends in a payload may be LF, CR or CRLF (the spec accepts all three); each starts a new
// `data:` line. CR and LF cannot occur in `event:`, `id:` or comment values, so they are dropped
// there instead of letting a value start a field of its own; `id:` also drops NUL (§9.2.6 ignores
// an id containing it).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "http/response.hpp"

namespace onda::http {

struct SseEvent {
    std::string_view name;  // empty: no `event:` line (clients see "message")
    std::string_view id;    // empty: no `id:` line
    std::string_view data;  // may span lines; empty still sends one `data:` line
};

// One event block, ending with the blank line that dispatches it.
std::string format_sse_event(SseEvent const& event);
// Appends one event block to `out`, for gathering several events into one write.
void append_sse_event(std::string& out, SseEvent const& event);

// `: text` lines and a blank line; clients ignore them.
std::string format_sse_comment(std::string_view text);

// `retry: N` (milliseconds) and a blank line.
std::string format_sse_retry(std::chrono::milliseconds delay);

// An `id:` line alone and a blank line: sets the client's Last-Event-ID without an event.
std::string format_sse_id(std::string_view id);

// A 200 response with the headers an event stream needs: Content-Type: text/event-stream,
// Cache-Control: no-store, X-Accel-Buffering: no (so nginx does not buffer it). The caller sets
// the body stream.
Response sse_response();

}  // namespace onda::http
