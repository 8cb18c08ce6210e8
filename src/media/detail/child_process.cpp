#include "media/detail/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include <boost/asio/experimental/awaitable_operators.hpp>

#include "core/log.hpp"
#include "media/job_socket.hpp"

extern char** environ;

namespace onda::media::detail {
namespace {

using namespace net::experimental::awaitable_operators;

// The most of a child's standard error kept for the message of its failure.
constexpr std::size_t max_error_bytes = 2048;

Error system_error(std::string_view what, int code) {
    return Error(Errc::unavailable, std::string(what) + ": " + std::strerror(code));
}

// Both ends close-on-exec, so no other child started meanwhile inherits them.
Result<std::pair<int, int>> make_pipe() {
    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) != 0) return system_error("pipe", errno);
    return std::pair{ends[0], ends[1]};
}

struct SpawnActions {
    posix_spawn_file_actions_t actions;
    SpawnActions() { posix_spawn_file_actions_init(&actions); }
    ~SpawnActions() { posix_spawn_file_actions_destroy(&actions); }
};

struct SpawnAttributes {
    posix_spawnattr_t attributes;
    SpawnAttributes() { posix_spawnattr_init(&attributes); }
    ~SpawnAttributes() { posix_spawnattr_destroy(&attributes); }
};

// Waits for a killed child's exit and reaps it; the ChildProcess is gone by then.
Task<> reap_after_exit(int pid_fd, pid_t pid) {  // owns pid_fd
    net::posix::stream_descriptor exit(co_await net::this_coro::executor, pid_fd);
    auto [ec] = co_await exit.async_wait(net::posix::stream_descriptor::wait_read, use_result);
    if (ec) log::warn("child {} may be left a zombie: {}", pid, ec.message());
    int status = 0;
    ::waitpid(pid, &status, WNOHANG);
}

}  // namespace

void StartedChild::kill_and_reap() {
    if (pid > 0) {
        ::kill(pid, SIGKILL);
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    }
    for (int fd : {stdout_fd, stderr_fd, pid_fd})
        if (fd >= 0) ::close(fd);
    *this = StartedChild{};
}

Result<StartedChild> start_child(std::vector<std::string> const& argv, int stdin_fd) {
    if (argv.empty()) return Error(Errc::internal, "no program to start");
    auto out = make_pipe();
    if (!out) return out.error();
    auto err = make_pipe();
    if (!err) {
        ::close(out->first);
        ::close(out->second);
        return err.error();
    }
    // A child that writes more than the pipe holds must not block on it: the excess is dropped.
    ::fcntl(err->second, F_SETFL, O_NONBLOCK);
    auto close_all = [&] {
        for (int fd : {out->first, out->second, err->first, err->second}) ::close(fd);
    };

    SpawnActions actions;
    if (stdin_fd >= 0)
        posix_spawn_file_actions_adddup2(&actions.actions, stdin_fd, STDIN_FILENO);
    else
        posix_spawn_file_actions_addopen(&actions.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions.actions, out->second, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions.actions, err->second, STDERR_FILENO);
    // Sockets of other clients and open media must not live on in the child: a client's connection
    // would not close when the server closes it.
    posix_spawn_file_actions_addclosefrom_np(&actions.actions, STDERR_FILENO + 1);

    SpawnAttributes attributes;
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);  // the server ignores it; a child whose reader left should end
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attributes.attributes, &defaults);
    posix_spawnattr_setsigmask(&attributes.attributes, &none);
    posix_spawnattr_setflags(&attributes.attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

    std::vector<char*> args;
    for (auto const& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    if (int rc = posix_spawn(&pid, args[0], &actions.actions, &attributes.attributes, args.data(), environ); rc != 0) {
        close_all();
        return system_error("start " + argv[0], rc);
    }
    ::close(out->second);
    ::close(err->second);
    // By system call: glibc 2.36's <sys/pidfd.h> declares its wrapper without C linkage.
    int const pid_fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (pid_fd < 0) {
        int const code = errno;
        ::kill(pid, SIGKILL);
        int status = 0;
        ::waitpid(pid, &status, 0);  // just killed: the wait is short
        ::close(out->first);
        ::close(err->first);
        return system_error("pidfd_open", code);
    }
    ::fcntl(pid_fd, F_SETFD, FD_CLOEXEC);
    ::fcntl(err->first, F_SETFL, O_NONBLOCK);
    return StartedChild{.pid = pid, .stdout_fd = out->first, .stderr_fd = err->first, .pid_fd = pid_fd};
}

Result<std::unique_ptr<WaitingChild>> WaitingChild::start(std::vector<std::string> const& argv) {
    int ends[2];
    // Datagrams: the job arrives whole in one read, with its descriptor.
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends) != 0) return system_error("socketpair", errno);
    auto child = start_child(argv, ends[1]);
    ::close(ends[1]);
    if (!child) {
        ::close(ends[0]);
        return child.error();
    }
    return std::unique_ptr<WaitingChild>(new WaitingChild(*child, ends[0]));
}

