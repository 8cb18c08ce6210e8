// A child process whose standard output the server reads: how probes and on-the-fly conversions
// keep untrusted demuxers and decoders out of the server (DESIGN.md "Crash isolation for decoders").
//
// The child gets: standard input from a given descriptor (the media's bytes), standard output a
// pipe read here, standard error a pipe kept for the reason of a failure, and no other descriptor
// of the server (every other one is closed in the child, whatever its close-on-exec flag).
// Ownership: the ChildProcess owns the process. Destroying it while the child runs (the client went
// away) kills it with SIGKILL and reaps it, at once when it is already gone and otherwise from a
// task on the same executor that waits for its exit: no zombie, no descriptor left open.
//
// Thread: every member runs on the executor given to spawn().
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include "core/error.hpp"
#include "core/task.hpp"

namespace onda::media::detail {

// A started child's descriptors before they are bound to an executor: a child started ahead of need
// on one thread may be handed to another.
struct StartedChild {
    pid_t pid = -1;
    int stdout_fd = -1;
    int stderr_fd = -1;
    int pid_fd = -1;  // readable once the child has exited
    // SIGKILL, a blocking wait (short: the child cannot resist) and the descriptors closed (only
    // those when pid is -1: reaped already).
    void kill_and_reap();
};

// Starts argv[0] (an absolute path) with `argv`. `stdin_fd` is only read from; -1: /dev/null.
// unavailable when the system cannot start a process now.
Result<StartedChild> start_child(std::vector<std::string> const& argv, int stdin_fd);

// A child started before it has work, waiting on standard input (a Unix socket) for it: starting a
// process costs far more than handing one a job (a sanitizer build takes hundreds of milliseconds
// before main()), and a listener is waiting for the first bytes. The job is a text and one
// descriptor, passed with SCM_RIGHTS. May be moved between threads while it waits.
class WaitingChild {
public:
    static Result<std::unique_ptr<WaitingChild>> start(std::vector<std::string> const& argv);
    ~WaitingChild();  // a child never handed a job is killed and reaped
    WaitingChild(WaitingChild const&) = delete;
    WaitingChild& operator=(WaitingChild const&) = delete;

    pid_t pid() const { return child_.pid; }
    // Sends the job; from then on the child is the caller's (adopt it into a ChildProcess).
    // unavailable when the child is gone (then it has been reaped).
    Result<StartedChild> hand_over(std::string_view job, int fd);

private:
    WaitingChild(StartedChild child, int socket_fd) : child_(child), socket_fd_(socket_fd) {}
    StartedChild child_;
    int socket_fd_;
};

// One child started ahead of need, for whichever thread needs one next: take() hands it over (or
// nothing), refill() starts the next one. Thread-safe; the command must stay the same. The child is
// `command --await-job --parent-pid <this process>` (onda-media's waiting mode).
class SpareChild {
public:
    explicit SpareChild(std::vector<std::string> command);
    ~SpareChild() { delete waiting_.exchange(nullptr); }  // a child still waiting is killed and reaped
    SpareChild(SpareChild const&) = delete;
    SpareChild& operator=(SpareChild const&) = delete;

    std::unique_ptr<WaitingChild> take() {
        return std::unique_ptr<WaitingChild>(waiting_.exchange(nullptr, std::memory_order_acq_rel));
    }
    // Starts a child unless one is waiting; a failure is logged (the next job starts its own).
    void refill();
    // take(), else a child started now.
    Result<std::unique_ptr<WaitingChild>> take_or_start();

private:
    std::vector<std::string> argv_;
    std::atomic<WaitingChild*> waiting_{nullptr};
};

// What a child that ran left: its standard output and how it ended.
struct ChildOutcome {
    std::string output;
    int status = 0;          // as waitpid(2) gives it; 0 when killed after its first line
    std::string error_text;  // the end of its standard error
    bool killed_after_line = false;
};

namespace blocking {
// Reads the standard output of `child` (at most `max_output` bytes) to its end and reaps it,
// blocking until `deadline`. With `first_line_only`, it stops at the first '\n' and kills the child
// instead of waiting for its exit (an answer is whole; the exit of a process that maps libav takes
// longer than its work). timeout when it has not ended by then, too_large past max_output: it is
// then killed (and reaped) all the same.
Result<ChildOutcome> run_to_end(StartedChild child, std::chrono::steady_clock::time_point deadline,
                                std::size_t max_output, bool first_line_only = false);
}  // namespace blocking

class ChildProcess {
public:
    // start_child, then adopt.
    static Result<std::unique_ptr<ChildProcess>> spawn(net::any_io_executor executor,
                                                       std::vector<std::string> const& argv, int stdin_fd);
    // Takes over a started child's descriptors, on `executor`.
    static std::unique_ptr<ChildProcess> adopt(net::any_io_executor executor, StartedChild child);

    ~ChildProcess();
    ChildProcess(ChildProcess const&) = delete;
    ChildProcess& operator=(ChildProcess const&) = delete;

    pid_t pid() const { return pid_; }

    // Up to `max_bytes` of standard output; empty at its end. timeout when nothing came for `stall`
    // (a child that hangs is not waited for forever).
    Task<Result<std::string>> read_some(std::size_t max_bytes, std::chrono::milliseconds stall);

    // After the end of standard output: waits up to `limit` for the exit. ok for exit status 0;
    // otherwise unavailable with what the child wrote to standard error (or the signal that ended it).
    Task<Result<void>> wait(std::chrono::milliseconds limit);

private:
    ChildProcess(net::any_io_executor executor, pid_t pid, int stdout_fd, int stderr_fd, int pid_fd);
    // Reaps the child if it has exited; true when it has (and `status_` holds its status).
    bool try_reap();
    std::string error_text();

    net::any_io_executor executor_;
    pid_t pid_;
    net::posix::stream_descriptor stdout_;
    int stderr_fd_;                       // non-blocking; read only once the child has exited
    net::posix::stream_descriptor exit_;  // a pidfd: readable when the child has exited
    net::steady_timer timer_;
    bool reaped_ = false;
    int status_ = 0;
};

}  // namespace onda::media::detail
