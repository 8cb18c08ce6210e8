// The `onda` commands that need no libav (the others: app/media/commands.hpp). Each returns the
// process exit code.
#pragma once

#include <array>
#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"

namespace onda::app {

struct ServeOptions {
    Config config;
    std::filesystem::path ready_file;  // written with {"port":N} once listening (tests and scripts)
    // The arguments after `onda-media worker` that give a transcode worker the server's configuration: the
    // configuration file, the data directory and every --set (the environment is inherited).
    std::vector<std::string> worker_arguments;
};

// `onda serve`: runs until SIGINT/SIGTERM, then shuts down gracefully.
int serve(ServeOptions options);

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

// `onda-media` (app/media/main.cpp), the program that decodes media: the file of that name in the
// directory of this process's executable. The server starts its probe, conversion and transcode
// children from it; `onda probe|convert|transcode|worker` becomes it.
std::filesystem::path media_program();

// The commands `onda-media` runs, with the line of help both programs show for each.
struct MediaCommand {
    std::string_view name;
    std::string_view summary;
};
inline constexpr std::array<MediaCommand, 4> media_commands{{
    {"worker", "run transcode jobs (onda serve starts these itself)"},
    {"probe", "print what a media file is, as JSON"},
    {"transcode", "run the transcode ladder on a file, into an empty directory"},
    {"convert", "write a media file's audio as mp3, aac, opus, ogg, flac or wav to standard output"},
}};
// The summary of one of media_commands; "" for another name.
std::string_view media_command_summary(std::string_view name);

}  // namespace onda::app
