// The real `onda serve` binary, started for one test on 127.0.0.1 with an ephemeral port and its
// own data directory. The destructor stops it (SIGTERM, then SIGKILL after a deadline).
//
// Example:
//   OndaProcess onda({.settings = {{"auth.default_visibility", "public"}}});
//   auto token = onda.token("alice", "creator");
//   auto res = http_request({.method = "GET", .url = onda.url("/healthz")});
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

#include "support/temp_dir.hpp"

namespace onda::test {

class OndaProcess {
public:
    struct Options {
        // Passed as --set key=value. Transcoding is off (transcode.workers=0) unless set here: tests of
        // other features need neither wait for a worker nor race with the files it writes.
        std::map<std::string, std::string> settings;
        std::vector<std::string> extra_args;
        std::chrono::milliseconds start_deadline{15'000};
        // RLIMIT_FSIZE for the server: writes past it fail (EFBIG) as on a full disk.
        std::optional<std::uint64_t> max_file_bytes;
    };

    OndaProcess();
    explicit OndaProcess(Options options);
    ~OndaProcess();
    OndaProcess(OndaProcess const&) = delete;
    OndaProcess& operator=(OndaProcess const&) = delete;

    std::uint16_t port() const { return port_; }
    std::string url(std::string_view path_and_query) const;
    std::filesystem::path const& data_dir() const { return data_dir_; }
    // What the next start() runs with (a test may change it while the server is stopped).
    Options& options() { return options_; }
    pid_t pid() const { return pid_; }
    bool running() const { return pid_ > 0; }

    // `onda token --sub … --role …` against this server's data dir.
    std::string token(std::string const& sub, std::string const& role = "viewer", std::string const& ttl = "1h") const;

    // SIGTERM and wait; returns the exit status (or -1 if it had to be killed).
    int stop(std::chrono::milliseconds deadline = std::chrono::milliseconds(15'000));
    // The server's child processes, from /proc/<pid>/task/*/children; with `command`, only those
    // running that `onda` command ("worker" for transcode workers, "convert" for conversions).
    std::vector<pid_t> children(std::string_view command = {}) const;
    // Waits for the server to exit by itself (after a signal the test sent); its exit status, or -1
    // (and SIGKILL) if it is still running at the deadline.
    int wait_for_exit(std::chrono::milliseconds deadline = std::chrono::milliseconds(15'000));
    // SIGKILL and reap: a crash, as far as the data on disk can tell.
    void kill9();
    // Starts again on the same data dir (a new port).
    void start();

    // What the server logged so far.
    std::string log() const;

private:
    Options options_;
    TempDir dir_;
    std::filesystem::path data_dir_;
    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
    unsigned starts_ = 0;
};

// Runs a command line, returns its exit status and standard output.
struct CommandResult {
    int status = -1;
    std::string output;
};
CommandResult run_command(std::vector<std::string> const& argv);

}  // namespace onda::test
