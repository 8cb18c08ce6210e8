// The commands of `onda-media` (app/media/main.cpp), the program that decodes media: everything
// here runs libav on files that may be hostile. `onda serve` starts its children from it; users
// call it as `onda probe|transcode|convert|worker`, which becomes it. Each returns the exit code.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/config.hpp"

namespace onda::app {

struct WorkerOptions {
    Config config;
    std::string id;  // the lease owner name; empty: "<hostname>.<pid>"
};

// `onda-media worker`: claims and runs transcode jobs until SIGTERM/SIGINT, its parent's end, or a stall
// (app/media/worker.cpp).
int worker(WorkerOptions options);

struct ProbeOptions {
    Config config;  // the probe's budget (probe.timeout, probe.max_bytes)
    std::filesystem::path file;
    int parent_pid = 0;  // the server that spawned this process: die with it
    // Started ahead of need by the server (media/prober.hpp): wait for the job on standard input (a
    // Unix socket: the budget and the file's name as JSON, the file as a passed descriptor).
    bool await_job = false;
};

// `onda probe FILE`: prints the probe result as JSON (exit 1 and a JSON error when it is not media).
int probe(ProbeOptions const& options);

// `onda transcode FILE DIR`: runs the transcode ladder into DIR (in this process, for trying a file
// or benchmarking; the server runs ladders in `onda-media worker` processes) and prints what it made.
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
