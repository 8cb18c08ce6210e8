// fanout_floor: what this machine's kernel alone needs to deliver one small message to each of many
// loopback TCP connections, with no server in between. It answers "how low can a broadcast server's
// delivery latency be here": any server (onda, Node socket.io) does at least these sends, on the same
// kernel, to a load tool that does at least these reads.
//
//   fanout_floor [--connections 10000] [--events 100] [--rate 10] [--bytes 160] [--senders 1]
//                [--sender-cpu C] [--receiver-cpu C]
//
// Two processes (each holds one end of every connection, so each needs only --connections
// descriptors):
//   - the sender (this process) accepts the connections and, --rate times a second, for --events
//     events, notes the steady-clock time once and writes one message of --bytes bytes carrying that
//     time to every connection, in order, with send(2) (TCP_NODELAY). With --senders K, K threads
//     each write to their share of the connections at once, as a server with K threads would.
//   - the receiver (a child process) connects them and reads with epoll(7) on one thread, as a load
//     tool does; a message's latency is its receive time minus the time it carries (one machine,
//     one clock: CLOCK_MONOTONIC).
// --sender-cpu / --receiver-cpu pin them (sched_setaffinity), as run_realtime_bench.sh PIN=1 pins
// the server to CPU 0 and the load tool to CPU 1.
//
// Prints one JSON object: per event, how long writing to every connection took (p50, max), the
// latency of every delivery (p50, p99, max), deliveries per second while writing, and the CPU time
// (user + system) each side spent per event while the events went (connecting excluded). Exit
// status: 0 measured, 1 a failure (a connection lost, a short write), 2 bad arguments.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cli.hpp"

namespace {

constexpr char const* tool = "fanout_floor";

struct Options {
    std::size_t connections = 10000;
    std::size_t events = 100;
    double rate = 10;
    std::size_t bytes = 160;
    std::size_t senders = 1;
    int sender_cpu = -1;
    int receiver_cpu = -1;
};

// Prints "fanout_floor: <why>" (and what `error`, an errno value, means) and exits with 1.
[[noreturn]] void fail(std::string const& why, int error = 0) {
    if (error != 0)
        std::fprintf(stderr, "%s: %s (%s)\n", tool, why.c_str(), std::strerror(error));
    else
        std::fprintf(stderr, "%s: %s\n", tool, why.c_str());
    std::exit(1);
}

// steady_clock is CLOCK_MONOTONIC on Linux: one clock for both processes. A message carries its
// sending time as the count of nanoseconds since that clock's epoch, in its first 8 bytes.
using Clock = std::chrono::steady_clock;
using std::chrono::nanoseconds;

void write_time(char* at, Clock::time_point time) {
    std::int64_t const count = std::chrono::duration_cast<nanoseconds>(time.time_since_epoch()).count();
    std::memcpy(at, &count, sizeof count);
}

Clock::time_point read_time(char const* at) {
    std::int64_t count = 0;
    std::memcpy(&count, at, sizeof count);
    return Clock::time_point(std::chrono::duration_cast<Clock::duration>(nanoseconds(count)));
}

double milliseconds(nanoseconds d) { return std::chrono::duration<double, std::milli>(d).count(); }

void pin(int cpu) {
    if (cpu < 0) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) fail("sched_setaffinity", errno);
}

Options parse(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        std::string_view const flag = argv[i];
        if (i + 1 >= argc) onda::bench::exit_usage_error(tool, "missing value for " + std::string(flag));
        std::string_view const value = argv[++i];
        auto count = [&] {
            auto n = onda::bench::parse_number<std::size_t>(value);
            if (!n || *n == 0) onda::bench::exit_usage_error(tool, std::string(flag) + " wants a positive number");
            return *n;
        };
        auto cpu = [&] {
            auto n = onda::bench::parse_number<int>(value);
            if (!n || *n < 0) onda::bench::exit_usage_error(tool, std::string(flag) + " wants a CPU number");
            return *n;
        };
        if (flag == "--connections")
            options.connections = count();
        else if (flag == "--events")
            options.events = count();
        else if (flag == "--rate")
            options.rate = static_cast<double>(count());
        else if (flag == "--bytes")
            options.bytes = count();
        else if (flag == "--senders")
            options.senders = count();
        else if (flag == "--sender-cpu")
            options.sender_cpu = cpu();
        else if (flag == "--receiver-cpu")
            options.receiver_cpu = cpu();
        else
            onda::bench::exit_usage_error(tool, "unknown flag " + std::string(flag));
    }
    if (options.bytes < sizeof(std::int64_t)) onda::bench::exit_usage_error(tool, "--bytes must hold a time (8)");
    if (options.senders > options.connections) onda::bench::exit_usage_error(tool, "more senders than connections");
    return options;
}