WaitingChild::~WaitingChild() {
    if (socket_fd_ >= 0) ::close(socket_fd_);
    child_.kill_and_reap();
}

Result<StartedChild> WaitingChild::hand_over(std::string_view job, int fd) {
    auto sent = send_job(socket_fd_, job, fd);
    ::close(socket_fd_);
    socket_fd_ = -1;
    if (!sent) {
        child_.kill_and_reap();  // it died while it waited, or cannot take the job: start another
        return sent.error();
    }
    return std::exchange(child_, StartedChild{});
}

void SpareChild::refill() {
    if (waiting_.load(std::memory_order_acquire)) return;
    auto started = WaitingChild::start(argv_);
    if (!started) {
        log::warn("could not start a child ahead of need ({}): {}", argv_.size() > 1 ? argv_[1] : argv_[0],
                  started.error().message());
        return;
    }
    WaitingChild* none = nullptr;
    // Another thread may have put one there meanwhile: then this one goes (killed when it is freed).
    if (waiting_.compare_exchange_strong(none, started->get(), std::memory_order_acq_rel)) started->release();
}

SpareChild::SpareChild(std::vector<std::string> command) : argv_(std::move(command)) {
    argv_.insert(argv_.end(), {"--await-job", "--parent-pid", std::to_string(::getpid())});
}

Result<std::unique_ptr<WaitingChild>> SpareChild::take_or_start() {
    if (auto waiting = take()) return waiting;
    return WaitingChild::start(argv_);
}

namespace blocking {

Result<ChildOutcome> run_to_end(StartedChild child, std::chrono::steady_clock::time_point deadline,
                                std::size_t max_output, bool first_line_only) {
    // Whatever happens below, the child ends reaped and its descriptors closed.
    struct Reaper {
        StartedChild& child;
        ~Reaper() { child.kill_and_reap(); }
    } reaper{child};
    auto remaining_ms = [&] {
        auto const left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        return static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, 60'000));
    };
    ChildOutcome outcome;
    auto keep_error_text = [&outcome](char const* bytes, std::size_t n) {
        // For the reason of a failure: keep the end.
        outcome.error_text.append(bytes, n);
        if (outcome.error_text.size() > max_error_bytes)
            outcome.error_text.erase(0, outcome.error_text.size() - max_error_bytes);
    };
    // Standard output to its end (the child closed it, usually by exiting), then the exit itself.
    // Standard error is read as it comes: a child that fills that pipe would block and never finish.
    bool output_open = true;
    bool errors_open = true;
    for (;;) {
        std::array<pollfd, 2> watched{
            pollfd{.fd = output_open ? child.stdout_fd : child.pid_fd, .events = POLLIN, .revents = 0},
            pollfd{.fd = errors_open ? child.stderr_fd : -1, .events = POLLIN, .revents = 0}};
        int const ready = ::poll(watched.data(), watched.size(), remaining_ms());
        if (ready < 0 && errno == EINTR) continue;
        if (ready < 0) return system_error("poll", errno);
        if (ready == 0) {
            if (std::chrono::steady_clock::now() < deadline) continue;  // one poll waits a minute at most
            return Error(Errc::timeout, fmt::format("the child did not finish in time (pid {})", child.pid));
        }
        if (watched[1].revents != 0) {
            char piece[4096];
            ssize_t const n = ::read(child.stderr_fd, piece, sizeof piece);
            if (n > 0)
                keep_error_text(piece, static_cast<std::size_t>(n));
            else if (n == 0 || (errno != EINTR && errno != EAGAIN))
                errors_open = false;
        }
        if (watched[0].revents == 0) continue;
        if (!output_open) break;  // the pidfd is readable: the child has exited
        char piece[4096];
        ssize_t const n = ::read(child.stdout_fd, piece, sizeof piece);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return system_error("read the child's output", errno);
        if (n == 0) {
            output_open = false;
            continue;
        }
        outcome.output.append(piece, static_cast<std::size_t>(n));
        if (outcome.output.size() > max_output)
            return Error(Errc::too_large, fmt::format("the child wrote more than {} bytes", max_output));
        if (first_line_only && outcome.output.find('\n') != std::string::npos) {
            outcome.killed_after_line = true;
            return outcome;  // the Reaper kills and reaps it
        }
    }
    int status = 0;
    while (::waitpid(child.pid, &status, 0) < 0 && errno == EINTR) {}
    outcome.status = status;
    // What is left of its standard error (the pipe is non-blocking).
    for (;;) {
        char piece[4096];
        ssize_t const n = ::read(child.stderr_fd, piece, sizeof piece);
        if (n <= 0) break;
        keep_error_text(piece, static_cast<std::size_t>(n));
    }
    while (!outcome.error_text.empty() && (outcome.error_text.back() == '\n' || outcome.error_text.back() == '\r'))
        outcome.error_text.pop_back();
    child.pid = -1;  // reaped already: the Reaper only closes the descriptors
    return outcome;
}

}  // namespace blocking

