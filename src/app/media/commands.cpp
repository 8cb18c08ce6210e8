#include "app/media/commands.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <iostream>

#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "media/av/convert/convert.hpp"
#include "media/av/probe.hpp"
#include "media/av/transcode/ladder.hpp"
#include "media/transcode/ladder_config.hpp"

namespace onda::app {

namespace {

void print_error(Error const& error) {
    boost::json::object body{{"code", code_name(error.code())}, {"message", error.message()}};
    std::cout << boost::json::serialize(boost::json::object{{"error", body}})
              << std::endl;  // the server reads one line
}

}  // namespace

int transcode(std::filesystem::path const& file, std::filesystem::path const& out_dir, Config const& config) {
    auto options = media::ladder_options(config.transcode);
    if (!options) {
        print_error(options.error());
        return 2;
    }
    std::error_code ec;
    std::filesystem::create_directories(out_dir, ec);
    if (ec || !std::filesystem::is_empty(out_dir, ec)) {
        print_error(Error(Errc::invalid_argument, out_dir.string() + " must be an empty directory"));
        return 2;
    }
    auto result = media::av::blocking::run_ladder(file, out_dir, *options, {});
    if (!result) {
        print_error(result.error());
        return 1;
    }
    boost::json::array files;
    for (auto const& path : result->files) files.push_back(boost::json::string(path.string()));
    std::cout << boost::json::serialize(boost::json::object{{"renditions", result->renditions},
                                                            {"hls", result->hls},
                                                            {"thumbnail", result->thumbnail},
                                                            {"waveform", result->waveform},
                                                            {"files", std::move(files)}})
              << "\n";
    return 0;
}

namespace {

// The plan `onda convert` follows: the server's, when it passed one, else one made from a probe.
Result<media::ConversionPlan> conversion_plan(ConvertOptions const& options) {
    auto format = media::parse_convert_format(options.format);
    if (!format) return format.error();
    std::optional<std::int64_t> bit_rate;
    if (!options.bit_rate.empty()) {
        auto parsed = media::parse_bit_rate(options.bit_rate);
        if (!parsed) return parsed.error();
        bit_rate = *parsed;
    }
    if (options.sample_rate > 0 && options.channels > 0 && options.samples >= 0)
        return media::ConversionPlan{.format = *format,
                                     .bit_rate = bit_rate.value_or(0),
                                     .sample_rate = options.sample_rate,
                                     .channels = options.channels,
                                     .samples = options.samples};
    media::ProbeLimits limits{.timeout = options.config.probe.timeout, .max_bytes = options.config.probe.max_bytes};
    auto info = media::av::blocking::probe(options.file, limits);
    if (!info) return info.error();
    if (!info->audio) return Error(Errc::invalid_argument, "the file has no audio");
    return media::plan_conversion(
        *format, bit_rate,
        {.duration = info->duration, .sample_rate = info->audio->sample_rate, .channels = info->audio->channels});
}

// The job a child started ahead of need is handed on standard input: one datagram with its text and
// the media's descriptor, read as the file /proc/self/fd/N. cancelled when the server closed the
// socket without a job (it had no more use for this child).
struct Job {
    std::string text;
    std::filesystem::path file;
};

Result<Job> receive_job() {
    std::string text(64 * 1024, '\0');
    iovec buffer{.iov_base = text.data(), .iov_len = text.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr message{};
    message.msg_iov = &buffer;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    ssize_t got = -1;
    do {
        got = ::recvmsg(STDIN_FILENO, &message, MSG_CMSG_CLOEXEC);
    } while (got < 0 && errno == EINTR);
    if (got == 0) return Error(Errc::cancelled, "no job came");
    if (got < 0) return Error(Errc::invalid_argument, std::string("reading the job: ") + std::strerror(errno));
    text.resize(static_cast<std::size_t>(got));
    int fd = -1;
    for (cmsghdr* header = CMSG_FIRSTHDR(&message); header; header = CMSG_NXTHDR(&message, header))
        if (header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_RIGHTS &&
            header->cmsg_len == CMSG_LEN(sizeof(int)))
            std::memcpy(&fd, CMSG_DATA(header), sizeof fd);
    if (fd < 0 || (message.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
        return Error(Errc::invalid_argument, "the job came without its file");
    return Job{.text = std::move(text), .file = "/proc/self/fd/" + std::to_string(fd)};
}

// A child of the server ends with it, even if it is killed; the check after the prctl covers a
// server that died before it. false when the server is gone already.
bool die_with_parent(int parent_pid) {
    if (parent_pid <= 0) return true;
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    return ::getppid() == parent_pid;
}

// A probe job (media/prober.cpp): {"timeout_ms", "max_bytes", "name"}.
struct ProbeJob {
    media::ProbeLimits limits;
    std::string name;
};

Result<ProbeJob> parse_probe_job(std::string_view text) {
    boost::system::error_code ec;
    auto const value = boost::json::parse(text, ec);
    auto const* object = ec ? nullptr : value.if_object();
    auto const* timeout = object ? object->if_contains("timeout_ms") : nullptr;
    auto const* max_bytes = object ? object->if_contains("max_bytes") : nullptr;
    auto const* name = object ? object->if_contains("name") : nullptr;
    if (!timeout || !timeout->is_int64() || timeout->as_int64() <= 0 || !max_bytes || !max_bytes->is_number() ||
        !name || !name->is_string())
        return Error(Errc::invalid_argument, "not a probe job");
    ProbeJob job{.limits = {.timeout = std::chrono::milliseconds(timeout->as_int64())},
                 .name = std::string(name->as_string())};
    job.limits.max_bytes = max_bytes->to_number<std::uint64_t>();
    return job;
}

}  // namespace

int probe(ProbeOptions const& options) {
    media::ProbeLimits limits{.timeout = options.config.probe.timeout, .max_bytes = options.config.probe.max_bytes};
    std::filesystem::path file = options.file;
    std::string name;                                    // how errors name the file: its own name, not /proc/self/fd/N
    if (!die_with_parent(options.parent_pid)) return 1;  // nobody waits for the answer
    if (options.await_job) {
        // So that `ps` tells a waiting child from a working one, and a probe child from a conversion's.
        ::prctl(PR_SET_NAME, "onda-probe-wait");
        auto received = receive_job();
        if (!received) {
            if (received.error().code() == Errc::cancelled) return 0;
            print_error(received.error());
            return 2;
        }
        auto job = parse_probe_job(received->text);
        if (!job) {
            print_error(job.error());
            return 2;
        }
        limits = job->limits;
        name = std::move(job->name);
        file = std::move(received->file);
        ::prctl(PR_SET_NAME, "onda-probe");
    }
    auto info = media::av::blocking::probe(file, limits, name);
    if (!info) {
        print_error(info.error());
        return 1;
    }
    std::cout << boost::json::serialize(media::to_json(*info)) << std::endl;
    return 0;
}

int convert(ConvertOptions const& options) {
    // A conversion nobody reads is waste.
    if (!die_with_parent(options.parent_pid)) {
        std::cerr << "onda convert: the server that started this conversion is gone\n";
        return 1;
    }
    media::ConversionJob job;
    std::filesystem::path file = options.file;
    if (options.await_job) {
        // Named so that `ps` tells a waiting child from a working one.
        ::prctl(PR_SET_NAME, "onda-waiting");
        auto received = receive_job();
        if (!received) {
            std::cerr << "onda convert: " << received.error().message() << "\n";
            return received.error().code() == Errc::cancelled ? 0 : 2;
        }
        auto decoded = media::decode_job(received->text);
        if (!decoded) {
            std::cerr << "onda convert: " << decoded.error().message() << "\n";
            return 2;
        }
        job = std::move(*decoded);
        file = received->file;
    } else {
        auto plan = conversion_plan(options);
        if (!plan) {
            std::cerr << "onda convert: " << plan.error().message() << "\n";
            return 2;
        }
        job = {.plan = *plan, .offset = options.offset};
    }
    ::prctl(PR_SET_NAME, "onda-convert");
    auto converted = media::av::blocking::convert(file, job.plan, job.offset, STDOUT_FILENO);
    if (!converted) {
        std::cerr << "onda convert: " << converted.error().message() << "\n";
        return 1;
    }
    return 0;
}

}  // namespace onda::app
