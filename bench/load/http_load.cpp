// http_load: a keep-alive HTTP/1.1 load generator for bench/run_http_bench.sh (issue 2). One process,
// one io_context per thread, one coroutine per connection; each connection sends its next request as
// soon as the previous body has been read (no pipelining). Bodies are read and thrown away.
//
//   http_load --port P --path /file --mode range|whole [--connections 64] [--threads 2]
//             [--warmup 3] [--seconds 15] [--host 127.0.0.1] [--size BYTES]
//   http_load --port P --path /healthz --mode idle --connections 10000 [--seconds 120]
//
// range: GET with `Range: bytes=a-(a+65535)` at a random a inside the file; the answer must be 206,
//        a 65536-byte body and a Content-Range that starts at a.
// whole: GET of the whole file; the answer must be 200 with the file's size as its body length.
//        The size comes from --size, or else from one `Range: bytes=0-0` request before the run.
// Prints one JSON object when the run ends:
//   {"mode","connections","requests","seconds","rps","mb_per_s","p50_ms","p99_ms","errors",...}
// requests counts the answers completed in the measured window (after the warm-up); mb_per_s counts
// the body bytes received in that window, partial bodies included (MB = 10^6 bytes), so a whole-file
// run that completes only a few hundred requests is still measured by what it moved. errors counts
// every failed exchange, warm-up included.
//
// idle: opens K connections, sends one request on each and reads its answer, then keeps them open.
// Prints {"idle_ready":...} as one line once every connection has its answer (so a script can measure
// the server now), then holds them until --seconds pass or SIGTERM/SIGINT arrives, and prints how
// many of them the server closed meanwhile.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "cli.hpp"

namespace {

using onda::bench::exit_usage_error;
using onda::bench::parse_number;

namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
template <class T = void>
using Task = net::awaitable<T>;

constexpr auto use_result = net::as_tuple(net::use_awaitable);
constexpr std::uint64_t range_bytes = 64 * 1024;
constexpr std::size_t scratch_bytes = 256 * 1024;
constexpr std::size_t head_buffer_bytes = 4 * 1024;  // per connection; grows for a longer head
constexpr std::size_t max_head_bytes = 64 * 1024;

enum class Mode { range, whole, idle };

struct Options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    std::string path = "/";
    Mode mode = Mode::range;
    unsigned connections = 64;
    unsigned threads = 2;
    double warmup_seconds = 3;
    double seconds = 15;
    std::uint64_t size = 0;  // 0: ask the server
};

// The phases of a load run, set by the main thread, read by every connection.
enum Phase : int { warming = 0, measuring = 1, done = 2 };

// What one thread's connections counted; only that thread writes it, main reads it after join().
struct ThreadStats {
    std::uint64_t requests = 0;
    std::uint64_t body_bytes = 0;
    std::uint64_t errors = 0;
    std::vector<std::uint32_t> latencies_us;
    // Where bodies are read to and thrown away, shared by the thread's connections: their bytes are never looked at.
    std::vector<char> scratch = std::vector<char>(scratch_bytes);
};

struct ResponseHead {
    unsigned status = 0;
    std::optional<std::uint64_t> content_length;
    std::optional<std::uint64_t> range_first;  // Content-Range: bytes FIRST-last/total
    std::optional<std::uint64_t> range_total;
    bool close = false;
};

[[noreturn]] void fail(std::string const& why) { exit_usage_error("http_load", why); }

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return (x | 0x20) == (y | 0x20);  // ASCII letters, '-' and digits are all this needs
           });
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

