#include "support/media_tools.hpp"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>

#include <gtest/gtest.h>

namespace onda::test {

std::string quoted(std::filesystem::path const& file) { return "'" + file.string() + "'"; }

bool run_ffmpeg(std::string const& arguments) {
    std::string const command = "timeout 120 ffmpeg -hide_banner -nostdin -loglevel error -y " + arguments;
    return std::system(command.c_str()) == 0;
}

std::string output_of(std::string const& command) {
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
    std::string out;
    std::array<char, 4096> buffer{};
    while (pipe && std::fgets(buffer.data(), buffer.size(), pipe.get())) out += buffer.data();
    return out;
}

std::string read_file(std::filesystem::path const& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

double probed_duration(std::filesystem::path const& file) {
    auto text = output_of("timeout 60 ffprobe -v error -show_entries format=duration -of csv=p=0 " + quoted(file));
    try {
        return std::stod(text);
    } catch (...) {
        return -1;
    }
}

double decoded_duration(std::filesystem::path const& file) {
    std::filesystem::path const wav = file.string() + ".decoded.wav";
    if (!run_ffmpeg("-i " + quoted(file) + " -c:a pcm_s16le " + quoted(wav))) return -1;
    return probed_duration(wav);
}

std::string decode_errors(std::filesystem::path const& file) {
    return output_of("timeout 120 ffmpeg -nostdin -v error -i " + quoted(file) + " -f null - 2>&1");
}

bool decodes_cleanly(std::filesystem::path const& file) {
    auto errors = decode_errors(file);
    EXPECT_EQ(errors, "") << file;
    return errors.empty();
}

}  // namespace onda::test
