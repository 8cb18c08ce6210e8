// socketio_load: many Socket.IO v4 clients in one process and a few publishers, for
// bench/run_realtime_bench.sh (issue 5). Every client speaks Engine.IO v4 over WebSocket only
// (`GET /socket.io/?EIO=4&transport=websocket`), so no HTTP long-polling is measured.
//
//   socketio_load --port P --target onda --token T [--clients 10000] [--messages 1000]
//                 [--paced-messages 200] [--rate 20] [--publishers 4] [--threads 2] [--server-pid PID]
//   socketio_load --port P --target peer [...]
//
// The room and the publisher: the same route on both sides. Every client is a device of user
// `bench`, in room `user:bench`:
//   onda: the clients CONNECT with `auth: {token: T, deviceId: "d<i>"}`, T a token of user `bench`,
//         so onda puts each in that user's room (API.md: "Every socket of user U is in room user:U");
//         the server needs realtime.max_devices=0 and realtime.events_per_minute=0 (one user, one
//         address, 10,000 devices).
//   peer: bench/peers/socketio-peer: clients CONNECT with `auth: {sub: "bench"}` and the peer joins
//         them to `user:bench`.
// Each publisher is one more device of `bench` (deviceId "pub<k>"), a Socket.IO client like the
// others, that emits the playback event `volume_change {volume}` with an ack id; the server sends
// `sync_state {action: "volume", payload: {volume}, timestamp, deviceId, state: {…}}` to every other
// socket of the user and acks the publisher (API.md "Realtime", the playback events). onda does it
// through its playback handlers, which also save the user's state in the MetaStore before the ack
// (a database write per event: what the event costs in production); the peer emits the same shape
// with `socket.to('user:bench')` and acks at once. A message is known by its publisher (deviceId)
// and its number n, sent as volume n / 1e6. The publisher notes the steady-clock time just before
// it sends a message; a client's delivery latency is its receive time minus that (one process, one
// clock).
//
// Phases, in order:
//   1. RSS of --server-pid before any client (VmRSS from /proc/PID/status);
//   2. connect --clients clients (--connect-concurrency at a time), wait --settle seconds, RSS again:
//      (RSS with clients - RSS before) / clients is the memory per idle connection;
//   3. `burst`: --messages messages from --publishers publishers, each emitting its next event when
//      the previous one is acked (as fast as the server takes them; not pipelined): deliveries/s =
//      deliveries / (last delivery - first send);
//   4. `paced`: --paced-messages messages (default: --messages) at --rate messages/s in total: delivery
//      latency at a steady load.
// The publishers connect before their phase starts. Each phase waits until every client has every
// message, or until nothing arrived for --drain seconds. Prints one JSON object: the RSS figures,
// and per phase deliveries, expected, seconds, deliveries_per_s, publish_per_s, p50_ms, p99_ms,
// max_ms, server_cpu_s (the server's user + system CPU time from /proc/PID/stat, from the first send
// to the end of the phase) and deliveries_per_server_cpu_s (deliveries / server_cpu_s: a figure that
// does not depend on how much of the shared cores the load tool took), plus clients connected,
// failed and dropped (closed by the server), and `repeats`: events a client had already seen (not
// counted; there should be none).
//
// How the clients read: each reads into a buffer of its own (4 KiB) with async_read_some, which
// tries the read at once and only then waits, so a wake-up costs one recv for all the messages the
// server merged (up to 4 KiB of them). (Waiting with async_wait and then reading, as this tool first did, costs an
// epoll_ctl per wait besides, because Asio re-arms the descriptor for every wait: 15 % of the tool's
// CPU, when the tool's core is what limits the run; 10,000 buffers of 4 KiB are 40 MiB, of no
// concern here.)
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <fstream>
#include <iterator>
#include <sstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "cli.hpp"

namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using error_code = boost::system::error_code;
using onda::bench::parse_number;
constexpr auto use_result = net::as_tuple(net::use_awaitable);

[[noreturn]] void fail(std::string const& why) { onda::bench::exit_usage_error("socketio_load", why); }

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch()).count();
}

