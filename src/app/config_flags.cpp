#include "app/config_flags.hpp"

#include <iostream>
#include <map>

extern char** environ;

namespace onda::app {
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

}  // namespace

void ConfigFlags::add_to(CLI::App& command, bool server_flags) {
    command.add_option("-c,--config", file, "TOML configuration file (default: ./onda.toml when present)");
    command.add_option("--data-dir", data_dir, "data directory (default ./onda-data)");
    command.add_option("--set", settings, "any setting as key=value, e.g. --set limits.max_upload_bytes=1GiB");
    if (server_flags) {
        command.add_option("-l,--listen", listen, "HTTP address (default 127.0.0.1:8080)");
        command.add_option("-t,--threads", threads, "worker threads (default: one per core)");
    }
}

std::filesystem::path ConfigFlags::config_file() const {
    std::filesystem::path path = file;
    if (path.empty() && std::filesystem::exists("onda.toml")) path = "onda.toml";
    return path;
}

std::vector<std::string> ConfigFlags::worker_arguments(Config const& config) const {
    std::vector<std::string> arguments;
    if (auto path = config_file(); !path.empty())
        arguments.insert(arguments.end(), {"--config", std::filesystem::absolute(path).string()});
    arguments.insert(arguments.end(), {"--data-dir", std::filesystem::absolute(config.data_dir).string()});
    for (auto const& setting : settings) arguments.insert(arguments.end(), {"--set", setting});
    return arguments;
}

Result<Config> ConfigFlags::load() const {
    Config config;
    std::filesystem::path const path = config_file();
    if (!path.empty())
        if (auto r = apply_config_file(config, path); !r) return r.error();
    if (auto r = apply_config_env(config, environment()); !r) return r.error();
    if (!listen.empty()) config.server.listen = listen;
    if (!data_dir.empty()) config.data_dir = data_dir;
    if (threads) config.server.threads = threads;
    for (auto const& setting : settings) {
        auto eq = setting.find('=');
        if (eq == std::string::npos)
            return Error(Errc::invalid_argument, "--set wants key=value, got '" + setting + "'");
        if (auto r = set_config_value(config, setting.substr(0, eq), setting.substr(eq + 1)); !r) return r.error();
    }
    return config;
}

int config_error(Error const& error) {
    std::cerr << "onda: configuration: " << error.message() << "\n";
    return 2;
}

}  // namespace onda::app
