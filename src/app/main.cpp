// The `onda` command line: serve, worker, token, probe, transcode, convert. Configuration comes from
// defaults, then the TOML file (--config, else ./onda.toml when present), then ONDA_* variables,
// then flags.
#include <cstdlib>
#include <iostream>
#include <map>

#include <CLI/CLI.hpp>

#include "app/commands.hpp"

extern char** environ;

namespace {

std::map<std::string, std::string> environment() {
    std::map<std::string, std::string> values;
    for (char** entry = environ; *entry; ++entry) {
        std::string_view text(*entry);
        auto eq = text.find('=');
        if (eq != std::string_view::npos) values.emplace(text.substr(0, eq), text.substr(eq + 1));
    }
    return values;
}

// Flags shared by every command that reads the configuration.
struct ConfigFlags {
    std::string file;
    std::string listen;
    std::string data_dir;
    unsigned threads = 0;
    std::vector<std::string> settings;  // --set key=value

    void add_to(CLI::App& command, bool server_flags) {
        command.add_option("-c,--config", file, "TOML configuration file (default: ./onda.toml when present)");
        command.add_option("--data-dir", data_dir, "data directory (default ./onda-data)");
        command.add_option("--set", settings, "any setting as key=value, e.g. --set limits.max_upload_bytes=1GiB");
        if (server_flags) {
            command.add_option("-l,--listen", listen, "HTTP address (default 127.0.0.1:8080)");
            command.add_option("-t,--threads", threads, "worker threads (default: one per core)");
        }
    }

    std::filesystem::path config_file() const {
        std::filesystem::path path = file;
        if (path.empty() && std::filesystem::exists("onda.toml")) path = "onda.toml";
        return path;
    }

    // What `onda worker` needs to load the same configuration (the environment it inherits).
    std::vector<std::string> worker_arguments(onda::Config const& config) const {
        std::vector<std::string> arguments;
        if (auto path = config_file(); !path.empty())
            arguments.insert(arguments.end(), {"--config", std::filesystem::absolute(path).string()});
        arguments.insert(arguments.end(), {"--data-dir", std::filesystem::absolute(config.data_dir).string()});
        for (auto const& setting : settings) arguments.insert(arguments.end(), {"--set", setting});
        return arguments;
    }

    onda::Result<onda::Config> load() const {
        onda::Config config;
        std::filesystem::path const path = config_file();
        if (!path.empty())
            if (auto r = onda::apply_config_file(config, path); !r) return r.error();
        if (auto r = onda::apply_config_env(config, environment()); !r) return r.error();
        if (!listen.empty()) config.server.listen = listen;
        if (!data_dir.empty()) config.data_dir = data_dir;
        if (threads) config.server.threads = threads;
        for (auto const& setting : settings) {
            auto eq = setting.find('=');
            if (eq == std::string::npos)
                return onda::Error(onda::Errc::invalid_argument, "--set wants key=value, got '" + setting + "'");
            if (auto r = onda::set_config_value(config, setting.substr(0, eq), setting.substr(eq + 1)); !r)
                return r.error();
        }
        return config;
    }
};

int config_error(onda::Error const& error) {
    std::cerr << "onda: configuration: " << error.message() << "\n";
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"onda: a media streaming server"};
    app.require_subcommand(1);

    ConfigFlags serve_flags;
    std::string ready_file;
    auto* serve = app.add_subcommand("serve", "run the server");
    serve_flags.add_to(*serve, true);
    serve->add_option("--ready-file", ready_file, "write {\"port\":N} here once listening");

    ConfigFlags worker_flags;
    std::string worker_id;
    auto* worker = app.add_subcommand("worker", "run transcode jobs (onda serve starts these itself)");
    worker_flags.add_to(*worker, false);
    worker->add_option("--id", worker_id, "lease owner name (default: <hostname>.<pid>)");

    ConfigFlags token_flags;
    onda::app::TokenOptions token_options;
    std::string ttl = "24h";
    auto* token = app.add_subcommand("token", "print a token signed with the server's secret");
    token_flags.add_to(*token, false);
    token->add_option("--sub", token_options.sub, "user id")->required();
    token->add_option("--role", token_options.role, "viewer, creator, moderator or admin (default viewer)");
    token->add_option("--ttl", ttl, "lifetime, e.g. 30m, 24h, 7d (default 24h)");
    token->add_option("--name", token_options.name, "display name");
    token->add_option("--device", token_options.device, "device id");
    token->add_flag("--subscriber", token_options.subscriber, "mark the user as a subscriber");

    ConfigFlags probe_flags;
    std::string probe_file;
    auto* probe = app.add_subcommand("probe", "print what a media file is, as JSON");
    probe_flags.add_to(*probe, false);
    probe->add_option("file", probe_file, "the file")->required();

    ConfigFlags transcode_flags;
    std::string transcode_file;
    std::string transcode_dir;
    auto* transcode = app.add_subcommand("transcode", "run the transcode ladder on a file, into an empty directory");
    transcode_flags.add_to(*transcode, false);
    transcode->add_option("file", transcode_file, "the media file")->required();
    transcode->add_option("dir", transcode_dir, "where the renditions go (created; must be empty)")->required();

    ConfigFlags convert_flags;
    onda::app::ConvertOptions convert_options;
    std::string convert_file;
    auto* convert = app.add_subcommand(
        "convert", "write a media file's audio as mp3, aac, opus, ogg, flac or wav to standard output");
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

    if (serve->parsed()) {
        auto config = serve_flags.load();
        if (!config) return config_error(config.error());
        auto worker_arguments = serve_flags.worker_arguments(*config);
        return onda::app::serve(
            {.config = std::move(*config), .ready_file = ready_file, .worker_arguments = std::move(worker_arguments)});
    }
    if (worker->parsed()) {
        auto config = worker_flags.load();
        if (!config) return config_error(config.error());
        return onda::app::worker({.config = std::move(*config), .id = worker_id});
    }
    if (token->parsed()) {
        auto config = token_flags.load();
        if (!config) return config_error(config.error());
        auto lifetime = onda::parse_duration(ttl);
        if (!lifetime || lifetime->count() < 1000) {
            std::cerr << "onda token: --ttl must be a duration of at least 1s, e.g. 24h\n";
            return 2;
        }
        token_options.ttl = std::chrono::duration_cast<std::chrono::seconds>(*lifetime);
        token_options.config = std::move(*config);
        return onda::app::token(token_options);
    }
    if (probe->parsed()) {
        auto config = probe_flags.load();
        if (!config) return config_error(config.error());
        return onda::app::probe(probe_file, *config);
    }
    if (transcode->parsed()) {
        auto config = transcode_flags.load();
        if (!config) return config_error(config.error());
        return onda::app::transcode(transcode_file, transcode_dir, *config);
    }
    if (convert->parsed()) {
        auto config = convert_flags.load();
        if (!config) return config_error(config.error());
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