enum class Target { onda, peer };

struct Options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    Target target = Target::onda;
    std::string token;  // onda: a token of user `bench`
    std::size_t clients = 10'000;
    std::size_t messages = 1'000;    // in the burst phase
    std::size_t paced_messages = 0;  // in the paced phase; 0: as many as `messages`
    std::size_t publishers = 4;
    double rate = 20;  // messages/s in the paced phase
    std::size_t threads = 2;
    std::size_t connect_concurrency = 256;
    double settle_seconds = 3;
    double drain_seconds = 10;
    int server_pid = 0;
    std::vector<std::string> phases{"burst", "paced"};
};

// --- what the server runs on ----------------------------------------------------------------------

// The process's user + system CPU time in seconds (/proc/PID/stat fields 14 and 15), 0 when unknown.
double cpu_seconds(int pid) {
    if (pid <= 0) return 0;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    auto const paren = text.rfind(')');  // the command name may hold spaces
    if (paren == std::string::npos) return 0;
    std::istringstream fields(text.substr(paren + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i) {
        if (i == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
        if (i == 15) stime = std::strtoull(field.c_str(), nullptr, 10);
    }
    return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

long rss_kib(int pid) {
    if (pid <= 0) return 0;
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line))
        if (line.starts_with("VmRSS:")) return std::strtol(line.c_str() + 6, nullptr, 10);
    return 0;
}

// --- latency --------------------------------------------------------------------------------------

// Counts per 10 µs up to 30 s (past that: the last bucket). One per thread and phase, added up at the end.
class Histogram {
public:
    static constexpr std::int64_t bucket_ns = 10'000;
    static constexpr std::size_t buckets = 3'000'000;
    Histogram() : counts_(buckets, 0) {}
    void add(std::int64_t ns) {
        auto const i = static_cast<std::size_t>(std::max<std::int64_t>(0, ns) / bucket_ns);
        ++counts_[std::min(i, buckets - 1)];
        ++total_;
    }
    void merge(Histogram const& other) {
        for (std::size_t i = 0; i < buckets; ++i) counts_[i] += other.counts_[i];
        total_ += other.total_;
    }
    // The latency at quantile q (0..1), in ms: the upper edge of the bucket that holds it.
    double quantile_ms(double q) const {
        if (total_ == 0) return 0;
        auto const rank = static_cast<std::uint64_t>(q * static_cast<double>(total_ - 1)) + 1;
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < buckets; ++i) {
            seen += counts_[i];
            if (seen >= rank) return static_cast<double>((i + 1) * bucket_ns) / 1e6;
        }
        return static_cast<double>(buckets * bucket_ns) / 1e6;
    }

private:
    std::vector<std::uint64_t> counts_;
    std::uint64_t total_ = 0;
};

// --- messages -------------------------------------------------------------------------------------

// One publisher stream of one phase: a device of `bench` whose messages are numbered 1..messages
// (sent as volume n / 1e6).
struct Stream {
    std::string device;  // "pub<k>"
    std::size_t phase = 0;
    std::size_t messages = 0;
    std::unique_ptr<std::atomic<std::int64_t>[]> sent_ns;  // [n]: when message n's request went out
};

struct PhaseCounters {
    std::atomic<std::int64_t> first_send_ns{0};
    std::atomic<std::int64_t> last_delivery_ns{0};
};

struct Run;

// A thread's share of the clients, and what they saw.
struct Worker {
    net::io_context io{1};
    std::vector<Histogram> latency;  // per phase
    alignas(64) std::atomic<std::uint64_t> deliveries{0};
    std::atomic<std::uint64_t> repeats{0};
    std::atomic<std::int64_t> last_delivery_ns{0};
};

struct Run {
    Options options;
    tcp::endpoint endpoint;
    std::vector<Stream> streams;
    std::map<std::string, std::size_t, std::less<>> stream_of;  // by device; read-only while clients run
    std::vector<std::unique_ptr<Worker>> workers;
    std::atomic<std::size_t> connected{0};
    std::atomic<std::size_t> failed{0};
    std::atomic<std::size_t> dropped{0};
    std::atomic<std::size_t> connecting{0};
    std::string first_error;
    std::atomic<bool> stopping{false};
};

