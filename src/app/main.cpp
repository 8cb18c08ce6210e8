// The `onda` command line: serve and token here; worker, probe, transcode and convert decode media,
// so they run in `onda-media` (app/media/main.cpp), the program beside this one, which this one
// becomes (exec) with the same arguments. That keeps libav out of the server's process.
// Configuration comes from defaults, then the TOML file (--config, else ./onda.toml when present),
// then ONDA_* variables, then flags.
#include <cerrno>
#include <cstring>
#include <iostream>

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "app/commands.hpp"
#include "app/config_flags.hpp"

namespace {

bool is_media_command(char const* name) { return !onda::app::media_command_summary(name).empty(); }

// The footer of `onda --help`: the commands that run in onda-media.
std::string media_commands_help() {
    std::string help = "Commands that decode media (run by onda-media, beside this program):";
    for (auto const& command : onda::app::media_commands)
        help += fmt::format("\n  {:<10} {}", command.name, command.summary);
    return help;
}

// Becomes `onda-media` with the same arguments; returns only when that fails.
int run_media_command(char** argv) {
    std::string const program = onda::app::media_program().string();
    ::execv(program.c_str(), argv);
    std::cerr << "onda: cannot run " << program << ": " << std::strerror(errno) << "\n";
    return 127;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc > 1 && is_media_command(argv[1])) return run_media_command(argv);

    CLI::App app{"onda: a media streaming server"};
    app.require_subcommand(1);
    app.footer(media_commands_help());

    onda::app::ConfigFlags serve_flags;
    std::string ready_file;
    auto* serve = app.add_subcommand("serve", "run the server");
    serve_flags.add_to(*serve, true);
    serve->add_option("--ready-file", ready_file, "write {\"port\":N} here once listening");

    onda::app::ConfigFlags token_flags;
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

    CLI11_PARSE(app, argc, argv);

    if (serve->parsed()) {
        auto config = serve_flags.load();
        if (!config) return onda::app::config_error(config.error());
        auto worker_arguments = serve_flags.worker_arguments(*config);
        return onda::app::serve(
            {.config = std::move(*config), .ready_file = ready_file, .worker_arguments = std::move(worker_arguments)});
    }
    if (token->parsed()) {
        auto config = token_flags.load();
        if (!config) return onda::app::config_error(config.error());
        auto lifetime = onda::parse_duration(ttl);
        if (!lifetime || lifetime->count() < 1000) {
            std::cerr << "onda token: --ttl must be a duration of at least 1s, e.g. 24h\n";
            return 2;
        }
        token_options.ttl = std::chrono::duration_cast<std::chrono::seconds>(*lifetime);
        token_options.config = std::move(*config);
        return onda::app::token(token_options);
    }
    return 0;
}
