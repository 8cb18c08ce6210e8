// tus_upload: a tus 1.0.0 upload client for bench/run_tus_bench.sh (onda beside @tus/server). libcurl,
// one easy handle, so every request of an upload goes over the same keep-alive connection.
//
//   tus_upload --url http://127.0.0.1:P/v1/uploads --file F [--chunk BYTES] [--token T] [--repeat N]
//              [--warmup N] [--filename NAME] [--filetype TYPE] [--delete] [--upload-buffer BYTES]
//
// One upload: POST --url with Tus-Resumable: 1.0.0, Upload-Length (the file's size) and
// Upload-Metadata (filename and filetype, base64); the answer must be 201 with a Location, absolute or
// relative (resolved against --url as RFC 3986 says). Then PATCHes to that URL with
// Content-Type: application/offset+octet-stream and Upload-Offset, each carrying the next --chunk bytes
// of the file (default 5 MiB = 5,242,880 bytes; the last one is shorter), read from the file while curl
// sends them (CURLOPT_READFUNCTION, pread), so the file is never held in memory. Each answer must be 204
// with Upload-Offset equal to the offset sent plus the bytes sent. `Expect: 100-continue` is switched off
// (as browsers and tus-js-client do); --token adds `Authorization: Bearer T` to every request.
//
// Timing: from just before the POST to the last 204, so the server's work on completion (onda probes
// the finished upload and makes it a media object inside the last PATCH) is in it. Per-chunk latency is
// each PATCH from the start of its request to its answer. MB = 10^6 bytes.
//
// --warmup N uploads N times first without counting them; --repeat N then measures N uploads one after
// another. --delete removes each upload once it is timed: DELETE on the upload URL (tus termination),
// and when the last PATCH named an onda media object (Onda-Media-Id), DELETE /v1/media/{id} on the same
// origin, so repeated 1 GiB uploads do not fill the disk.
//
// Output: one line per upload on stderr for people; on stdout one JSON object per measured upload
//   {"run":1,"bytes":...,"chunk":...,"chunks":...,"seconds":...,"mb_per_s":...,"p50_ms":...,"p99_ms":...,
//    "last_chunk_ms":...,"client_cpu_pct":...,"location":"...","media_id":"..."}
// and a last line summing them up:
//   {"runs":N,"bytes":...,"chunk":...,"mb_per_s_best":...,"mb_per_s_median":...,"mb_per_s":[...],
//    "p50_ms":...,"p99_ms":...}
// (p50/p99 over every chunk of every measured upload). Exit status 0, or 2 with the reason on stderr.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <curl/curl.h>

#include "cli.hpp"

namespace {

using onda::bench::exit_usage_error;
using onda::bench::parse_number;
using onda::bench::parse_size;

using Clock = std::chrono::steady_clock;

constexpr std::uint64_t default_chunk_bytes = 5 * 1024 * 1024;  // 5 MiB

struct Options {
    std::string url;
    std::string file;
    std::uint64_t chunk = default_chunk_bytes;
    std::string token;
    unsigned repeat = 1;
    unsigned warmup = 0;
    std::string filename;  // default: the file's base name
    std::string filetype;  // default: from the file's extension
    bool delete_after = false;
    long upload_buffer = 512 * 1024;  // curl's send buffer (CURLOPT_UPLOAD_BUFFERSIZE): bytes per read and send
};

[[noreturn]] void fail(std::string const& why) { exit_usage_error("tus_upload", why); }

std::string base64(std::string_view in) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        std::uint32_t const v = std::uint32_t(std::uint8_t(in[i])) << 16 | std::uint32_t(std::uint8_t(in[i + 1])) << 8 |
                                std::uint8_t(in[i + 2]);
        for (int s = 18; s >= 0; s -= 6) out += alphabet[(v >> s) & 63];
    }
    if (std::size_t const rest = in.size() - i; rest > 0) {
        std::uint32_t v = std::uint32_t(std::uint8_t(in[i])) << 16;
        if (rest == 2) v |= std::uint32_t(std::uint8_t(in[i + 1])) << 8;
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += rest == 2 ? alphabet[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

std::string guess_type(std::string_view name) {
    auto dot = name.rfind('.');
    std::string ext(dot == name.npos ? "" : name.substr(dot + 1));
    for (auto& c : ext) c = static_cast<char>(c | 0x20);
    if (ext == "wav") return "audio/wav";
    if (ext == "mp3") return "audio/mpeg";
    if (ext == "flac") return "audio/flac";
    if (ext == "ogg" || ext == "opus") return "audio/ogg";
    if (ext == "m4a") return "audio/mp4";
    if (ext == "mp4") return "video/mp4";
    if (ext == "webm") return "video/webm";
    if (ext == "mkv") return "video/x-matroska";
    return "application/octet-stream";
}

std::string json_escape(std::string_view in) {
    std::string out;
    for (char c : in) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) < 0x20) continue;  // URLs and ids have none; drop rather than encode
        out += c;
    }
    return out;
}