// `"key":` followed by a JSON number, inside `text`; nullopt when absent or not a number.
std::optional<double> double_field(std::string_view text, std::string_view quoted_key) {
    auto const at = text.find(quoted_key);
    if (at == std::string_view::npos) return std::nullopt;
    auto rest = text.substr(at + quoted_key.size());
    while (!rest.empty() && (rest.front() == ':' || rest.front() == ' ')) rest.remove_prefix(1);
    double value = 0;
    if (std::from_chars(rest.data(), rest.data() + rest.size(), value).ec != std::errc()) return std::nullopt;
    return value;
}

std::optional<std::string_view> string_field(std::string_view text, std::string_view quoted_key) {
    auto const at = text.find(quoted_key);
    if (at == std::string_view::npos) return std::nullopt;
    auto rest = text.substr(at + quoted_key.size());
    auto const open = rest.find('"');
    if (open == std::string_view::npos) return std::nullopt;
    auto const close = rest.find('"', open + 1);
    if (close == std::string_view::npos) return std::nullopt;
    return rest.substr(open + 1, close - open - 1);
}

// The CONNECT's auth of a device of `bench`.
std::string auth_json(Options const& options, std::string_view device) {
    if (options.target == Target::onda)
        return R"({"token":")" + options.token + R"(","deviceId":")" + std::string(device) + R"("})";
    return R"({"sub":"bench","deviceId":")" + std::string(device) + R"("})";
}

// --- one client -----------------------------------------------------------------------------------

// A WebSocket frame from the client (RFC 6455 §5.2): FIN, opcode, masked payload.
std::string client_frame(std::string_view payload, std::uint8_t opcode = 0x1) {
    std::string frame;
    frame.push_back(static_cast<char>(0x80 | opcode));
    if (payload.size() < 126) {
        frame.push_back(static_cast<char>(0x80 | payload.size()));
    } else {
        frame.push_back(static_cast<char>(0x80 | 126));
        frame.push_back(static_cast<char>(payload.size() >> 8));
        frame.push_back(static_cast<char>(payload.size() & 0xff));
    }
    std::array<std::uint8_t, 4> const key{0x37, 0xfa, 0x21, 0x3d};
    for (auto b : key) frame.push_back(static_cast<char>(b));
    for (std::size_t i = 0; i < payload.size(); ++i)
        frame.push_back(static_cast<char>(static_cast<std::uint8_t>(payload[i]) ^ key[i % 4]));
    return frame;
}

class Client {
public:
    Client(Run& run, Worker& worker, std::size_t index)
        : run_(run), worker_(worker), index_(index), socket_(worker.io), last_seen_(run.streams.size(), 0) {}

    net::awaitable<void> run() {
        bool counted = false;
        try {
            co_await open();
            run_.connected.fetch_add(1);
            counted = true;
            run_.connecting.fetch_sub(1);
            co_await read_loop();
        } catch (std::exception const& e) {
            if (!counted) {
                run_.connecting.fetch_sub(1);
                if (run_.failed.fetch_add(1) == 0) run_.first_error = e.what();
            }
        }
        if (counted && !run_.stopping) run_.dropped.fetch_add(1);
    }

    void close() {
        error_code ignored;
        socket_.close(ignored);
    }

private:
    net::awaitable<void> open() {
        co_await socket_.async_connect(run_.endpoint, net::use_awaitable);
        socket_.set_option(tcp::no_delay(true));
        std::string request = "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: " + run_.options.host +
                              "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
        co_await net::async_write(socket_, net::buffer(request), net::use_awaitable);
        net::streambuf head;
        auto const n = co_await net::async_read_until(socket_, head, "\r\n\r\n", net::use_awaitable);
        std::string const text(net::buffers_begin(head.data()), net::buffers_begin(head.data()) + n);
        if (!text.starts_with("HTTP/1.1 101")) throw std::runtime_error("no 101: " + text.substr(0, text.find('\r')));
        head.consume(n);
        // Bytes past the head are the first frames (the open packet); keep them for the reader.
        carry_.assign(net::buffers_begin(head.data()), net::buffers_end(head.data()));
        while (!connected_) {
            bool const parsed = consume_frames();
            co_await flush();
            if (!parsed && !connected_) co_await read_some();
        }
    }

