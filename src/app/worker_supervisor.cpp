#include "app/worker_supervisor.hpp"

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <thread>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>

#include "app/job_report.hpp"
#include "core/log.hpp"
#include "core/run_alone.hpp"

extern char** environ;

namespace onda::app {
namespace {

using Steady = std::chrono::steady_clock;

// Reads one child's reports until its end of the pipe closes (it exited). `on_event` outlives the
// context this runs on; the pipe is this coroutine's own.
Task<> read_reports(net::posix::stream_descriptor pipe, JobEventHandler const& on_event, std::string worker) {
    std::string pending;
    std::array<char, 4096> chunk{};
    bool skipping = false;  // inside a line that grew past max_job_report_bytes: dropped up to its end
    for (;;) {
        auto [ec, n] = co_await pipe.async_read_some(net::buffer(chunk), use_result);
        if (ec) co_return;  // EOF when the child exits; operation_aborted at shutdown
        pending.append(chunk.data(), n);
        for (auto newline = pending.find('\n'); newline != std::string::npos; newline = pending.find('\n')) {
            std::string const line = pending.substr(0, newline);
            pending.erase(0, newline + 1);
            if (std::exchange(skipping, false)) continue;
            auto event = parse_job_report(line);
            if (!event) {
                log::warn("worker {}: ignoring a report that is not one ({} bytes)", worker, line.size());
                continue;
            }
            Task<> handled = on_event(std::move(*event));
            co_await std::move(handled);
        }
        if (pending.size() > max_job_report_bytes) {
            log::warn("worker {}: ignoring a report longer than {} bytes", worker, max_job_report_bytes);
            pending.clear();
            skipping = true;
        }
    }
}

}  // namespace

std::string describe_exit(int status) {
    if (WIFEXITED(status)) {
        int const code = WEXITSTATUS(status);
        if (code == stalled_exit_code) return "exited with code 75 (a transcode stalled)";
        return "exited with code " + std::to_string(code);
    }
    if (WIFSIGNALED(status)) {
        int const signal = WTERMSIG(status);
        char const* name = ::sigabbrev_np(signal);
        return name ? std::string("killed by SIG") + name : "killed by signal " + std::to_string(signal);
    }
    return "stopped with status " + std::to_string(status);
}

struct WorkerSupervisor::Slot {
    Slot(net::io_context& context, std::string slot_name) : name(std::move(slot_name)), exited(context) {}
    std::string name;
    pid_t pid = -1;
    Steady::time_point started;
    int status = 0;            // set when reaped
    net::steady_timer exited;  // cancelled when the child is reaped: keep_running() waits on it
    std::chrono::milliseconds backoff{0};
};

WorkerSupervisor::WorkerSupervisor(net::io_context& context, storage::MetaStore& meta, Clock const& clock,
                                   JobEventHandler on_event, SupervisorOptions options)
    : context_(context),
      meta_(meta),
      clock_(clock),
      on_event_(std::move(on_event)),
      options_(std::move(options)),
      child_signals_(context, SIGCHLD) {
    for (unsigned i = 1; i <= options_.workers; ++i)
        slots_.push_back(std::make_unique<Slot>(context_, options_.name_prefix + "w" + std::to_string(i)));
}

WorkerSupervisor::~WorkerSupervisor() {
    for (auto& slot : slots_) {
        if (slot->pid <= 0) continue;
        ::kill(slot->pid, SIGKILL);
        int status = 0;
        ::waitpid(slot->pid, &status, 0);
    }
}

void WorkerSupervisor::start() {
    child_signals_.async_wait([this](boost::system::error_code ec, int) { on_child_signal(ec); });
    for (auto& slot : slots_) {
        slot->backoff = options_.first_backoff;
        spawn(context_.get_executor(), keep_running(*slot), "worker " + slot->name);
    }
}

void WorkerSupervisor::on_child_signal(boost::system::error_code ec) {
    if (ec) return;  // cancelled: the context is going away
    reap();
    child_signals_.async_wait([this](boost::system::error_code next, int) { on_child_signal(next); });
}

// Reaps our children that exited. SIGCHLD says "some child changed", not which, and several may
// share one signal; children that are not ours (none today) are left to whoever started them.
void WorkerSupervisor::reap() {
    for (auto& slot : slots_) {
        if (slot->pid <= 0) continue;
        int status = 0;
        if (::waitpid(slot->pid, &status, WNOHANG) != slot->pid) continue;
        slot->pid = -1;
        slot->status = status;
        slot->exited.cancel();
    }
}

Result<void> WorkerSupervisor::start_child(Slot& slot) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return Error(Errc::internal, std::string("pipe: ") + std::strerror(errno));
    std::vector<std::string> argv_text{options_.program.string(), "worker"};
    argv_text.insert(argv_text.end(), options_.arguments.begin(), options_.arguments.end());
    argv_text.insert(argv_text.end(), {"--id", slot.name});
    std::vector<char*> argv;
    for (auto& arg : argv_text) argv.push_back(arg.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);  // dup2 clears CLOEXEC on the copy
    // Nothing else of the server's: not its listening sockets, connections or database handles.
    posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
    // Every signal at its default and none blocked: the child sets up its own (whatever the server ignores).
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t signals;
    sigfillset(&signals);
    posix_spawnattr_setsigdefault(&attributes, &signals);
    sigemptyset(&signals);
    posix_spawnattr_setsigmask(&attributes, &signals);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    pid_t pid = -1;
    int const rc = ::posix_spawn(&pid, argv[0], &actions, &attributes, argv.data(), environ);
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) {
        ::close(fds[0]);
        return Error(Errc::internal, "start " + options_.program.string() + ": " + std::strerror(rc));
    }
    slot.pid = pid;
    slot.started = Steady::now();
    net::posix::stream_descriptor pipe(context_, fds[0]);
    spawn(context_.get_executor(), read_reports(std::move(pipe), on_event_, slot.name), "reports of " + slot.name);
    log::info("worker {} started (pid {})", slot.name, pid);
    return ok();
}

