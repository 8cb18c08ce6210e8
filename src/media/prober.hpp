// Probing in a child process (DESIGN.md "Crash isolation for decoders"): the server never runs a
// demuxer itself. Each probe hands the file (an open descriptor) and the budget to an
// `onda-media probe --await-job` child, reads the one JSON line it prints, and reaps it; a child
// that crashes, hangs past the budget or prints nonsense ends that probe, never the server.
//
// One child is started ahead of need and waits for its job (detail::SpareChild), so a probe does
// not wait for a process to start (one that loads libav takes tens of milliseconds, a sanitizer
// build hundreds).
//
// Errors: what the child reported (unsupported_media with the reason, timeout, not_found, …);
// unsupported_media when it died (a signal: the file crashed it); timeout when it outlived the
// budget plus a grace period (it is killed); unavailable when no child could be started.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/thread_pool.hpp>

#include "core/error.hpp"
#include "core/task.hpp"
#include "media/probe.hpp"

namespace onda::media {

namespace detail {
class SpareChild;
}  // namespace detail

// The job a waiting `onda-media probe --await-job` child reads (with the file's descriptor,
// job_socket.hpp): the budget, and the name errors give the file (not /proc/self/fd/N).
struct ProbeJob {
    ProbeLimits limits;
    std::string name;
};
std::string encode_probe_job(ProbeJob const& job);
// invalid_argument for a text encode_probe_job did not make.
Result<ProbeJob> decode_probe_job(std::string_view text);

class Prober {
public:
    // `command`: the program (an absolute path) and its first arguments, e.g. {".../onda-media",
    // "probe"}; "--await-job --parent-pid P" are appended. Starts the first child at once.
    // `grace`: what a child has beyond limits.timeout (which it enforces itself) to start, answer
    // and exit; past it, it is taken to hang and killed.
    Prober(std::vector<std::string> command, ProbeLimits limits,
           std::chrono::milliseconds grace = std::chrono::seconds(5));
    ~Prober();  // a child still waiting is killed and reaped
    Prober(Prober const&) = delete;
    Prober& operator=(Prober const&) = delete;

    // On `pool` (which must outlive the task): a probe occupies one of its threads while the child runs.
    Task<Result<MediaInfo>> probe(net::thread_pool& pool, std::filesystem::path file);

    ProbeLimits const& limits() const { return limits_; }

private:
    ProbeLimits limits_;
    std::chrono::milliseconds grace_;
    std::unique_ptr<detail::SpareChild> children_;
};

}  // namespace onda::media
