// Wall-clock time, injectable for tests, and the text forms onda puts on the wire.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace onda {

using SystemTime = std::chrono::system_clock::time_point;

// Where code that needs "now" gets it; tests pass a ManualClock.
class Clock {
public:
    virtual ~Clock() = default;
    virtual SystemTime now() const = 0;
};

class SystemClock final : public Clock {
public:
    SystemTime now() const override { return std::chrono::system_clock::now(); }
};

class ManualClock final : public Clock {
public:
    explicit ManualClock(SystemTime start) : now_(start) {}
    SystemTime now() const override { return now_; }
    void advance(std::chrono::nanoseconds by) { now_ += std::chrono::duration_cast<SystemTime::duration>(by); }

private:
    SystemTime now_;
};

// "2026-11-21T12:00:00Z" (RFC 3339, UTC, whole seconds).
std::string format_rfc3339(SystemTime t);
// "Sat, 21 Nov 2026 12:00:00 GMT" (RFC 9110 §5.6.7 IMF-fixdate).
std::string format_http_date(SystemTime t);
// Parses IMF-fixdate (the only form RFC 9110 requires senders to use); nullopt otherwise.
std::optional<SystemTime> parse_http_date(std::string_view text);

// Microseconds since the Unix epoch, the unit timestamps are stored in.
std::int64_t to_unix_micros(SystemTime t);
SystemTime from_unix_micros(std::int64_t micros);

}  // namespace onda
