// The ffmpeg and ffprobe command lines as tests use them: to make real media, and to read back and
// decode what onda wrote, as a player would. Every run is bounded by timeout(1).
#pragma once

#include <filesystem>
#include <string>

namespace onda::test {

// `file` in single quotes, for a shell command line (test paths hold no quote).
std::string quoted(std::filesystem::path const& file);

// Runs `ffmpeg -y … arguments` (inputs, options, output) and reports whether it worked.
bool run_ffmpeg(std::string const& arguments);

// What a shell command prints on its standard output.
std::string output_of(std::string const& command);

std::string read_file(std::filesystem::path const& file);

// The duration ffprobe reads from a file or playlist's headers, in seconds; -1 when it cannot.
double probed_duration(std::filesystem::path const& file);

// Seconds of audio ffmpeg decodes from `file` (for containers whose headers state no duration).
double decoded_duration(std::filesystem::path const& file);

// What ffmpeg says while decoding all of `file`: empty when every frame decodes.
std::string decode_errors(std::filesystem::path const& file);
// The same as a test expectation (it fails the test, naming the file and what ffmpeg said).
bool decodes_cleanly(std::filesystem::path const& file);

}  // namespace onda::test