// This process's CPU time so far (user + system, every thread).
double cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](timeval t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

void write_all(int fd, void const* data, std::size_t size) {
    auto const* bytes = static_cast<char const*>(data);
    while (size > 0) {
        ssize_t const n = ::write(fd, bytes, size);
        if (n <= 0) fail("write to the parent", errno);
        bytes += n;
        size -= static_cast<std::size_t>(n);
    }
}

void read_all(int fd, void* data, std::size_t size) {
    auto* bytes = static_cast<char*>(data);
    while (size > 0) {
        ssize_t const n = ::read(fd, bytes, size);
        if (n <= 0) fail("the receiver's report ended early");
        bytes += n;
        size -= static_cast<std::size_t>(n);
    }
}

// The p-quantile of `values`, in ms.
double percentile(std::vector<nanoseconds>& values, double p) {
    if (values.empty()) return 0;
    auto const at = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1));
    std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(at), values.end());
    return milliseconds(values[at]);
}

// The child: connects every connection, tells the parent, reads every message, writes its
// report to `report`: its CPU time over the reading (a double, seconds), then each message's
// latency (std::chrono::nanoseconds).
[[noreturn]] void receive(Options const& options, sockaddr_in address, int ready, int report) {
    pin(options.receiver_cpu);
    int const poller = epoll_create1(0);
    if (poller < 0) fail("epoll_create1", errno);
    for (std::size_t i = 0; i < options.connections; ++i) {
        int const fd = ::socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) fail("socket", errno);
        if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) fail("connect", errno);
        epoll_event event{};
        event.events = EPOLLIN;
        event.data.fd = fd;
        if (epoll_ctl(poller, EPOLL_CTL_ADD, fd, &event) != 0) fail("epoll_ctl", errno);
    }
    char const one = 1;
    if (::write(ready, &one, 1) != 1) fail("write to the parent", errno);
    double const cpu_before = cpu_seconds();
    std::size_t const expected = options.connections * options.events;
    std::vector<nanoseconds> latencies;
    latencies.reserve(expected);
    // Bytes of a message that arrived split across reads, per descriptor (rare: messages are small).
    std::vector<std::string> partial;
    std::vector<char> buffer(64 * 1024);
    std::vector<epoll_event> events(1024);
    while (latencies.size() < expected) {
        int const n = epoll_wait(poller, events.data(), static_cast<int>(events.size()), 10'000);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) fail("the receiver waited 10 s for nothing", n < 0 ? errno : 0);
        for (int k = 0; k < n; ++k) {
            int const fd = events[static_cast<std::size_t>(k)].data.fd;
            ssize_t const got = ::recv(fd, buffer.data(), buffer.size(), 0);
            if (got <= 0) fail("a connection ended", got < 0 ? errno : 0);
            auto const at = Clock::now();
            if (partial.size() <= static_cast<std::size_t>(fd)) partial.resize(static_cast<std::size_t>(fd) + 1);
            std::string& rest = partial[static_cast<std::size_t>(fd)];
            rest.append(buffer.data(), static_cast<std::size_t>(got));
            std::size_t used = 0;
            for (; rest.size() - used >= options.bytes; used += options.bytes) {
                latencies.push_back(at - read_time(rest.data() + used));
            }
            rest.erase(0, used);
        }
    }
    double const cpu = cpu_seconds() - cpu_before;
    write_all(report, &cpu, sizeof cpu);
    write_all(report, latencies.data(), latencies.size() * sizeof(nanoseconds));
    std::_Exit(0);
}

// A loopback listener on an ephemeral port; `address` is set to where it listens.
int listen_on_loopback(sockaddr_in& address) {
    int const listener = ::socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0) fail("socket", errno);
    address = {};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) fail("bind", errno);
    if (::listen(listener, 4096) != 0) fail("listen", errno);
    socklen_t length = sizeof address;
    if (getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) fail("getsockname", errno);
    return listener;
}