    net::awaitable<void> flush() {
        while (!pending_.empty()) {
            std::string out;
            out.swap(pending_);
            co_await net::async_write(socket_, net::buffer(out), net::use_awaitable);
        }
    }

    net::awaitable<void> read_some() {
        std::size_t const n = co_await socket_.async_read_some(net::buffer(buffer_), net::use_awaitable);
        carry_.append(buffer_.data(), n);
    }

    net::awaitable<void> read_loop() {
        for (;;) {
            consume_frames();
            co_await flush();
            co_await read_some();
        }
    }

    // Parses the whole frames in carry_, keeps the rest; false when nothing whole was there.
    bool consume_frames() {
        std::size_t at = 0;
        bool any = false;
        for (;;) {
            std::string_view const rest(carry_.data() + at, carry_.size() - at);
            if (rest.size() < 2) break;
            auto const b0 = static_cast<std::uint8_t>(rest[0]);
            auto const b1 = static_cast<std::uint8_t>(rest[1]);
            std::uint64_t length = b1 & 0x7f;
            std::size_t header = 2;
            if (length == 126) {
                if (rest.size() < 4) break;
                length = (static_cast<std::uint64_t>(static_cast<std::uint8_t>(rest[2])) << 8) |
                         static_cast<std::uint8_t>(rest[3]);
                header = 4;
            } else if (length == 127) {
                if (rest.size() < 10) break;
                length = 0;
                for (int i = 2; i < 10; ++i) length = (length << 8) | static_cast<std::uint8_t>(rest[i]);
                header = 10;
            }
            if (b1 & 0x80) throw std::runtime_error("a masked frame from the server");
            if (rest.size() < header + length) break;
            on_frame(b0 & 0x0f, (b0 & 0x80) != 0, rest.substr(header, length));
            at += header + length;
            any = true;
        }
        carry_.erase(0, at);
        if (carry_.capacity() > 4096 && carry_.size() < 1024) carry_.shrink_to_fit();
        return any;
    }

    void on_frame(std::uint8_t opcode, bool fin, std::string_view payload) {
        switch (opcode) {
        case 0x0:  // a continuation
            message_.append(payload);
            if (fin) {
                on_message(message_);
                message_.clear();
            }
            return;
        case 0x1:
        case 0x2:
            if (fin) return on_message(payload);
            message_.assign(payload);
            return;
        case 0x8: throw std::runtime_error("the server closed the WebSocket");
        case 0x9: pending_ += client_frame(payload, 0xA); return;
        default: return;
        }
    }

    // One Engine.IO packet: 0 open, 2 ping, 4 message (+ Socket.IO 0 CONNECT, 2 EVENT, 4 CONNECT_ERROR).
    void on_message(std::string_view packet) {
        if (packet.empty()) return;
        switch (packet[0]) {
        case '0': {
            std::string auth = run_.options.target == Target::onda
                                   ? auth_json(run_.options, "d" + std::to_string(index_))
                                   : std::string(R"({"sub":"bench"})");
            pending_ += client_frame("40" + auth);
            return;
        }
        case '2': pending_ += client_frame("3"); return;
        case '1': throw std::runtime_error("the server closed the session");
        case '4': break;
        default: return;
        }
        if (packet.size() < 2) return;
        if (packet[1] == '0') {
            connected_ = true;
            return;
        }
        if (packet[1] == '4') throw std::runtime_error("connect_error: " + std::string(packet.substr(0, 200)));
        if (packet[1] == '1') throw std::runtime_error("disconnected by the server");
        if (packet[1] == '2' && packet.starts_with(R"(42["sync_state",{"action":"volume")")) on_sync(packet);
    }