// `head` is everything before the blank line: the status line and the header fields.
std::optional<ResponseHead> parse_head(std::string_view head) {
    ResponseHead out;
    auto line_end = head.find("\r\n");
    std::string_view status_line = head.substr(0, line_end);
    if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12) return std::nullopt;
    auto status = parse_number<unsigned>(status_line.substr(9, 3));
    if (!status) return std::nullopt;
    out.status = *status;
    while (line_end != std::string_view::npos) {
        std::size_t const start = line_end + 2;
        line_end = head.find("\r\n", start);
        std::string_view line = head.substr(start, line_end == std::string_view::npos ? head.npos : line_end - start);
        auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        std::string_view name = line.substr(0, colon);
        std::string_view value = trim(line.substr(colon + 1));
        if (iequals(name, "content-length")) {
            out.content_length = parse_number<std::uint64_t>(value);
            if (!out.content_length) return std::nullopt;
        } else if (iequals(name, "connection")) {
            out.close = iequals(value, "close");
        } else if (iequals(name, "content-range") && value.starts_with("bytes ")) {
            value.remove_prefix(6);
            auto dash = value.find('-');
            auto slash = value.find('/');
            if (dash == value.npos || slash == value.npos || slash < dash) return std::nullopt;
            out.range_first = parse_number<std::uint64_t>(value.substr(0, dash));
            out.range_total = parse_number<std::uint64_t>(value.substr(slash + 1));
        }
    }
    return out;
}

// Reads one response head into `buffer` and returns it parsed, with how many body bytes came along
// (they are at the end of the bytes read). The buffer must be the connection's own: the reactor may
// complete another connection's read into a shared buffer before this coroutine resumes to parse it.
struct HeadRead {
    ResponseHead head;
    std::uint64_t body_bytes_read = 0;
};

Task<std::optional<HeadRead>> read_head(tcp::socket& socket, std::vector<char>& buffer) {
    std::size_t have = 0;
    for (;;) {
        if (have == buffer.size()) {
            if (buffer.size() >= max_head_bytes) co_return std::nullopt;
            buffer.resize(std::min(buffer.size() * 2, max_head_bytes));
        }
        auto free_space = net::buffer(buffer.data() + have, buffer.size() - have);
        auto [ec, n] = co_await socket.async_read_some(free_space, use_result);
        if (ec) co_return std::nullopt;
        std::size_t const search_from = have >= 3 ? have - 3 : 0;
        have += n;
        std::string_view const data(buffer.data(), have);
        auto const end = data.find("\r\n\r\n", search_from);
        if (end == std::string_view::npos) continue;
        auto head = parse_head(data.substr(0, end));
        if (!head) co_return std::nullopt;
        co_return HeadRead{*head, have - (end + 4)};
    }
}

struct LoadConnection {
    Options const& options;  // outlives the run
    std::atomic<int> const& phase;
    ThreadStats& stats;
    std::uint64_t file_size;
    std::mt19937_64 random;
};

std::string request_text(Options const& options, std::optional<std::uint64_t> first) {
    std::string out = "GET " + options.path + " HTTP/1.1\r\nHost: " + options.host + ":" +
                      std::to_string(options.port) + "\r\nUser-Agent: onda-http-load\r\n";
    if (first)
        out += "Range: bytes=" + std::to_string(*first) + "-" + std::to_string(*first + range_bytes - 1) + "\r\n";
    return out + "\r\n";
}

// Says why an exchange failed, for the first few failures of a run; returns false for `co_return`.
bool exchange_failed(char const* why) {
    static std::atomic<int> reported{0};
    if (reported.fetch_add(1) < 5) std::fprintf(stderr, "http_load: exchange failed: %s\n", why);
    return false;
}

// One request and its whole answer. False: the exchange failed and the connection must be replaced.
Task<bool> exchange(tcp::socket& socket, LoadConnection& c, std::vector<char>& head_buffer) {
    std::optional<std::uint64_t> first;
    std::uint64_t expected_length = c.file_size;
    unsigned expected_status = 200;
    if (c.options.mode == Mode::range) {
        first = std::uniform_int_distribution<std::uint64_t>(0, c.file_size - range_bytes)(c.random);
        expected_length = range_bytes;
        expected_status = 206;
    }
    std::string const request = request_text(c.options, first);
    auto const started = Clock::now();
    if (auto [ec, n] = co_await net::async_write(socket, net::buffer(request), use_result); ec)
        co_return exchange_failed("write");

    auto got = co_await read_head(socket, head_buffer);
    if (!got) co_return exchange_failed("reading or parsing the response head");
    auto const& head = got->head;
    if (head.status != expected_status) co_return exchange_failed("unexpected status");
    if (head.content_length != expected_length) co_return exchange_failed("unexpected Content-Length");
    if (first && head.range_first != first) co_return exchange_failed("Content-Range is not the range asked for");
    if (got->body_bytes_read > expected_length) co_return exchange_failed("bytes past the end of the body");

    std::uint64_t remaining = expected_length - got->body_bytes_read;
    if (c.phase.load(std::memory_order_relaxed) == measuring) c.stats.body_bytes += got->body_bytes_read;
    while (remaining > 0) {
        auto const want = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, c.stats.scratch.size()));
        auto [ec, n] = co_await socket.async_read_some(net::buffer(c.stats.scratch.data(), want), use_result);
        if (ec) co_return exchange_failed("reading the body");
        remaining -= n;
        if (c.phase.load(std::memory_order_relaxed) == measuring) c.stats.body_bytes += n;
    }
    if (c.phase.load(std::memory_order_relaxed) == measuring) {
        ++c.stats.requests;
        auto const elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
        c.stats.latencies_us.push_back(static_cast<std::uint32_t>(std::min<std::int64_t>(elapsed.count(), UINT32_MAX)));
    }
    co_return !head.close;
}

