// The `onda` commands. Each returns the process exit code.
#pragma once

#include <chrono>
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

}  // namespace onda::app
