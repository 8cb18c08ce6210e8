// The `onda` commands. Each returns the process exit code.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/config.hpp"

namespace onda::app {

struct ServeOptions {
    Config config;
    std::filesystem::path ready_file;  // written with {"port":N} once listening (tests and scripts)
    // The arguments after `onda worker` that give a transcode worker the server's configuration: the
    // configuration file, the data directory and every --set (the environment is inherited).
    std::vector<std::string> worker_arguments;
};

// `onda serve`: runs until SIGINT/SIGTERM, then shuts down gracefully.
int serve(ServeOptions options);

struct WorkerOptions {
    Config config;
    std::string id;  // the lease owner name; empty: "<hostname>.<pid>"
};

// `onda worker`: claims and runs transcode jobs until SIGTERM/SIGINT, its parent's end, or a stall
// (app/worker.cpp).
int worker(WorkerOptions options);

struct TokenOptions {
    Config config;
    std::string sub;
    std::string role = "viewer";
    std::chrono::seconds ttl{24 * 3600};
    std::string name;
    std::string device;
    bool subscriber = false;
};

// `onda token`: prints a token signed with the server's secret.
int token(TokenOptions const& options);

// `onda probe FILE`: prints the probe result as JSON (exit 1 and a JSON error when it is not media).
int probe(std::filesystem::path const& file, Config const& config);

// `onda transcode FILE DIR`: runs the transcode ladder into DIR (in this process, for trying a file
// or benchmarking; the server runs ladders in `onda worker` processes) and prints what it made.
int transcode(std::filesystem::path const& file, std::filesystem::path const& out_dir, Config const& config);

struct ConvertOptions {
    Config config;  // probe limits, when the plan must be made here
    std::filesystem::path file;
    std::string format;
    std::string bit_rate;  // "192k", "192000"; empty: the format's default
    // The plan, when the server made it (all three given): followed as is, so that the output has the
    // length the server announced. Otherwise made here from a probe of the file.
    int sample_rate = 0;
    int channels = 0;
    std::int64_t samples = -1;
    std::uint64_t offset = 0;
    int parent_pid = 0;  // the server that spawned this process: die with it
    // Started ahead of need: wait for the job on standard input (a Unix socket: the options, one per
    // line, and the media as a passed descriptor) instead of taking it from the command line.
    bool await_job = false;
};

// `onda convert FILE`: writes FILE's audio converted to --format on standard output (what the
// server streams for `stream?format=`). Exit 0 when every byte was written; otherwise a message on
// standard error and exit 1 (2 for bad arguments).
int convert(ConvertOptions const& options);

}  // namespace onda::app
