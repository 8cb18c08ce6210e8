#include "support/onda_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace onda::test {
namespace {

std::string read_file(std::filesystem::path const& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// Starts `argv` with its output appended to the two files. The child gets SIGTERM when the test
// process dies (a crashed or killed test must not leave servers and their workers running).
pid_t spawn(std::vector<std::string> const& argv, std::filesystem::path const& stdout_file,
            std::filesystem::path const& stderr_file) {
    std::vector<char*> args;
    for (auto const& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t const parent = ::getpid();
    pid_t const pid = ::fork();
    if (pid < 0) throw std::runtime_error("cannot start " + argv[0]);
    if (pid == 0) {
        // Only async-signal-safe calls between fork and exec.
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (::getppid() != parent) ::_exit(127);
        int const out = ::open(stdout_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        int const err = ::open(stderr_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (out < 0 || err < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) ::_exit(127);
        ::close(out);
        ::close(err);
        ::execve(args[0], args.data(), environ);
        ::_exit(127);
    }
    return pid;
}

// Waits for `pid` until the deadline; the exit status, or nullopt if it is still running.
std::optional<int> wait_until(pid_t pid, std::chrono::steady_clock::time_point deadline) {
    for (;;) {
        int status = 0;
        pid_t done = ::waitpid(pid, &status, WNOHANG);
        if (done == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

}  // namespace

CommandResult run_command(std::vector<std::string> const& argv) {
    TempDir dir;
    auto out = dir.path() / "out";
    pid_t pid = spawn(argv, out, dir.path() / "err");
    int status = 0;
    ::waitpid(pid, &status, 0);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_file(out)};
}

OndaProcess::OndaProcess() : OndaProcess(Options{}) {}

OndaProcess::OndaProcess(Options options) : options_(std::move(options)), data_dir_(dir_.path() / "data") { start(); }

OndaProcess::~OndaProcess() {
    if (running()) stop();
}

void OndaProcess::start() {
    if (running()) throw std::logic_error("onda is already running");
    auto ready = dir_.path() / ("ready-" + std::to_string(++starts_) + ".json");
    std::vector<std::string> argv{ONDA_BINARY,        "serve",        "--listen",     "127.0.0.1:0", "--data-dir",
                                  data_dir_.string(), "--ready-file", ready.string(), "--threads",   "2"};
    if (!options_.settings.contains("transcode.workers")) argv.insert(argv.end(), {"--set", "transcode.workers=0"});
    for (auto const& [key, value] : options_.settings) {
        argv.push_back("--set");
        argv.push_back(key + "=" + value);
    }
    argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());
    if (options_.max_file_bytes)  // prlimit(1) sets the limit and execs onda in the same process
        argv.insert(argv.begin(), {"/usr/bin/prlimit", "--fsize=" + std::to_string(*options_.max_file_bytes)});
    pid_ = spawn(argv, dir_.path() / "stdout.log", dir_.path() / "stderr.log");

    // The server writes the ready file (atomically) once it listens; poll for it with a deadline.
    auto deadline = std::chrono::steady_clock::now() + options_.start_deadline;
    while (!std::filesystem::exists(ready)) {
        if (auto exited = wait_until(pid_, std::chrono::steady_clock::now())) {
            pid_ = -1;
            throw std::runtime_error("onda exited with " + std::to_string(*exited) + " while starting:\n" + log());
        }
        if (std::chrono::steady_clock::now() > deadline) {
            kill9();
            throw std::runtime_error("onda did not become ready in time:\n" + log());
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    auto text = read_file(ready);
    auto colon = text.find(':');
    port_ = static_cast<std::uint16_t>(std::stoi(text.substr(colon + 1)));
}

std::string OndaProcess::url(std::string_view path_and_query) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path_and_query);
}

std::string OndaProcess::token(std::string const& sub, std::string const& role, std::string const& ttl) const {
    auto result = run_command(
        {ONDA_BINARY, "token", "--data-dir", data_dir_.string(), "--sub", sub, "--role", role, "--ttl", ttl});
    if (result.status != 0) throw std::runtime_error("onda token failed");
    auto token = result.output;
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
    return token;
}

int OndaProcess::stop(std::chrono::milliseconds deadline) {
    if (!running()) return -1;
    ::kill(pid_, SIGTERM);
    auto status = wait_until(pid_, std::chrono::steady_clock::now() + deadline);
    if (!status) {
        kill9();
        return -1;
    }
    pid_ = -1;
    return *status;
}

int OndaProcess::wait_for_exit(std::chrono::milliseconds deadline) {
    if (!running()) return -1;
    auto status = wait_until(pid_, std::chrono::steady_clock::now() + deadline);
    if (!status) {
        kill9();
        return -1;
    }
    pid_ = -1;
    return *status;
}

void OndaProcess::kill9() {
    if (!running()) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
}

std::vector<pid_t> OndaProcess::children(std::string_view command) const {
    std::vector<pid_t> pids;
    if (!running()) return pids;
    std::error_code ec;
    auto const tasks = std::filesystem::path("/proc") / std::to_string(pid_) / "task";
    for (auto const& task : std::filesystem::directory_iterator(tasks, ec)) {
        std::ifstream in(task.path() / "children");
        for (pid_t child = 0; in >> child;) {
            // argv is NUL-separated: "/path/onda\0worker\0--id\0…"; the second entry is the command.
            auto const argv = read_file(std::filesystem::path("/proc") / std::to_string(child) / "cmdline");
            auto const first_end = argv.find('\0');
            auto const second = first_end == std::string::npos
                                    ? std::string()
                                    : argv.substr(first_end + 1, argv.find('\0', first_end + 1) - first_end - 1);
            if (command.empty() || second == command) pids.push_back(child);
        }
    }
    return pids;
}

std::string OndaProcess::log() const { return read_file(dir_.path() / "stderr.log"); }

}  // namespace onda::test