// Accepts `count` connections (TCP_NODELAY), unless the receiver ends first: it holds its end of
// `ready` open for as long as it runs, so a hang-up there means it is gone. Then waits for its word
// that it connected them all.
std::vector<int> accept_all(int listener, int ready, std::size_t count) {
    std::vector<int> connections;
    connections.reserve(count);
    while (connections.size() < count) {
        pollfd watch[2] = {{listener, POLLIN, 0}, {ready, 0, 0}};
        int const n = ::poll(watch, 2, 30'000);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) fail("no connection came for 30 s", n < 0 ? errno : 0);
        if (watch[1].revents & (POLLHUP | POLLERR)) fail("the receiver ended before it had connected");
        if (!(watch[0].revents & POLLIN)) continue;
        int const fd = ::accept(listener, nullptr, nullptr);
        if (fd < 0) fail("accept", errno);
        int const on = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        connections.push_back(fd);
    }
    char connected = 0;
    if (::read(ready, &connected, 1) != 1) fail("the receiver did not get ready");
    return connections;
}

struct Sent {
    std::vector<nanoseconds> writing;  // per event: from its time to its last send
    Clock::duration elapsed{};         // from the first event's due time to the end of the last
    double cpu_seconds = 0;            // this process's, every sending thread's, while sending
};

// Sends the events, --rate a second, each one message to every connection: sender k writes to
// connections [k * share, (k + 1) * share), and all start an event together.
Sent send_events(Options const& options, std::vector<int> const& connections) {
    std::size_t const share = (options.connections + options.senders - 1) / options.senders;
    Sent sent{.writing = std::vector<nanoseconds>(options.events)};
    std::atomic<std::size_t> finished{0};
    std::atomic<bool> failed{false};
    auto write_share = [&](std::size_t k, Clock::time_point at) {
        std::string message(options.bytes, 'x');
        write_time(message.data(), at);
        std::size_t const end = std::min(connections.size(), (k + 1) * share);
        for (std::size_t i = k * share; i < end; ++i)
            if (::send(connections[i], message.data(), message.size(), MSG_NOSIGNAL) !=
                static_cast<ssize_t>(message.size()))
                failed = true;
    };
    std::vector<std::thread> helpers;
    std::atomic<Clock::time_point> event_at{};
    std::atomic<std::size_t> event_number{0};
    for (std::size_t k = 1; k < options.senders; ++k)
        helpers.emplace_back([&, k] {
            pin(options.sender_cpu);
            for (std::size_t e = 1; e <= options.events; ++e) {
                for (std::size_t seen; (seen = event_number.load()) < e;) event_number.wait(seen);
                write_share(k, event_at.load());
                finished.fetch_add(1);
                finished.notify_one();
            }
        });
    auto const period = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1 / options.rate));
    auto next = Clock::now();
    auto const first = next;
    double const cpu_before = cpu_seconds();
    for (std::size_t e = 0; e < options.events; ++e) {
        std::this_thread::sleep_until(next);
        next += period;
        auto const at = Clock::now();
        event_at.store(at);
        event_number.store(e + 1);
        event_number.notify_all();
        write_share(0, at);
        for (std::size_t done; (done = finished.load()) < (e + 1) * (options.senders - 1);) finished.wait(done);
        sent.writing[e] = Clock::now() - at;
    }
    sent.elapsed = Clock::now() - first;
    for (auto& helper : helpers) helper.join();
    if (failed) fail("a send wrote less than a message");
    sent.cpu_seconds = cpu_seconds() - cpu_before;
    return sent;
}

void print_report(Options const& options, Sent& sent, std::vector<nanoseconds>& latencies, double receiver_cpu) {
    nanoseconds writing_all{0};
    for (auto const d : sent.writing) writing_all += d;
    double const writing_s = std::chrono::duration<double>(writing_all).count();
    double const deliveries_per_s = static_cast<double>(latencies.size()) / writing_s;
    double const events = static_cast<double>(options.events);
    std::printf(
        "{\"connections\":%zu,\"events\":%zu,\"rate\":%.0f,\"bytes\":%zu,\"senders\":%zu,"
        "\"seconds\":%.3f,\"event_write_p50_ms\":%.3f,\"event_write_max_ms\":%.3f,"
        "\"us_per_send\":%.2f,\"deliveries_per_s_while_writing\":%.0f,"
        "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,"
        "\"sender_cpu_ms_per_event\":%.1f,\"receiver_cpu_ms_per_event\":%.1f}\n",
        options.connections, options.events, options.rate, options.bytes, options.senders,
        std::chrono::duration<double>(sent.elapsed).count(), percentile(sent.writing, 0.5),
        percentile(sent.writing, 1.0),
        writing_s * 1e6 / static_cast<double>(latencies.size()) * static_cast<double>(options.senders),
        deliveries_per_s, percentile(latencies, 0.5), percentile(latencies, 0.99), percentile(latencies, 1.0),
        sent.cpu_seconds * 1e3 / events, receiver_cpu * 1e3 / events);
}

}  // namespace

int main(int argc, char** argv) {
    Options const options = parse(argc, argv);
    onda::bench::raise_open_file_limit();

    sockaddr_in address{};
    int const listener = listen_on_loopback(address);
    int ready[2];
    int report[2];
    if (pipe(ready) != 0 || pipe(report) != 0) fail("pipe", errno);
    pid_t const child = fork();
    if (child < 0) fail("fork", errno);
    if (child == 0) {
        ::close(listener);
        ::close(ready[0]);
        ::close(report[0]);
        receive(options, address, ready[1], report[1]);
    }
    ::close(ready[1]);
    ::close(report[1]);
    pin(options.sender_cpu);

    std::vector<int> const connections = accept_all(listener, ready[0], options.connections);
    Sent sent = send_events(options, connections);

    double receiver_cpu = 0;
    read_all(report[0], &receiver_cpu, sizeof receiver_cpu);
    std::vector<nanoseconds> latencies(options.connections * options.events);
    read_all(report[0], latencies.data(), latencies.size() * sizeof(nanoseconds));
    int status = 0;
    waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fail("the receiver failed");
    print_report(options, sent, latencies, receiver_cpu);
    return 0;
}
