// The `onda-media` command line: the commands that decode media (worker, probe, transcode,
// convert), kept out of `onda` so that the server's process never loads libav (app/media/README.md).
// `onda <command>` runs this program with the same arguments, so both spellings work.
#include <iostream>

#include <CLI/CLI.hpp>

#include "app/commands.hpp"
#include "app/config_flags.hpp"
#include "app/media/commands.hpp"

int main(int argc, char** argv) {
    // The same help lines `onda --help` shows for these commands.
    auto summary = [](std::string_view name) { return std::string(onda::app::media_command_summary(name)); };
    CLI::App app{"onda-media: the media commands of onda (onda serve starts these itself; onda <command> runs them)"};
    app.require_subcommand(1);

    onda::app::ConfigFlags worker_flags;
    std::string worker_id;
    auto* worker = app.add_subcommand("worker", summary("worker"));
    worker_flags.add_to(*worker, false);
    worker->add_option("--id", worker_id, "lease owner name (default: <hostname>.<pid>)");

    onda::app::ConfigFlags probe_flags;
    onda::app::ProbeOptions probe_options;
    std::string probe_file;
    auto* probe = app.add_subcommand("probe", summary("probe"));
    probe_flags.add_to(*probe, false);
    probe->add_option("file", probe_file, "the file (none with --await-job)");
    probe->add_option("--parent-pid", probe_options.parent_pid, "exit when this process (the server) does");
    probe->add_flag("--await-job", probe_options.await_job,
                    "wait for the job (budget and file) on standard input, a Unix socket (the server's use)");

    onda::app::ConfigFlags transcode_flags;
    std::string transcode_file;
    std::string transcode_dir;
    auto* transcode = app.add_subcommand("transcode", summary("transcode"));
    transcode_flags.add_to(*transcode, false);
    transcode->add_option("file", transcode_file, "the media file")->required();
    transcode->add_option("dir", transcode_dir, "where the renditions go (created; must be empty)")->required();

    onda::app::ConfigFlags convert_flags;
    onda::app::ConvertOptions convert_options;
    std::string convert_file;
    auto* convert = app.add_subcommand("convert", summary("convert"));
    convert_flags.add_to(*convert, false);
    convert->add_option("file", convert_file, "the media file (none with --await-job)");
    convert->add_option("--format", convert_options.format, "mp3, aac, opus, ogg, flac or wav");
    convert->add_option("--bitrate", convert_options.bit_rate, "bits per second, e.g. 192k (default: the format's)");
    convert->add_option("--sample-rate", convert_options.sample_rate,
                        "the plan's sample rate (with --channels, --samples)");
    convert->add_option("--channels", convert_options.channels, "the plan's channels, 1 or 2");
    convert->add_option("--samples", convert_options.samples, "the plan's length in samples (mp3, wav)");
    convert->add_option("--offset", convert_options.offset, "start at this byte of the output (mp3, wav)");
    convert->add_option("--parent-pid", convert_options.parent_pid, "exit when this process (the server) does");
    convert->add_flag("--await-job", convert_options.await_job,
                      "wait for the job (options and file) on standard input, a Unix socket (the server's use)");

    CLI11_PARSE(app, argc, argv);

    if (worker->parsed()) {
        auto config = worker_flags.load();
        if (!config) return onda::app::config_error(config.error());
        return onda::app::worker({.config = std::move(*config), .id = worker_id});
    }
    if (probe->parsed()) {
        if (probe_file.empty() && !probe_options.await_job) {
            std::cerr << "onda probe: a file is required\n";
            return 2;
        }
        // A child waiting for the server's job takes its budget from the job, not from a configuration.
        if (!probe_options.await_job) {
            auto config = probe_flags.load();
            if (!config) return onda::app::config_error(config.error());
            probe_options.config = std::move(*config);
        }
        probe_options.file = probe_file;
        return onda::app::probe(probe_options);
    }
    if (transcode->parsed()) {
        auto config = transcode_flags.load();
        if (!config) return onda::app::config_error(config.error());
        return onda::app::transcode(transcode_file, transcode_dir, *config);
    }
    if (convert->parsed()) {
        auto config = convert_flags.load();
        if (!config) return onda::app::config_error(config.error());
        convert_options.config = std::move(*config);
        convert_options.file = convert_file;
        if ((convert_file.empty() || convert_options.format.empty()) && !convert_options.await_job) {
            std::cerr << "onda convert: a file and --format are required\n";
            return 2;
        }
        return onda::app::convert(convert_options);
    }
    return 0;
}