    void on_sync(std::string_view packet) {
        auto const now = now_ns();
        auto const device = string_field(packet, R"("deviceId")");
        // The payload's, first (`"volume":`, not the action's value "volume").
        auto const volume = double_field(packet, R"("volume":)");
        if (!device || !volume) return;
        auto it = run_.stream_of.find(*device);
        if (it == run_.stream_of.end()) return;
        Stream& stream = run_.streams[it->second];
        auto const n = static_cast<std::uint64_t>(std::llround(*volume * 1e6));
        if (n == 0 || n > stream.messages) return;
        std::uint32_t& last = last_seen_[it->second];
        if (n <= last) {
            worker_.repeats.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        last = static_cast<std::uint32_t>(n);
        auto const sent = stream.sent_ns[n].load(std::memory_order_acquire);
        worker_.latency[stream.phase].add(sent > 0 ? now - sent : 0);
        worker_.deliveries.fetch_add(1, std::memory_order_relaxed);
        worker_.last_delivery_ns.store(now, std::memory_order_relaxed);
    }

    Run& run_;
    Worker& worker_;
    std::size_t index_;
    tcp::socket socket_;
    static constexpr std::size_t read_buffer_bytes = 4096;
    std::vector<char> buffer_ = std::vector<char>(read_buffer_bytes);  // what a read fills
    std::string carry_;                                                // an incomplete frame
    std::string message_;                                              // a fragmented message so far
    std::string pending_;                                              // frames to send (pongs, the CONNECT)
    bool connected_ = false;
    std::vector<std::uint32_t> last_seen_;  // per stream: the highest message number delivered
};

// --- the publisher --------------------------------------------------------------------------------

// One device of `bench` that emits events and waits for their acks: a Socket.IO client over a
// blocking WebSocket, used from one thread.
class Publisher {
public:
    Publisher(Run const& run, std::string const& device) : socket_(io_) {
        socket_.connect(run.endpoint);
        socket_.set_option(tcp::no_delay(true));
        std::string const request = "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: " + run.options.host +
                                    "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
        net::write(socket_, net::buffer(request));
        net::streambuf head;
        auto const n = net::read_until(socket_, head, "\r\n\r\n");
        std::string const text(net::buffers_begin(head.data()), net::buffers_begin(head.data()) + n);
        if (!text.starts_with("HTTP/1.1 101")) fail("publisher: no 101: " + text.substr(0, text.find('\r')));
        head.consume(n);
        carry_.assign(net::buffers_begin(head.data()), net::buffers_end(head.data()));
        if (!next_packet().starts_with('0')) fail("publisher: no Engine.IO open packet");
        send("40" + auth_json(run.options, device));
        for (;;) {
            auto const packet = next_packet();
            if (packet.starts_with("40")) break;
            if (packet.starts_with("44")) fail("publisher: connect_error: " + packet.substr(0, 200));
        }
    }

    // Emits `42<id><args>` and returns once its ack `43<id>[…]` arrived; an ack {ok: false} fails.
    void emit_and_wait(std::uint64_t id, std::string_view args) {
        std::string const ack = "43" + std::to_string(id) + "[";
        send("42" + std::to_string(id) + std::string(args));
        for (;;) {
            auto const packet = next_packet();
            if (!packet.starts_with(ack)) continue;  // sync_state of other publishers, …
            if (packet.find(R"("ok":false)") != std::string::npos) fail("publisher: refused: " + packet.substr(0, 200));
            return;
        }
    }

private:
    void send(std::string_view packet) { net::write(socket_, net::buffer(client_frame(packet))); }

