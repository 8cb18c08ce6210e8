// The `onda-media worker` processes of `onda serve` (DESIGN.md "Crash isolation for decoders"): starts
// `workers` children, reads their job reports, and when one exits, says why in the log, hands its
// running jobs back to the queue (counting the attempt: a job that keeps killing its worker fails
// after max_attempts) and starts it again after a backoff (1 s, doubling to 30 s; back to 1 s once a
// child has lived a minute).
//
// A child is `<program> worker <arguments…> --id <name>` with the server's environment, /dev/null as
// standard input, a pipe as standard output (app/job_report.hpp) and the server's standard error, so
// its log lines join the server's; no other descriptor of the server is inherited. Child i is named
// "<name_prefix>w<i>": names are unique among live processes, and the same slot keeps its name
// across restarts (its jobs are released before the next one starts).
//
// Threads: everything runs on `context`, which must be run by the process's main thread: a child's
// PR_SET_PDEATHSIG fires when the thread that spawned it ends, and that must mean the server ended.
//
// Shutdown: begin_stop() (on the context) sends SIGTERM and stops restarts; after the context stopped
// running, finish_stop() waits for the children up to a grace period, SIGKILLs the rest, and hands
// their jobs back uncounted (an interrupted attempt did not fail).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/clock.hpp"
#include "core/task.hpp"
#include "media/transcode_worker.hpp"
#include "storage/meta_store.hpp"

namespace onda::app {

struct SupervisorOptions {
    unsigned workers = 1;
    std::filesystem::path program;       // onda-media (app/commands.hpp media_program())
    std::vector<std::string> arguments;  // after "worker": what gives a child the server's configuration
    std::string name_prefix;             // e.g. "host.1234."
    unsigned max_attempts = 3;
    std::chrono::milliseconds first_backoff{1'000};
    std::chrono::milliseconds max_backoff{30'000};
    std::chrono::milliseconds healthy_after{60'000};  // a child that lived this long restarts without delay growth
};

// Receives each job change (from a child's reports, or a release after a child exited), in order per
// child; the next report waits until the returned task is done.
using JobEventHandler = std::function<Task<>(media::JobEvent)>;

class WorkerSupervisor {
public:
    // `meta`, `clock` and `on_event` must outlive the supervisor; destroy it only after `context` stopped.
    WorkerSupervisor(net::io_context& context, storage::MetaStore& meta, Clock const& clock, JobEventHandler on_event,
                     SupervisorOptions options);
    ~WorkerSupervisor();  // kills (SIGKILL) and reaps any child finish_stop() did not
    WorkerSupervisor(WorkerSupervisor const&) = delete;
    WorkerSupervisor& operator=(WorkerSupervisor const&) = delete;

    // Starts every child (on the context, or before it runs).
    void start();
    // SIGTERM to every child; none is started again. On the context.
    void begin_stop();
    // Blocking, after the context stopped: waits up to `grace` for the children, SIGKILLs the rest,
    // reaps them and hands their running jobs back to the queue uncounted.
    void finish_stop(std::chrono::milliseconds grace);

private:
    struct Slot;
    Task<> keep_running(Slot& slot);  // the life of one slot: start, wait for the exit, release, back off
    Result<void> start_child(Slot& slot);
    void on_child_signal(boost::system::error_code ec);
    void reap();

    net::io_context& context_;
    storage::MetaStore& meta_;
    Clock const& clock_;
    JobEventHandler on_event_;
    SupervisorOptions options_;
    net::signal_set child_signals_;  // SIGCHLD
    std::vector<std::unique_ptr<Slot>> slots_;
    bool stopping_ = false;
};

// "exited with code 3", "killed by SIGKILL": how a child ended, from its waitpid status.
std::string describe_exit(int status);

}  // namespace onda::app