// One keep-alive connection, replaced whenever an exchange fails, until the run is done.
Task<> run_load_connection(LoadConnection c, tcp::endpoint endpoint) {  // c's references outlive the run
    auto executor = co_await net::this_coro::executor;
    std::vector<char> head_buffer(head_buffer_bytes);
    while (c.phase.load(std::memory_order_relaxed) != done) {
        tcp::socket socket(executor);
        if (auto [ec] = co_await socket.async_connect(endpoint, use_result); ec) {
            ++c.stats.errors;
            net::steady_timer pause(executor, std::chrono::milliseconds(10));
            co_await pause.async_wait(use_result);
            continue;
        }
        socket.set_option(tcp::no_delay(true));
        for (;;) {
            bool const ok = co_await exchange(socket, c, head_buffer);
            if (c.phase.load(std::memory_order_relaxed) == done) co_return;
            if (!ok) {
                ++c.stats.errors;
                break;
            }
        }
    }
}

// A spawned task's one catch site: a bench tool that hits a bug stops and says so.
void exit_on_failure(std::exception_ptr failure) {
    if (!failure) return;
    try {
        std::rethrow_exception(failure);
    } catch (std::exception const& e) {
        fail(std::string("unexpected failure: ") + e.what());
    }
}

Task<> ask_file_size(Options const& options, tcp::endpoint endpoint, std::uint64_t& size) {  // both outlive it
    tcp::socket socket(co_await net::this_coro::executor);
    if (auto [ec] = co_await socket.async_connect(endpoint, use_result); ec) fail("connect: " + ec.message());
    std::string request = request_text(options, std::uint64_t{0});
    request.replace(request.find("-65535"), 6, "-0");
    co_await net::async_write(socket, net::buffer(request), net::use_awaitable);
    std::vector<char> head_buffer(head_buffer_bytes);
    auto got = co_await read_head(socket, head_buffer);
    if (!got || got->head.status != 206 || !got->head.range_total)
        fail("the server did not answer `Range: bytes=0-0` with 206 and a Content-Range total");
    size = *got->head.range_total;
}

// The file's size, from the Content-Range total of a one-byte request.
std::uint64_t file_size_of(Options const& options, tcp::endpoint endpoint) {
    net::io_context context;
    std::uint64_t size = 0;
    net::co_spawn(context, ask_file_size(options, endpoint, size), exit_on_failure);
    context.run();
    return size;
}

double percentile_ms(std::vector<std::uint32_t>& sorted_us, double fraction) {
    if (sorted_us.empty()) return 0;
    auto index = static_cast<std::size_t>(fraction * static_cast<double>(sorted_us.size() - 1) + 0.5);
    return sorted_us[std::min(index, sorted_us.size() - 1)] / 1000.0;
}

void sleep_for_seconds(double seconds) { std::this_thread::sleep_for(std::chrono::duration<double>(seconds)); }