    // The next Engine.IO packet from the server; pings are answered on the way.
    std::string next_packet() {
        for (;;) {
            std::string_view const rest(carry_);
            if (rest.size() >= 2) {
                std::uint64_t length = static_cast<std::uint8_t>(rest[1]) & 0x7f;
                std::size_t header = 2;
                if (length == 126 && rest.size() >= 4) {
                    length = (static_cast<std::uint64_t>(static_cast<std::uint8_t>(rest[2])) << 8) |
                             static_cast<std::uint8_t>(rest[3]);
                    header = 4;
                } else if (length == 127 && rest.size() >= 10) {
                    length = 0;
                    for (int i = 2; i < 10; ++i) length = (length << 8) | static_cast<std::uint8_t>(rest[i]);
                    header = 10;
                } else if (length >= 126) {
                    header = 0;  // the extended length is not here yet
                }
                if (header > 0 && rest.size() >= header + length) {
                    auto const opcode = static_cast<std::uint8_t>(rest[0]) & 0x0f;
                    std::string payload(rest.substr(header, length));
                    carry_.erase(0, header + length);
                    if (opcode == 0x8) fail("publisher: the server closed the WebSocket");
                    if (opcode == 0x9) {
                        net::write(socket_, net::buffer(client_frame(payload, 0xA)));
                        continue;
                    }
                    if (opcode != 0x1) continue;  // no binary or fragmented messages are expected here
                    if (payload == "2") {
                        send("3");
                        continue;
                    }
                    if (payload.starts_with('1')) fail("publisher: the server closed the session");
                    return payload;
                }
            }
            std::array<char, 64 * 1024> buffer;
            carry_.append(buffer.data(), socket_.read_some(net::buffer(buffer)));
        }
    }

    net::io_context io_;
    tcp::socket socket_;
    std::string carry_;
};

std::size_t phase_messages(Options const& options, std::size_t phase) {
    bool const paced = options.phases[phase] == "paced";
    return paced && options.paced_messages > 0 ? options.paced_messages : options.messages;
}

// One stream per publisher and phase.
void create_streams(Run& run) {
    for (std::size_t phase = 0; phase < run.options.phases.size(); ++phase) {
        for (std::size_t k = 0; k < run.options.publishers; ++k) {
            Stream stream;
            stream.phase = phase;
            std::size_t const total = phase_messages(run.options, phase);
            stream.messages = total / run.options.publishers + (k < total % run.options.publishers ? 1 : 0);
            stream.sent_ns = std::make_unique<std::atomic<std::int64_t>[]>(stream.messages + 1);
            stream.device = "pub" + std::to_string(run.streams.size());
            run.stream_of.emplace(stream.device, run.streams.size());
            run.streams.push_back(std::move(stream));
        }
    }
}

// The phase's publishers, one thread each, connected first; `rate` 0: each emits as soon as its
// previous event is acked.
void publish_phase(Run& run, std::size_t phase, double rate, PhaseCounters& counters) {
    std::size_t const k_count = run.options.publishers;
    std::vector<std::unique_ptr<Publisher>> publishers;
    for (std::size_t k = 0; k < k_count; ++k)
        publishers.push_back(std::make_unique<Publisher>(run, run.streams[phase * k_count + k].device));
    std::vector<std::thread> threads;
    auto const start = SteadyClock::now();
    counters.first_send_ns = now_ns();
    for (std::size_t k = 0; k < k_count; ++k) {
        Stream& stream = run.streams[phase * k_count + k];
        threads.emplace_back([&stream, &publisher = *publishers[k], rate, start, k, k_count] {
            char args[96];
            for (std::size_t n = 1; n <= stream.messages; ++n) {
                if (rate > 0) {
                    // Message n of stream k is the (n - 1) * K + k-th of the phase, evenly spaced.
                    auto const index = static_cast<double>((n - 1) * k_count + k);
                    std::this_thread::sleep_until(start + std::chrono::duration_cast<SteadyClock::duration>(
                                                              std::chrono::duration<double>(index / rate)));
                }
                std::snprintf(args, sizeof args, R"(["volume_change",{"volume":%.6f}])", static_cast<double>(n) / 1e6);
                stream.sent_ns[n].store(now_ns(), std::memory_order_release);
                publisher.emit_and_wait(n, args);
            }
        });
    }
    for (auto& thread : threads) thread.join();
}

std::uint64_t total_deliveries(Run const& run) {
    std::uint64_t total = 0;
    for (auto const& worker : run.workers) total += worker->deliveries.load(std::memory_order_relaxed);
    return total;
}

// Until `expected` deliveries in all, or nothing new for drain_seconds.
void wait_deliveries(Run const& run, std::uint64_t expected) {
    auto last_progress = SteadyClock::now();
    std::uint64_t last = total_deliveries(run);
    while (last < expected) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        auto const now_total = total_deliveries(run);
        if (now_total != last) {
            last = now_total;
            last_progress = SteadyClock::now();
        } else if (SteadyClock::now() - last_progress > std::chrono::duration<double>(run.options.drain_seconds)) {
            return;
        }
    }
}