Result<std::unique_ptr<ChildProcess>> ChildProcess::spawn(net::any_io_executor executor,
                                                          std::vector<std::string> const& argv, int stdin_fd) {
    auto child = start_child(argv, stdin_fd);
    if (!child) return child.error();
    return adopt(std::move(executor), *child);
}

std::unique_ptr<ChildProcess> ChildProcess::adopt(net::any_io_executor executor, StartedChild child) {
    return std::unique_ptr<ChildProcess>(
        new ChildProcess(std::move(executor), child.pid, child.stdout_fd, child.stderr_fd, child.pid_fd));
}

ChildProcess::ChildProcess(net::any_io_executor executor, pid_t pid, int stdout_fd, int stderr_fd, int pid_fd)
    : executor_(executor),
      pid_(pid),
      stdout_(executor, stdout_fd),
      stderr_fd_(stderr_fd),
      exit_(executor, pid_fd),
      timer_(executor) {}

ChildProcess::~ChildProcess() {
    boost::system::error_code ignored;
    stdout_.close(ignored);
    ::close(stderr_fd_);
    if (reaped_) return;
    ::kill(pid_, SIGKILL);
    if (try_reap()) return;
    // Not gone yet (it is being torn down): a task waits for the exit and reaps it.
    int const pid_fd = exit_.release();
    onda::spawn(executor_, reap_after_exit(pid_fd, pid_), "reap child process");
}

bool ChildProcess::try_reap() {
    if (reaped_) return true;
    int status = 0;
    pid_t const got = ::waitpid(pid_, &status, WNOHANG);
    if (got == pid_ || (got < 0 && errno == ECHILD)) {
        reaped_ = true;
        status_ = status;
    }
    return reaped_;
}

Task<Result<std::string>> ChildProcess::read_some(std::size_t max_bytes, std::chrono::milliseconds stall) {
    std::string chunk(max_bytes, '\0');
    timer_.expires_after(stall);
    // Each operand is named: GCC 12 destroys temporaries built inside a co_await expression twice.
    auto read = stdout_.async_read_some(net::buffer(chunk), use_result);
    auto expired = timer_.async_wait(use_result);
    auto either = std::move(read) || std::move(expired);
    auto outcome = co_await std::move(either);
    if (outcome.index() != 0) co_return Error(Errc::timeout, fmt::format("no output for {} ms", stall.count()));
    auto [ec, n] = std::get<0>(outcome);
    if (ec == net::error::eof) co_return std::string();
    if (ec) co_return Error(Errc::unavailable, "reading the child's output: " + ec.message());
    chunk.resize(n);
    co_return chunk;
}

std::string ChildProcess::error_text() {
    // The reason is the child's last words: keep the end of what it wrote.
    std::string text;
    char piece[4096];
    for (;;) {
        ssize_t const n = ::read(stderr_fd_, piece, sizeof piece);
        if (n <= 0) break;
        text.append(piece, static_cast<std::size_t>(n));
        if (text.size() > max_error_bytes) text.erase(0, text.size() - max_error_bytes);
    }
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    return text;
}

Task<Result<void>> ChildProcess::wait(std::chrono::milliseconds limit) {
    if (!try_reap()) {
        timer_.expires_after(limit);
        auto exited = exit_.async_wait(net::posix::stream_descriptor::wait_read, use_result);
        auto expired = timer_.async_wait(use_result);
        auto either = std::move(exited) || std::move(expired);
        co_await std::move(either);
        if (!try_reap()) co_return Error(Errc::unavailable, fmt::format("did not exit within {} ms", limit.count()));
    }
    if (WIFEXITED(status_) && WEXITSTATUS(status_) == 0) co_return ok();
    std::string reason = error_text();
    if (reason.empty())
        reason = WIFSIGNALED(status_) ? fmt::format("killed by signal {}", WTERMSIG(status_))
                                      : fmt::format("exit status {}", WEXITSTATUS(status_));
    co_return Error(Errc::unavailable, reason);
}

}  // namespace onda::media::detail