// The answer to one request: its status and the few header fields tus needs (names compared in lower case).
struct Response {
    long status = 0;
    std::optional<std::string> location;
    std::optional<std::uint64_t> upload_offset;
    std::optional<std::string> media_id;  // Onda-Media-Id, on onda's last PATCH
    std::string body;                     // kept short: only for error messages
};

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
    auto& response = *static_cast<Response*>(user);
    std::string_view line(data, size * count);
    // A new status line (after a 100 Continue, say) starts a new set of fields.
    if (line.starts_with("HTTP/")) {
        response = Response{};
        return size * count;
    }
    auto colon = line.find(':');
    if (colon == line.npos) return size * count;
    std::string name(line.substr(0, colon));
    for (auto& c : name) c = static_cast<char>(c | 0x20);
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
        value.remove_suffix(1);
    if (name == "location")
        response.location = std::string(value);
    else if (name == "upload-offset")
        response.upload_offset = parse_number<std::uint64_t>(value);
    else if (name == "onda-media-id")
        response.media_id = std::string(value);
    return size * count;
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
    auto& response = *static_cast<Response*>(user);
    std::size_t const n = size * count;
    if (response.body.size() < 512) response.body.append(data, std::min<std::size_t>(n, 512 - response.body.size()));
    return n;
}

// Where the read callback takes the bytes of the current PATCH from.
struct ChunkSource {
    int fd = -1;
    std::uint64_t offset = 0;     // next file offset to read
    std::uint64_t remaining = 0;  // bytes of this chunk still to hand to curl
    bool failed = false;
};

std::size_t on_read(char* buffer, std::size_t size, std::size_t count, void* user) {
    auto& source = *static_cast<ChunkSource*>(user);
    std::size_t const want = static_cast<std::size_t>(std::min<std::uint64_t>(size * count, source.remaining));
    std::size_t have = 0;
    while (have < want) {
        ssize_t const n = pread(source.fd, buffer + have, want - have, static_cast<off_t>(source.offset + have));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            source.failed = true;
            return CURL_READFUNC_ABORT;
        }
        have += static_cast<std::size_t>(n);
    }
    source.offset += have;
    source.remaining -= have;
    return have;
}

double percentile(std::vector<double> values, double p) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    auto const rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
    return values[std::min(values.size() - 1, rank == 0 ? 0 : rank - 1)];
}

double cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](timeval t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

struct RunResult {
    std::uint64_t chunks = 0;
    double seconds = 0;
    double client_cpu_seconds = 0;
    std::vector<double> latencies_ms;
    std::string location;
    std::string media_id;
};

class Uploader {
public:
    Uploader(Options const& options, int fd, std::uint64_t size) : options_(options), fd_(fd), size_(size) {
        curl_ = curl_easy_init();
        if (!curl_) fail("curl_easy_init failed");
        std::string const name = options.filename.empty() ? base_name(options.file) : options.filename;
        std::string const type = options.filetype.empty() ? guess_type(name) : options.filetype;
        metadata_ = "filename " + base64(name) + ",filetype " + base64(type);
        if (!options.token.empty()) auth_ = "Authorization: Bearer " + options.token;
    }
    ~Uploader() { curl_easy_cleanup(curl_); }
    Uploader(Uploader const&) = delete;
    Uploader& operator=(Uploader const&) = delete;

    RunResult upload() {
        RunResult result;
        double const cpu_before = cpu_seconds();
        auto const started = Clock::now();

        // Creation.
        reset(options_.url);
        curl_easy_setopt(curl_, CURLOPT_POST, 1L);
        curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t{0});
        curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, "");
        Headers create_headers = common_headers();
        create_headers.add("Upload-Length: " + std::to_string(size_));
        create_headers.add("Upload-Metadata: " + metadata_);
        create_headers.add("Content-Type:");  // curl would send application/x-www-form-urlencoded for an empty POST
        Response const created = perform(create_headers, "POST " + options_.url);
        if (created.status != 201) fail("POST " + options_.url + ": status " + describe(created));
        if (!created.location) fail("POST " + options_.url + ": 201 without Location");
        result.location = resolve(options_.url, *created.location);

        // The chunks.
        std::uint64_t offset = 0;
        while (offset < size_) {
            std::uint64_t const length = std::min(options_.chunk, size_ - offset);
            ChunkSource source{.fd = fd_, .offset = offset, .remaining = length};
            reset(result.location);
            curl_easy_setopt(curl_, CURLOPT_UPLOAD, 1L);
            curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, "PATCH");
            curl_easy_setopt(curl_, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(length));
            curl_easy_setopt(curl_, CURLOPT_READFUNCTION, on_read);
            curl_easy_setopt(curl_, CURLOPT_READDATA, &source);
            Headers patch_headers = common_headers();
            patch_headers.add("Content-Type: application/offset+octet-stream");
            patch_headers.add("Upload-Offset: " + std::to_string(offset));
            auto const sent = Clock::now();
            Response const patched = perform(patch_headers, "PATCH at offset " + std::to_string(offset));
            result.latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - sent).count());
            if (source.failed) fail("reading " + options_.file + " at " + std::to_string(source.offset) + " failed");
            std::string const where = "PATCH " + result.location + " at offset " + std::to_string(offset);
            if (patched.status != 204) fail(where + ": status " + describe(patched));
            if (!patched.upload_offset) fail(where + ": 204 without a valid Upload-Offset");
            if (*patched.upload_offset != offset + length)
                fail(where + ": Upload-Offset " + std::to_string(*patched.upload_offset) + ", expected " +
                     std::to_string(offset + length));
            offset += length;
            ++result.chunks;
            if (patched.media_id) result.media_id = *patched.media_id;
        }
        result.seconds = std::chrono::duration<double>(Clock::now() - started).count();
        result.client_cpu_seconds = cpu_seconds() - cpu_before;
        return result;
    }

    // Not timed: the tus termination of the upload, then onda's media object if there is one.
    void remove(RunResult const& run) {
        remove_one(run.location, {204, 404, 410});  // a completed upload may already be gone
        if (run.media_id.empty()) return;
        CURLU* url = curl_url();
        char* origin = nullptr;
        curl_url_set(url, CURLUPART_URL, run.location.c_str(), 0);
        curl_url_set(url, CURLUPART_PATH, ("/v1/media/" + run.media_id).c_str(), 0);
        curl_url_set(url, CURLUPART_QUERY, nullptr, 0);
        if (curl_url_get(url, CURLUPART_URL, &origin, 0) != CURLUE_OK) fail("cannot build the media URL");
        std::string const media_url = origin;
        curl_free(origin);
        curl_url_cleanup(url);
        remove_one(media_url, {200, 204});
    }