// --- the run --------------------------------------------------------------------------------------

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
        else if (flag == "--target") {
            if (value != "onda" && value != "peer") fail("--target is onda or peer");
            o.target = value == "onda" ? Target::onda : Target::peer;
        } else if (flag == "--token")
            o.token = value;
        else if (flag == "--clients")
            number(o.clients);
        else if (flag == "--messages")
            number(o.messages);
        else if (flag == "--paced-messages")
            number(o.paced_messages);
        else if (flag == "--publishers")
            number(o.publishers);
        else if (flag == "--rate")
            number(o.rate);
        else if (flag == "--threads")
            number(o.threads);
        else if (flag == "--connect-concurrency")
            number(o.connect_concurrency);
        else if (flag == "--settle")
            number(o.settle_seconds);
        else if (flag == "--drain")
            number(o.drain_seconds);
        else if (flag == "--server-pid")
            number(o.server_pid);
        else if (flag == "--phases") {
            o.phases.clear();
            std::string_view rest = value;
            while (!rest.empty()) {
                auto const comma = rest.find(',');
                auto const phase = rest.substr(0, comma);
                if (phase != "burst" && phase != "paced") fail("--phases: burst and/or paced");
                o.phases.emplace_back(phase);
                rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
            }
        } else
            fail("unknown flag " + std::string(flag));
    }
    if (o.port == 0) fail("--port is required");
    if (o.target == Target::onda && o.token.empty()) fail("--target onda needs --token (a token of user bench)");
    if (o.clients == 0 || o.threads == 0 || o.publishers == 0 || o.messages < o.publishers)
        fail("--clients, --threads, --publishers must be positive and --messages at least --publishers");
    if (o.rate <= 0) fail("--rate must be positive");
    return o;
}