void run_load(Options const& options, tcp::endpoint endpoint) {
    std::uint64_t const file_size = options.size ? options.size : file_size_of(options, endpoint);
    if (options.mode == Mode::range && file_size < range_bytes) fail("the file is smaller than one 64 KiB range");

    std::atomic<int> phase{warming};
    std::vector<std::unique_ptr<net::io_context>> contexts;
    std::vector<ThreadStats> stats(options.threads);
    for (unsigned t = 0; t < options.threads; ++t) {
        contexts.push_back(std::make_unique<net::io_context>(1));
        stats[t].latencies_us.reserve(1 << 20);
    }
    std::random_device seed_source;
    for (unsigned i = 0; i < options.connections; ++i) {
        unsigned const t = i % options.threads;
        LoadConnection connection{options, phase, stats[t], file_size, std::mt19937_64(seed_source() + i)};
        net::co_spawn(*contexts[t], run_load_connection(std::move(connection), endpoint), exit_on_failure);
    }
    std::vector<std::thread> threads;
    for (auto& context : contexts) threads.emplace_back([c = context.get()] { c->run(); });

    sleep_for_seconds(options.warmup_seconds);
    phase.store(measuring);
    auto const measure_start = Clock::now();
    sleep_for_seconds(options.seconds);
    phase.store(done);
    auto const measure_end = Clock::now();
    for (auto& context : contexts) context->stop();
    for (auto& thread : threads) thread.join();

    ThreadStats total;
    for (auto& s : stats) {
        total.requests += s.requests;
        total.body_bytes += s.body_bytes;
        total.errors += s.errors;
        total.latencies_us.insert(total.latencies_us.end(), s.latencies_us.begin(), s.latencies_us.end());
    }
    std::sort(total.latencies_us.begin(), total.latencies_us.end());
    double const seconds = std::chrono::duration<double>(measure_end - measure_start).count();
    std::printf(
        "{\"mode\":\"%s\",\"connections\":%u,\"threads\":%u,\"file_bytes\":%llu,\"requests\":%llu,\"seconds\":%.3f,"
        "\"rps\":%.1f,\"mb_per_s\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"errors\":%llu}\n",
        options.mode == Mode::range ? "range" : "whole", options.connections, options.threads,
        static_cast<unsigned long long>(file_size), static_cast<unsigned long long>(total.requests), seconds,
        static_cast<double>(total.requests) / seconds, static_cast<double>(total.body_bytes) / seconds / 1e6,
        percentile_ms(total.latencies_us, 0.50), percentile_ms(total.latencies_us, 0.99),
        static_cast<unsigned long long>(total.errors));
    std::fflush(stdout);
}

struct IdleCounts {
    std::atomic<unsigned> ready{0};
    std::atomic<unsigned> failed{0};
    std::atomic<unsigned> closed{0};  // by the server, after it answered
};

// Waits on a connection that has had its answer; completes only when the server closes it.
Task<> hold_idle(tcp::socket socket, IdleCounts& counts) {  // counts outlive the run
    char byte = 0;
    co_await socket.async_read_some(net::buffer(&byte, 1), use_result);  // any outcome: the server closed it
    counts.closed.fetch_add(1);
}

// Opens connections first, first + step, ... below `total`; each gets one request and its answer and is then
// handed to hold_idle().
Task<> open_idle(Options const& options, tcp::endpoint endpoint, unsigned first, unsigned step,
                 IdleCounts& counts) {  // options and counts outlive the run
    auto executor = co_await net::this_coro::executor;
    std::vector<char> buffer(head_buffer_bytes);  // this opener's own: heads and the small bodies
    std::string const request = request_text(options, std::nullopt);
    for (unsigned i = first; i < options.connections; i += step) {
        bool answered = false;
        tcp::socket socket(executor);
        for (int attempt = 0; attempt < 20 && !answered; ++attempt) {
            if (attempt > 0) {
                socket = tcp::socket(executor);
                net::steady_timer pause(executor, std::chrono::milliseconds(50));
                co_await pause.async_wait(use_result);
            }
            if (auto [ec] = co_await socket.async_connect(endpoint, use_result); ec) continue;
            if (auto [ec, n] = co_await net::async_write(socket, net::buffer(request), use_result); ec) continue;
            auto got = co_await read_head(socket, buffer);
            if (!got || got->head.status != 200 || got->head.close || !got->head.content_length) continue;
            std::uint64_t remaining =
                *got->head.content_length - std::min(*got->head.content_length, got->body_bytes_read);
            bool body_ok = true;
            while (remaining > 0 && body_ok) {
                auto const want = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, buffer.size()));
                auto [ec, n] = co_await socket.async_read_some(net::buffer(buffer.data(), want), use_result);
                body_ok = !ec;
                remaining -= n;
            }
            answered = body_ok;
        }
        if (!answered) {
            counts.failed.fetch_add(1);
            continue;
        }
        counts.ready.fetch_add(1);
        net::co_spawn(executor, hold_idle(std::move(socket), counts), exit_on_failure);
    }
}

