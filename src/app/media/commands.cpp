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
#include "media/job_socket.hpp"
#include "media/prober.hpp"
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

// A child of the server ends with it, even if it is killed; the check after the prctl covers a
// server that died before it. false when the server is gone already.
bool die_with_parent(int parent_pid) {
    if (parent_pid <= 0) return true;
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    return ::getppid() == parent_pid;
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
        auto received = media::receive_job(STDIN_FILENO);
        if (!received) {
            if (received.error().code() == Errc::cancelled) return 0;
            print_error(received.error());
            return 2;
        }
        auto job = media::decode_probe_job(received->text);
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
        auto received = media::receive_job(STDIN_FILENO);
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