Task<> WorkerSupervisor::keep_running(Slot& slot) {
    while (!stopping_) {
        if (auto started = start_child(slot); !started) {
            log::error("worker {}: {}", slot.name, started.error().message());
        } else {
            slot.exited.expires_at(Steady::time_point::max());
            co_await slot.exited.async_wait(use_result);  // cancelled by reap(), or at shutdown
            if (slot.pid > 0) co_return;                  // shutdown: finish_stop() reaps it
            std::string const how = describe_exit(slot.status);
            if (stopping_) {
                log::info("worker {} {}", slot.name, how);
                co_return;  // finish_stop() hands its jobs back
            }
            log::warn("worker {} {}", slot.name, how);
            storage::JobRelease release{.owner = slot.name,
                                        .reason = "the worker stopped: " + how,
                                        .now = clock_.now(),
                                        .max_attempts = options_.max_attempts,
                                        .count_attempt = true};
            auto released = co_await meta_.release_jobs(std::move(release));
            if (!released) {
                // Its lease expires by itself; the job is then claimed again.
                log::warn("worker {}: release its jobs: {}", slot.name, released.error().message());
            } else {
                for (auto& job : *released) {
                    log::info("worker {}: job {} of media {} is {} again", slot.name, job.id, job.media_id, job.state);
                    media::JobEvent event{.media_id = job.media_id, .state = job.state, .progress = job.progress};
                    if (job.state == "failed") event.error = job.error;
                    Task<> handled = on_event_(std::move(event));
                    co_await std::move(handled);
                }
            }
            if (Steady::now() - slot.started >= options_.healthy_after) slot.backoff = options_.first_backoff;
        }
        if (stopping_) co_return;
        log::info("worker {} restarts in {} ms", slot.name, slot.backoff.count());
        slot.exited.expires_after(slot.backoff);
        slot.backoff = std::min(slot.backoff * 2, options_.max_backoff);
        co_await slot.exited.async_wait(use_result);
    }
}

void WorkerSupervisor::begin_stop() {
    stopping_ = true;
    for (auto& slot : slots_) {
        if (slot->pid > 0) ::kill(slot->pid, SIGTERM);
        slot->exited.cancel();  // a slot waiting to restart stops waiting
    }
}

void WorkerSupervisor::finish_stop(std::chrono::milliseconds grace) {
    stopping_ = true;
    auto const deadline = Steady::now() + grace;
    for (auto& slot : slots_) {
        if (slot->pid <= 0) continue;
        int status = 0;
        pid_t done = 0;
        while ((done = ::waitpid(slot->pid, &status, WNOHANG)) == 0 && Steady::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        if (done == 0) {
            log::warn("worker {} did not stop in {} ms: killing it", slot->name, grace.count());
            ::kill(slot->pid, SIGKILL);
            ::waitpid(slot->pid, &status, 0);
        }
        slot->pid = -1;
    }
    for (auto& slot : slots_) {
        storage::JobRelease release{.owner = slot->name,
                                    .reason = "the server stopped",
                                    .now = clock_.now(),
                                    .max_attempts = options_.max_attempts,
                                    .count_attempt = false};
        auto released = run_alone(meta_.release_jobs(std::move(release)));
        if (!released)
            log::warn("worker {}: release its jobs: {}", slot->name, released.error().message());
        else if (!released->empty())
            log::info("worker {}: {} interrupted job(s) queued again", slot->name, released->size());
    }
}

}  // namespace onda::app