// Starts clients on their threads, at most connect_concurrency connecting at a time.
void connect_clients(Run& run, std::vector<std::unique_ptr<Client>>& clients) {
    for (std::size_t i = 0; i < run.options.clients; ++i) {
        while (run.connecting.load() >= run.options.connect_concurrency)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        Worker& worker = *run.workers[i % run.workers.size()];
        clients.push_back(std::make_unique<Client>(run, worker, i));
        run.connecting.fetch_add(1);
        Client& client = *clients.back();
        net::co_spawn(
            worker.io, [&client]() { return client.run(); }, net::detached);
    }
    while (run.connecting.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

}  // namespace

int main(int argc, char** argv) {
    Run run;
    run.options = parse_options(argc, argv);
    onda::bench::raise_open_file_limit();
    error_code ec;
    run.endpoint = tcp::endpoint(net::ip::make_address(run.options.host, ec), run.options.port);
    if (ec) fail("bad --host " + run.options.host + ": " + ec.message());
    std::size_t const phase_count = run.options.phases.size();

    create_streams(run);
    for (std::size_t t = 0; t < run.options.threads; ++t) {
        auto worker = std::make_unique<Worker>();
        worker->latency.resize(phase_count);
        run.workers.push_back(std::move(worker));
    }
    std::vector<std::thread> threads;
    std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
    for (auto& worker : run.workers) {
        guards.push_back(net::make_work_guard(worker->io));
        threads.emplace_back([&io = worker->io] { io.run(); });
    }

    long const rss_before = rss_kib(run.options.server_pid);
    auto const connect_start = SteadyClock::now();
    std::vector<std::unique_ptr<Client>> clients;
    connect_clients(run, clients);
    double const connect_seconds = std::chrono::duration<double>(SteadyClock::now() - connect_start).count();
    std::this_thread::sleep_for(std::chrono::duration<double>(run.options.settle_seconds));
    long const rss_clients = rss_kib(run.options.server_pid);
    std::size_t const connected = run.connected.load();
    std::fprintf(stderr, "socketio_load: %zu clients connected in %.1f s (%zu failed%s%s)\n", connected,
                 connect_seconds, run.failed.load(), run.failed ? ": " : "", run.first_error.c_str());

    if (connected == 0) {
        std::fprintf(stderr, "socketio_load: no client connected\n");
        return 1;
    }
    std::string phases_json;
    for (std::size_t phase = 0; phase < phase_count; ++phase) {
        bool const paced = run.options.phases[phase] == "paced";
        PhaseCounters counters;
        std::uint64_t const before = total_deliveries(run);
        std::uint64_t const live = run.connected.load() - run.dropped.load();
        std::size_t const messages = phase_messages(run.options, phase);
        std::uint64_t const expected = live * messages;
        double const cpu_before = cpu_seconds(run.options.server_pid);
        publish_phase(run, phase, paced ? run.options.rate : 0, counters);
        double const publish_seconds = static_cast<double>(now_ns() - counters.first_send_ns) / 1e9;
        wait_deliveries(run, before + expected);
        double const server_cpu = cpu_seconds(run.options.server_pid) - cpu_before;
        std::int64_t last_delivery = 0;
        for (auto const& worker : run.workers) last_delivery = std::max(last_delivery, worker->last_delivery_ns.load());
        std::uint64_t const deliveries = total_deliveries(run) - before;
        double const seconds = static_cast<double>(last_delivery - counters.first_send_ns) / 1e9;
        Histogram latency;
        for (auto const& worker : run.workers) latency.merge(worker->latency[phase]);
        char line[640];
        std::snprintf(line, sizeof line,
                      R"({"phase":"%s","messages":%zu,"deliveries":%llu,"expected":%llu,"seconds":%.3f,)"
                      R"("deliveries_per_s":%.0f,"publish_per_s":%.1f,"p50_ms":%.2f,"p99_ms":%.2f,"max_ms":%.2f,)"
                      R"("server_cpu_s":%.2f,"deliveries_per_server_cpu_s":%.0f})",
                      run.options.phases[phase].c_str(), messages, static_cast<unsigned long long>(deliveries),
                      static_cast<unsigned long long>(expected), seconds,
                      seconds > 0 ? static_cast<double>(deliveries) / seconds : 0.0,
                      static_cast<double>(messages) / publish_seconds, latency.quantile_ms(0.5),
                      latency.quantile_ms(0.99), latency.quantile_ms(1.0), server_cpu,
                      server_cpu > 0 ? static_cast<double>(deliveries) / server_cpu : 0.0);
        std::fprintf(stderr, "socketio_load: %s\n", line);
        if (!phases_json.empty()) phases_json += ",";
        phases_json += line;
    }
    long const rss_after = rss_kib(run.options.server_pid);
    std::uint64_t repeats = 0;
    for (auto const& worker : run.workers) repeats += worker->repeats.load();

    run.stopping = true;
    for (std::size_t t = 0; t < run.workers.size(); ++t)
        net::post(run.workers[t]->io, [&clients, t, &run] {
            for (std::size_t i = t; i < clients.size(); i += run.workers.size()) clients[i]->close();
        });
    guards.clear();
    for (auto& thread : threads) thread.join();

    double const per_connection =
        connected > 0 ? static_cast<double>(rss_clients - rss_before) * 1024.0 / static_cast<double>(connected) : 0.0;
    std::printf(R"({"target":"%s","clients":%zu,"connected":%zu,"failed":%zu,"dropped":%zu,"repeats":%llu,)"
                R"("connect_seconds":%.1f,"rss_before_kib":%ld,"rss_clients_kib":%ld,"rss_after_kib":%ld,)"
                R"("rss_per_connection_bytes":%.0f,"phases":[%s]})"
                "\n",
                run.options.target == Target::onda ? "onda" : "peer", run.options.clients, connected, run.failed.load(),
                run.dropped.load(), static_cast<unsigned long long>(repeats), connect_seconds, rss_before, rss_clients,
                rss_after, per_connection, phases_json.c_str());
    return 0;
}
