// Conversions run in process on files made by the ffmpeg command line (what `onda convert` does
// in its child process): the announced length is exact, a run from any offset gives the bytes of a
// full run from there, and ffprobe/ffmpeg read every output as a player would.
#include "media/av/convert/convert.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "media/convert/mp3_layout.hpp"
#include "media/av/convert/pcm_source.hpp"
#include "support/media_tools.hpp"
#include "support/temp_dir.hpp"

namespace onda::media::av {
namespace {

using test::decode_errors;
using test::decoded_duration;
using test::output_of;
using test::probed_duration;
using test::quoted;
using test::read_file;
using test::run_ffmpeg;

namespace fs = std::filesystem;

class Convert : public ::testing::Test {
protected:
    void SetUp() override {
        // Five seconds of a chord with noise at 44.1 kHz stereo: a resampled, changing signal.
        ASSERT_TRUE(
            run_ffmpeg("-f lavfi -i 'aevalsrc=0.3*sin(440*2*PI*t)+0.2*sin(660*2*PI*t)+0.05*(random(0)-0.5)|"
                       "0.3*sin(550*2*PI*t):s=44100:d=5' -c:a pcm_s16le " +
                       quoted(source())));
    }
    fs::path source() const { return dir_.path() / "source.wav"; }

    // The output of a run from `offset`, as the child writes it to its standard output.
    Result<std::string> run(ConversionPlan const& plan, std::uint64_t offset, fs::path const& from) {
        auto const out = dir_.path() / ("out-" + std::to_string(runs_++));
        int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) return Error(Errc::internal, "cannot create the output");
        auto converted = blocking::convert(from, plan, offset, fd);
        ::close(fd);
        if (!converted) return converted.error();
        return read_file(out);
    }
    Result<std::string> run(ConversionPlan const& plan, std::uint64_t offset = 0) {
        return run(plan, offset, source());
    }

    fs::path save(std::string const& name, std::string const& bytes) {
        auto const path = dir_.path() / name;
        std::ofstream(path, std::ios::binary) << bytes;
        return path;
    }