private:
    // A curl_slist that frees itself.
    class Headers {
    public:
        Headers() = default;
        Headers(Headers&& other) noexcept : list_(std::exchange(other.list_, nullptr)) {}
        Headers(Headers const&) = delete;
        Headers& operator=(Headers const&) = delete;
        ~Headers() { curl_slist_free_all(list_); }
        void add(std::string const& line) {
            curl_slist* next = curl_slist_append(list_, line.c_str());
            if (!next) fail("out of memory");
            list_ = next;
        }
        curl_slist* get() const { return list_; }

    private:
        curl_slist* list_ = nullptr;
    };

    static std::string base_name(std::string const& path) {
        auto slash = path.rfind('/');
        return slash == path.npos ? path : path.substr(slash + 1);
    }

    static std::string describe(Response const& response) {
        return std::to_string(response.status) + (response.body.empty() ? "" : " (" + response.body + ")");
    }

    // Location may be absolute ("http://..."), absolute-path ("/files/id") or relative ("id"): curl's URL
    // API resolves it against the creation URL as RFC 3986 says.
    static std::string resolve(std::string const& base, std::string const& location) {
        CURLU* url = curl_url();
        char* out = nullptr;
        if (curl_url_set(url, CURLUPART_URL, base.c_str(), 0) != CURLUE_OK ||
            curl_url_set(url, CURLUPART_URL, location.c_str(), 0) != CURLUE_OK ||
            curl_url_get(url, CURLUPART_URL, &out, 0) != CURLUE_OK)
            fail("cannot resolve Location '" + location + "' against " + base);
        std::string resolved = out;
        curl_free(out);
        curl_url_cleanup(url);
        return resolved;
    }

    Headers common_headers() const {
        Headers headers;
        headers.add("Tus-Resumable: 1.0.0");
        headers.add("Expect:");
        if (!auth_.empty()) headers.add(auth_);
        return headers;
    }

    // The handle keeps its connection between requests; only the per-request options are set again.
    void reset(std::string const& url) {
        curl_easy_reset(curl_);
        curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
        curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl_, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(curl_, CURLOPT_UPLOAD_BUFFERSIZE, options_.upload_buffer);
        curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(curl_, CURLOPT_TIMEOUT, 600L);
    }

    Response perform(Headers const& headers, std::string const& what) {
        Response response;
        curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers.get());
        curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &response);
        curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &response);
        CURLcode const code = curl_easy_perform(curl_);
        if (code != CURLE_OK) fail(what + ": " + curl_easy_strerror(code));
        curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &response.status);
        return response;
    }

    void remove_one(std::string const& url, std::initializer_list<long> accepted) {
        reset(url);
        curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, "DELETE");
        Headers headers = common_headers();
        Response const deleted = perform(headers, "DELETE " + url);
        if (std::find(accepted.begin(), accepted.end(), deleted.status) == accepted.end())
            fail("DELETE " + url + ": status " + describe(deleted));
    }

    Options const& options_;
    int fd_;
    std::uint64_t size_;
    CURL* curl_ = nullptr;
    std::string metadata_;
    std::string auth_;
};