void run_idle(Options const& options, tcp::endpoint endpoint) {
    // SIGTERM and SIGINT end the hold; blocked here so every thread started below inherits the mask.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    constexpr unsigned openers = 256;  // connects in flight at once: well inside the listen backlog
    IdleCounts counts;
    std::vector<std::unique_ptr<net::io_context>> contexts;
    for (unsigned t = 0; t < options.threads; ++t) contexts.push_back(std::make_unique<net::io_context>(1));
    auto const started = Clock::now();
    for (unsigned o = 0; o < std::min(openers, options.connections); ++o)
        net::co_spawn(*contexts[o % options.threads], open_idle(options, endpoint, o, openers, counts),
                      exit_on_failure);
    std::vector<std::thread> threads;
    for (auto& context : contexts) threads.emplace_back([c = context.get()] { c->run(); });

    auto const give_up = started + std::chrono::seconds(120);
    while (counts.ready + counts.failed < options.connections && Clock::now() < give_up)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    double const open_seconds = std::chrono::duration<double>(Clock::now() - started).count();
    std::printf("{\"idle_ready\":%u,\"failed\":%u,\"connections\":%u,\"open_seconds\":%.2f}\n", counts.ready.load(),
                counts.failed.load(), options.connections, open_seconds);
    std::fflush(stdout);

    timespec hold{};
    hold.tv_sec = static_cast<time_t>(options.seconds);
    while (sigtimedwait(&stop_signals, nullptr, &hold) < 0 && errno == EINTR) {}
    unsigned const closed = counts.closed.load();
    for (auto& context : contexts) context->stop();
    for (auto& thread : threads) thread.join();
    std::printf(
        "{\"mode\":\"idle\",\"connections\":%u,\"ready\":%u,\"failed\":%u,\"closed_by_server\":%u,"
        "\"open_at_end\":%u}\n",
        options.connections, counts.ready.load(), counts.failed.load(), closed, counts.ready.load() - closed);
    std::fflush(stdout);
}

Options parse_options(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string_view const flag = argv[i];
        if (i + 1 >= argc) fail("missing value after " + std::string(flag));
        std::string_view const value = argv[++i];
        auto number = [&]<class N>(N& out) {
            auto parsed = parse_number<N>(value);
            if (!parsed) fail("bad number for " + std::string(flag) + ": " + std::string(value));
            out = *parsed;
        };
        if (flag == "--host")
            o.host = value;
        else if (flag == "--port")
            number(o.port);
        else if (flag == "--path")
            o.path = value;
        else if (flag == "--connections")
            number(o.connections);
        else if (flag == "--threads")
            number(o.threads);
        else if (flag == "--warmup")
            number(o.warmup_seconds);
        else if (flag == "--seconds")
            number(o.seconds);
        else if (flag == "--size")
            number(o.size);
        else if (flag == "--mode") {
            if (value == "range")
                o.mode = Mode::range;
            else if (value == "whole")
                o.mode = Mode::whole;
            else if (value == "idle")
                o.mode = Mode::idle;
            else
                fail("--mode is range, whole or idle");
        } else {
            fail("unknown flag " + std::string(flag));
        }
    }
    if (o.port == 0) fail("--port is required");
    if (o.connections == 0 || o.threads == 0) fail("--connections and --threads must be at least 1");
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    Options const options = parse_options(argc, argv);
    onda::bench::raise_open_file_limit();
    boost::system::error_code ec;
    tcp::endpoint const endpoint(net::ip::make_address(options.host, ec), options.port);
    if (ec) fail("bad --host " + options.host + ": " + ec.message());
    if (options.mode == Mode::idle)
        run_idle(options, endpoint);
    else
        run_load(options, endpoint);
    return 0;
}
