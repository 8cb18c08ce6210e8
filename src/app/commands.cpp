#include "app/commands.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <iostream>

#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>

#include "auth/jwt.hpp"
#include "auth/secret.hpp"
#include "core/text.hpp"
#include "media/convert/convert.hpp"
#include "media/probe.hpp"
#include "media/transcode/ladder.hpp"
#include "media/transcode/ladder_config.hpp"

namespace onda::app {

namespace {

void print_error(Error const& error) {
    boost::json::object body{{"code", code_name(error.code())}, {"message", error.message()}};
    std::cout << boost::json::serialize(boost::json::object{{"error", body}}) << "\n";
}

Result<std::string> server_secret(Config const& config) {
    if (!config.auth.secret.empty()) return config.auth.secret;
    return auth::blocking::load_or_create_secret(config.data_dir);
}
}  // namespace

int token(TokenOptions const& options) {
    auto role = auth::parse_role(options.role);
    if (!role) {
        std::cerr << "onda token: role must be viewer, creator, moderator or admin\n";
        return 2;
    }
    if (options.sub.empty()) {
        std::cerr << "onda token: --sub is required\n";
        return 2;
    }
    for (auto const* text : {&options.sub, &options.name, &options.device})
        if (!is_valid_utf8(*text)) {
            std::cerr << "onda token: --sub, --name and --device must be UTF-8 text\n";
            return 2;
        }
    auto secret = server_secret(options.config);
    if (!secret) {
        std::cerr << "onda token: " << secret.error().message() << "\n";
        return 1;
    }
    auto now = std::chrono::system_clock::now();
    auth::Claims claims;
    claims.sub = options.sub;
    claims.role = *role;
    claims.exp = std::chrono::time_point_cast<std::chrono::seconds>(now) + options.ttl;
    claims.name = options.name;
    claims.device = options.device;
    claims.subscriber = options.subscriber;
    std::cout << auth::sign_jwt(claims, *secret, now) << "\n";
    return 0;
}

int probe(std::filesystem::path const& file, Config const& config) {
    media::ProbeLimits limits{.timeout = config.probe.timeout, .max_bytes = config.probe.max_bytes};
    auto info = media::blocking::probe(file, limits);
    if (!info) {
        print_error(info.error());
        return 1;
    }
    std::cout << boost::json::serialize(media::to_json(*info)) << "\n";
    return 0;
}

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
    auto result = media::blocking::run_ladder(file, out_dir, *options, {});
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
    auto info = media::blocking::probe(options.file, limits);
    if (!info) return info.error();
    if (!info->audio) return Error(Errc::invalid_argument, "the file has no audio");
    return media::plan_conversion(
        *format, bit_rate,
        {.duration = info->duration, .sample_rate = info->audio->sample_rate, .channels = info->audio->channels});
}

// The job a waiting child is handed on standard input: one datagram with the options and the
// media's descriptor, read as the file /proc/self/fd/N. cancelled when the server closed the socket
// without a job (it had no more use for this child).
Result<std::pair<media::ConversionJob, std::filesystem::path>> receive_job() {
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
    auto job = media::decode_job(text);
    if (!job) return job.error();
    return std::pair{std::move(*job), std::filesystem::path("/proc/self/fd/" + std::to_string(fd))};
}

}  // namespace

int convert(ConvertOptions const& options) {
    if (options.parent_pid > 0) {
        // A conversion nobody reads is waste: end with the server, even if it is killed. The check
        // after the prctl covers a server that died before it.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != options.parent_pid) {
            std::cerr << "onda convert: the server that started this conversion is gone\n";
            return 1;
        }
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
        job = std::move(received->first);
        file = received->second;
    } else {
        auto plan = conversion_plan(options);
        if (!plan) {
            std::cerr << "onda convert: " << plan.error().message() << "\n";
            return 2;
        }
        job = {.plan = *plan, .offset = options.offset};
    }
    ::prctl(PR_SET_NAME, "onda-convert");
    auto converted = media::blocking::convert(file, job.plan, job.offset, STDOUT_FILENO);
    if (!converted) {
        std::cerr << "onda convert: " << converted.error().message() << "\n";
        return 1;
    }
    return 0;
}

}  // namespace onda::app