Options parse_options(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string_view const flag = argv[i];
        if (flag == "--delete") {
            o.delete_after = true;
            continue;
        }
        if (i + 1 >= argc) fail("missing value after " + std::string(flag));
        std::string_view const value = argv[++i];
        auto number = [&]<class N>(N& out) {
            auto parsed = parse_number<N>(value);
            if (!parsed) fail("bad number for " + std::string(flag) + ": " + std::string(value));
            out = *parsed;
        };
        auto size = [&](auto& out) {
            auto parsed = parse_size(value);
            if (!parsed || *parsed == 0) fail("bad size for " + std::string(flag) + ": " + std::string(value));
            out = static_cast<std::remove_reference_t<decltype(out)>>(*parsed);
        };
        if (flag == "--url")
            o.url = value;
        else if (flag == "--file")
            o.file = value;
        else if (flag == "--chunk")
            size(o.chunk);
        else if (flag == "--token")
            o.token = value;
        else if (flag == "--repeat")
            number(o.repeat);
        else if (flag == "--warmup")
            number(o.warmup);
        else if (flag == "--filename")
            o.filename = value;
        else if (flag == "--filetype")
            o.filetype = value;
        else if (flag == "--upload-buffer")
            size(o.upload_buffer);
        else
            fail("unknown flag " + std::string(flag));
    }
    if (o.url.empty() || o.file.empty()) fail("--url and --file are required");
    if (o.repeat == 0) fail("--repeat must be at least 1");
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    Options const options = parse_options(argc, argv);
    int const fd = open(options.file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail("cannot open " + options.file + ": " + std::strerror(errno));
    struct stat info {};
    if (fstat(fd, &info) != 0 || info.st_size <= 0) fail(options.file + " is empty or unreadable");
    auto const size = static_cast<std::uint64_t>(info.st_size);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) fail("curl_global_init failed");

    std::vector<double> rates;
    std::vector<double> all_latencies;
    {
        Uploader uploader(options, fd, size);
        for (unsigned i = 0; i < options.warmup + options.repeat; ++i) {
            bool const warmup = i < options.warmup;
            RunResult const run = uploader.upload();
            double const rate = static_cast<double>(size) / run.seconds / 1e6;
            double const p50 = percentile(run.latencies_ms, 50), p99 = percentile(run.latencies_ms, 99);
            double const cpu = 100 * run.client_cpu_seconds / run.seconds;
            std::fprintf(stderr,
                         "tus_upload: %s %u: %llu bytes in %.3f s = %.1f MB/s; %llu chunks, p50 %.2f ms, p99 %.2f "
                         "ms, last %.2f ms; client cpu %.0f%%\n",
                         warmup ? "warm-up" : "run", warmup ? i + 1 : i - options.warmup + 1,
                         static_cast<unsigned long long>(size), run.seconds, rate,
                         static_cast<unsigned long long>(run.chunks), p50, p99, run.latencies_ms.back(), cpu);
            if (!warmup) {
                rates.push_back(rate);
                all_latencies.insert(all_latencies.end(), run.latencies_ms.begin(), run.latencies_ms.end());
                std::printf(
                    "{\"run\":%u,\"bytes\":%llu,\"chunk\":%llu,\"chunks\":%llu,\"seconds\":%.3f,\"mb_per_s\":%.1f,"
                    "\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"last_chunk_ms\":%.2f,\"client_cpu_pct\":%.0f,"
                    "\"location\":\"%s\",\"media_id\":\"%s\"}\n",
                    i - options.warmup + 1, static_cast<unsigned long long>(size),
                    static_cast<unsigned long long>(options.chunk), static_cast<unsigned long long>(run.chunks),
                    run.seconds, rate, p50, p99, run.latencies_ms.back(), cpu, json_escape(run.location).c_str(),
                    json_escape(run.media_id).c_str());
                std::fflush(stdout);
            }
            if (options.delete_after) uploader.remove(run);
        }
    }
    close(fd);
    curl_global_cleanup();

    std::vector<double> sorted = rates;
    std::sort(sorted.begin(), sorted.end());
    double const median =
        sorted.size() % 2 ? sorted[sorted.size() / 2] : (sorted[sorted.size() / 2 - 1] + sorted[sorted.size() / 2]) / 2;
    std::printf(
        "{\"runs\":%zu,\"bytes\":%llu,\"chunk\":%llu,\"mb_per_s_best\":%.1f,\"mb_per_s_median\":%.1f,\"mb_per_s\":[",
        rates.size(), static_cast<unsigned long long>(size), static_cast<unsigned long long>(options.chunk),
        sorted.back(), median);
    for (std::size_t i = 0; i < rates.size(); ++i) std::printf("%s%.1f", i ? "," : "", rates[i]);
    std::printf("],\"p50_ms\":%.2f,\"p99_ms\":%.2f}\n", percentile(all_latencies, 50), percentile(all_latencies, 99));
    return 0;
}
