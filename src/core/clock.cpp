#include "core/clock.hpp"

#include <cstdio>
#include <ctime>

namespace onda {
namespace {
constexpr char const* weekdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr int min_year = 1678;
constexpr int max_year = 2261;
constexpr char const* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

std::tm utc_fields(SystemTime t) {
    // floor, not to_time_t's truncation: half a second before 1970 is 23:59:59 of 1969, as it is
    // when the date comes back in If-Modified-Since and is compared second by second. Calendar
    // arithmetic rather than gmtime_r, which takes glibc's time-zone lock on every call.
    using namespace std::chrono;
    auto const seconds = floor<std::chrono::seconds>(t);
    auto const day = floor<days>(seconds);
    year_month_day const date{day};
    hh_mm_ss const time{seconds - day};
    std::tm fields{};
    fields.tm_year = static_cast<int>(date.year()) - 1900;
    fields.tm_mon = static_cast<int>(static_cast<unsigned>(date.month())) - 1;
    fields.tm_mday = static_cast<int>(static_cast<unsigned>(date.day()));
    fields.tm_wday = static_cast<int>(weekday{day}.c_encoding());
    fields.tm_hour = static_cast<int>(time.hours().count());
    fields.tm_min = static_cast<int>(time.minutes().count());
    fields.tm_sec = static_cast<int>(time.seconds().count());
    return fields;
}
}  // namespace

std::string format_rfc3339(SystemTime t) {
    std::tm f = utc_fields(t);
    char out[64];
    std::snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02dZ", f.tm_year + 1900, f.tm_mon + 1, f.tm_mday,
                  f.tm_hour, f.tm_min, f.tm_sec);
    return out;
}

std::string format_http_date(SystemTime t) {
    // Written by hand: every file response carries one (Last-Modified), and snprintf costs about ten
    // times as much. SystemTime's years (1678..2261) always have four digits.
    std::tm f = utc_fields(t);
    std::string out = "Www, DD Mmm YYYY hh:mm:ss GMT";
    auto put = [&out](std::size_t at, int value, int width) {
        for (int i = width - 1; i >= 0; --i, value /= 10)
            out[at + static_cast<std::size_t>(i)] = char('0' + value % 10);
    };
    out.replace(0, 3, weekdays[f.tm_wday]);
    put(5, f.tm_mday, 2);
    out.replace(8, 3, months[f.tm_mon]);
    put(12, f.tm_year + 1900, 4);
    put(17, f.tm_hour, 2);
    put(20, f.tm_min, 2);
    put(23, f.tm_sec, 2);
    return out;
}

std::optional<SystemTime> parse_http_date(std::string_view text) {
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT", exactly 29 characters.
    if (text.size() != 29 || text.substr(3, 2) != ", " || text.substr(25) != " GMT") return std::nullopt;
    auto digits = [&](std::size_t at, std::size_t count) -> std::optional<int> {
        int value = 0;
        for (std::size_t i = at; i < at + count; ++i) {
            if (text[i] < '0' || text[i] > '9') return std::nullopt;
            value = value * 10 + (text[i] - '0');
        }
        return value;
    };
    auto day = digits(5, 2), year = digits(12, 4), hour = digits(17, 2), minute = digits(20, 2), second = digits(23, 2);
    if (!day || !year || !hour || !minute || !second || text[7] != ' ' || text[11] != ' ' || text[16] != ' ' ||
        text[19] != ':' || text[22] != ':')
        return std::nullopt;
    int month = -1;
    for (int m = 0; m < 12; ++m)
        if (text.substr(8, 3) == months[m]) month = m;
    if (month < 0 || *day < 1 || *day > 31 || *hour > 23 || *minute > 59 || *second > 60) return std::nullopt;
    // SystemTime counts nanoseconds in 64 bits: years outside about 1678..2261 do not fit, and a
    // header naming one is as meaningless as a malformed one.
    if (*year < min_year || *year > max_year) return std::nullopt;
    std::tm f{};
    f.tm_year = *year - 1900;
    f.tm_mon = month;
    f.tm_mday = *day;
    f.tm_hour = *hour;
    f.tm_min = *minute;
    f.tm_sec = *second;
    return std::chrono::system_clock::from_time_t(timegm(&f));
}

std::int64_t to_unix_micros(SystemTime t) {
    return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

SystemTime from_unix_micros(std::int64_t micros) {
    return SystemTime(std::chrono::duration_cast<SystemTime::duration>(std::chrono::microseconds(micros)));
}

}  // namespace onda
