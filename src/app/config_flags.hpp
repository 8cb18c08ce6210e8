// The flags every `onda` and `onda-media` command that reads the configuration shares, and how they
// load it: defaults, then the TOML file (--config, else ./onda.toml when present), then ONDA_*
// variables, then flags.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/config.hpp"
#include "core/error.hpp"

namespace onda::app {

struct ConfigFlags {
    std::string file;
    std::string listen;
    std::string data_dir;
    unsigned threads = 0;
    std::vector<std::string> settings;  // --set key=value

    // --config, --data-dir and --set; with `server_flags`, --listen and --threads too.
    void add_to(CLI::App& command, bool server_flags);

    std::filesystem::path config_file() const;

    // What an `onda-media worker` needs to load the same configuration (the environment it inherits).
    std::vector<std::string> worker_arguments(Config const& config) const;

    Result<Config> load() const;
};

// Says what is wrong with the configuration on standard error; the exit code (2).
int config_error(Error const& error);

}  // namespace onda::app