    test::TempDir dir_;
    int runs_ = 0;
};

ConvertSource const five_seconds{.duration = 5.0, .sample_rate = 44'100, .channels = 2};

TEST_F(Convert, Mp3HasTheAnnouncedLengthAndPlaysForTheSourceDuration) {
    auto plan = plan_conversion(ConvertFormat::mp3, 192'000, five_seconds).value();
    auto bytes = run(plan);
    ASSERT_TRUE(bytes) << bytes.error().message();
    EXPECT_EQ(bytes->size(), plan.length().value());
    auto const file = save("full.mp3", *bytes);
    EXPECT_NEAR(probed_duration(file), 5.0, 0.1);
    EXPECT_EQ(decode_errors(file), "");
    EXPECT_NEAR(decoded_duration(file), 5.0, 0.1);
}

TEST_F(Convert, Mp3FromAnyOffsetIsTheFullRunFromThere) {
    auto plan = plan_conversion(ConvertFormat::mp3, 128'000, five_seconds).value();
    auto full = run(plan);
    ASSERT_TRUE(full) << full.error().message();
    std::uint64_t const frame = 384;
    std::uint64_t const block = frame * mp3_block_frames;
    std::uint64_t const length = full->size();
    for (std::uint64_t offset : {std::uint64_t{1}, frame - 1, frame, frame + 100, frame + block, frame + block - 7,
                                 frame + 2 * block + 1000, length - frame - 3, length - 1}) {
        auto part = run(plan, offset);
        ASSERT_TRUE(part) << offset << ": " << part.error().message();
        EXPECT_TRUE(*part == full->substr(offset)) << "offset " << offset << ": " << part->size() << " bytes";
    }
}

TEST_F(Convert, Mp3RunsAreRepeatable) {
    auto plan = plan_conversion(ConvertFormat::mp3, 320'000, five_seconds).value();
    auto first = run(plan);
    auto second = run(plan);
    ASSERT_TRUE(first && second);
    EXPECT_TRUE(*first == *second);
}

TEST_F(Convert, Mp3OfACompressedSourceStartsAnywhereToo) {
    // An MP3 source: decoding it from a seek point would give other samples than decoding through.
    auto const mp3 = dir_.path() / "source.mp3";
    ASSERT_TRUE(run_ffmpeg("-i " + quoted(source()) + " -c:a libmp3lame -b:a 128k " + quoted(mp3)));
    auto plan = plan_conversion(ConvertFormat::mp3, 96'000, five_seconds).value();
    auto full = run(plan, 0, mp3);
    ASSERT_TRUE(full) << full.error().message();
    EXPECT_EQ(full->size(), plan.length().value());
    for (std::uint64_t offset : {std::uint64_t{5000}, std::uint64_t{20'000}, full->size() - 10}) {
        auto part = run(plan, offset, mp3);
        ASSERT_TRUE(part) << part.error().message();
        EXPECT_TRUE(*part == full->substr(offset)) << "offset " << offset;
    }
}

TEST_F(Convert, Mp3PadsAShortSourceWithSilenceAndCutsALongOne) {
    auto longer = plan_conversion(ConvertFormat::mp3, 128'000, {.duration = 7.0, .sample_rate = 44'100, .channels = 2});
    auto shorter =
        plan_conversion(ConvertFormat::mp3, 128'000, {.duration = 2.0, .sample_rate = 44'100, .channels = 2});
    for (auto const& plan : {*longer, *shorter}) {
        auto bytes = run(plan);
        ASSERT_TRUE(bytes) << bytes.error().message();
        EXPECT_EQ(bytes->size(), plan.length().value());
        EXPECT_EQ(decode_errors(save("padded.mp3", *bytes)), "");
    }
}

TEST_F(Convert, WavHasTheAnnouncedLengthAndStartsAnywhere) {
    auto plan = plan_conversion(ConvertFormat::wav, std::nullopt, five_seconds).value();
    auto full = run(plan);
    ASSERT_TRUE(full) << full.error().message();
    EXPECT_EQ(full->size(), plan.length().value());
    // Same rate, 16-bit PCM to 16-bit PCM: the samples come through unchanged.
    EXPECT_TRUE(full->substr(44) == read_file(source()).substr(read_file(source()).size() - (full->size() - 44)));
    for (std::uint64_t offset : {std::uint64_t{3}, std::uint64_t{44}, std::uint64_t{177'777}, full->size() - 1}) {
        auto part = run(plan, offset);
        ASSERT_TRUE(part) << part.error().message();
        EXPECT_TRUE(*part == full->substr(offset)) << "offset " << offset;
    }
}

TEST_F(Convert, WavAtAnotherRateStartsAnywhere) {
    // A 44.1 kHz plan of a 48 kHz source resamples: each block with a resampler of its own.
    auto const source48 = dir_.path() / "source48.wav";
    ASSERT_TRUE(run_ffmpeg("-i " + quoted(source()) + " -ar 48000 " + quoted(source48)));
    ConversionPlan plan{.format = ConvertFormat::wav, .sample_rate = 44'100, .channels = 1, .samples = 44'100 * 5};
    auto full = run(plan, 0, source48);
    ASSERT_TRUE(full) << full.error().message();
    EXPECT_EQ(full->size(), plan.length().value());
    for (std::uint64_t offset : {std::uint64_t{88'200 + 44}, std::uint64_t{250'001}}) {
        auto part = run(plan, offset, source48);
        ASSERT_TRUE(part) << part.error().message();
        EXPECT_TRUE(*part == full->substr(offset)) << "offset " << offset;
    }
}

TEST_F(Convert, StreamedFormatsPlayForTheSourceDuration) {
    for (auto format : {ConvertFormat::aac, ConvertFormat::opus, ConvertFormat::ogg, ConvertFormat::flac}) {
        auto plan = plan_conversion(format, std::nullopt, five_seconds).value();
        auto bytes = run(plan);
        ASSERT_TRUE(bytes) << format_name(format) << ": " << bytes.error().message();
        auto const file = save(std::string("out.") + std::string(format_name(format)), *bytes);
        EXPECT_EQ(decode_errors(file), "") << format_name(format);
        EXPECT_NEAR(decoded_duration(file), 5.0, 0.1) << format_name(format);
    }
}

TEST_F(Convert, StreamedFormatsStartOnlyAtZero) {
    auto plan = plan_conversion(ConvertFormat::opus, std::nullopt, five_seconds).value();
    auto bytes = run(plan, 100);
    ASSERT_FALSE(bytes);
    EXPECT_EQ(bytes.error().code(), Errc::invalid_argument);
}

TEST_F(Convert, ANonMediaFileIsUnsupported) {
    auto const junk = save("junk.bin", std::string(10'000, 'x'));
    auto plan = plan_conversion(ConvertFormat::mp3, 128'000, five_seconds).value();
    auto bytes = run(plan, 0, junk);
    ASSERT_FALSE(bytes);
    EXPECT_EQ(bytes.error().code(), Errc::unsupported_media);
}

TEST_F(Convert, AClosedReaderEndsTheRun) {
    std::signal(SIGPIPE, SIG_IGN);  // EPIPE instead of the end of the test (the child just dies of it)
    int ends[2];
    ASSERT_EQ(::pipe2(ends, O_CLOEXEC), 0);
    ::close(ends[0]);
    auto plan = plan_conversion(ConvertFormat::mp3, 128'000, five_seconds).value();
    auto converted = blocking::convert(source(), plan, 0, ends[1]);
    ::close(ends[1]);
    ASSERT_FALSE(converted);
    EXPECT_EQ(converted.error().code(), Errc::cancelled);
}

TEST(PcmSource, ReadsOfTheSameSpanAreTheSameBits) {
    test::TempDir dir;
    auto const file = dir.path() / "tone.wav";
    ASSERT_TRUE(run_ffmpeg("-f lavfi -i 'sine=f=440:r=22050:d=3' " + quoted(file)));
    PlanarSamples early, late, again;
    auto first = PcmSource::open(file, 48'000, 1);
    ASSERT_TRUE(first) << first.error().message();
    ASSERT_TRUE((*first)->read(-500, 20'000, early));
    ASSERT_TRUE((*first)->read(60'000, 10'000, late));
    auto second = PcmSource::open(file, 48'000, 1);
    ASSERT_TRUE(second);
    ASSERT_TRUE((*second)->read(60'000, 10'000, again));
    EXPECT_EQ(late, again);
    for (int i = 0; i < 500; ++i) EXPECT_EQ(early[0][static_cast<std::size_t>(i)], 0.0f);  // before the start
    EXPECT_NE(early[0][10'000], 0.0f);
}

TEST(PcmSource, AdjacentReadsJoinTheSignal) {
    test::TempDir dir;
    auto const file = dir.path() / "tone.wav";
    ASSERT_TRUE(run_ffmpeg("-f lavfi -i 'sine=f=440:r=44100:d=2' " + quoted(file)));
    auto source = PcmSource::open(file, 48'000, 1);
    ASSERT_TRUE(source);
    PlanarSamples whole, part;
    ASSERT_TRUE((*source)->read(0, 96'000, whole));
    auto again = PcmSource::open(file, 48'000, 1);
    ASSERT_TRUE((*again)->read(30'000, 40'000, part));
    // Another resampler start: the same signal to within rounding.
    for (std::size_t i = 0; i < 40'000; i += 97) EXPECT_NEAR(part[0][i], whole[0][30'000 + i], 1e-4) << i;
    auto end = (*source)->end();
    ASSERT_TRUE(end);
    EXPECT_NEAR(static_cast<double>(*end), 96'000, 2);
}

}  // namespace
}  // namespace onda::media::av
