#include "media/prober.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "core/log.hpp"
#include "core/unique_fd.hpp"
#include "media/detail/child_process.hpp"

namespace onda::media {

std::string encode_probe_job(ProbeJob const& job) {
    return boost::json::serialize(boost::json::object{
        {"timeout_ms", job.limits.timeout.count()}, {"max_bytes", job.limits.max_bytes}, {"name", job.name}});
}

Result<ProbeJob> decode_probe_job(std::string_view text) {
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

namespace {

// An answer is one line of JSON: a media object or an error.
constexpr std::size_t max_answer_bytes = 64 * 1024;

// `{"error":{"code","message"}}`, as `onda-media probe` prints a failure.
std::optional<Error> reported_error(boost::json::value const& answer) {
    auto const* object = answer.if_object();
    auto const* error = object ? object->if_contains("error") : nullptr;
    if (!error || !error->is_object()) return std::nullopt;
    auto const* code = error->as_object().if_contains("code");
    auto const* message = error->as_object().if_contains("message");
    if (!code || !code->is_string() || !message || !message->is_string()) return std::nullopt;
    auto const errc = parse_code_name(code->as_string());
    return Error(errc.value_or(Errc::unsupported_media), std::string(message->as_string()));
}

Result<MediaInfo> read_answer(detail::ChildOutcome const& outcome, std::string const& what) {
    int const status = outcome.status;
    if (!outcome.killed_after_line && WIFSIGNALED(status)) {
        // The file crashed a demuxer (or something killed the child): it is not media we can read.
        log::warn("{}: the probe child was killed by signal {}", what, WTERMSIG(status));
        return Error(Errc::unsupported_media, fmt::format("{}: the probe crashed (signal {})", what, WTERMSIG(status)));
    }
    boost::system::error_code ec;
    boost::json::value const answer = boost::json::parse(outcome.output, ec);
    if (!ec)
        if (auto error = reported_error(answer)) return *error;
    bool const exited_ok = outcome.killed_after_line || (WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (ec || !exited_ok) {
        // No answer we understand: a sanitizer report, an abort, a bug. The details go to the log only.
        log::warn("{}: the probe child ended with status {} and no answer: {}", what, status, outcome.error_text);
        return Error(Errc::unsupported_media, what + ": the probe failed without an answer");
    }
    auto info = media_info_from_json(answer);
    if (!info) return Error(Errc::internal, info.error().message()).context(what);
    return info;
}

namespace blocking {

// Blocks for up to limits.timeout + grace (a child started now, not ahead of need, spends part of
// the grace starting: a sanitizer build takes about a second).
Result<MediaInfo> probe_in_child(detail::SpareChild& children, std::filesystem::path const& file, ProbeLimits limits,
                                 std::chrono::milliseconds grace) {
    std::string const name = file.filename().string();  // no directories: errors reach clients
    std::string const what = "probe " + name;
    auto const start = std::chrono::steady_clock::now();
    auto const deadline = start + limits.timeout + grace;
    UniqueFd const source(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!source.is_open()) {
        int const code = errno;
        return Error(code == ENOENT ? Errc::not_found : Errc::internal, what + ": " + std::strerror(code));
    }
    std::string const job = encode_probe_job({.limits = limits, .name = name});
    auto waiting = children.take_or_start();
    if (!waiting) return waiting.error().context(what);
    auto started = (*waiting)->hand_over(job, source.get());
    if (!started) {
        // The child that waited has died meanwhile: one more, started now.
        waiting = children.take_or_start();
        if (!waiting) return waiting.error().context(what);
        started = (*waiting)->hand_over(job, source.get());
        if (!started) return started.error().context(what);
    }
    pid_t const pid = started->pid;
    auto outcome = detail::blocking::run_to_end(*started, deadline, max_answer_bytes, true);
    auto const took = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start);
    log::debug("{}: {:.1f} ms in child {}", what, took.count(), pid);
    children.refill();  // for the next probe (after this one: the two would share the cores)
    if (!outcome) {
        log::warn("{}: {}", what, outcome.error().message());
        if (outcome.error().code() == Errc::timeout)
            return Error(Errc::timeout, fmt::format("{}: gave up after {} ms", what, limits.timeout.count()));
        return outcome.error().context(what);
    }
    return read_answer(*outcome, what);
}

}  // namespace blocking
}  // namespace

Prober::Prober(std::vector<std::string> command, ProbeLimits limits, std::chrono::milliseconds grace)
    : limits_(limits), grace_(grace) {
    children_ = std::make_unique<detail::SpareChild>(std::move(command));
    children_->refill();
}

Prober::~Prober() = default;

Task<Result<MediaInfo>> Prober::probe(net::thread_pool& pool, std::filesystem::path file) {
    auto children = std::ref(*children_);  // named: GCC 12 and temporaries in a co_await expression
    co_return co_await offload(pool, blocking::probe_in_child, children, std::move(file), limits_, grace_);
}

}  // namespace onda::media
