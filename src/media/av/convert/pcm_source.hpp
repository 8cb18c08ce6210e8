// A source file's audio as the signal a conversion encodes: float samples at the plan's sample
// rate and channel count, indexed from the first decoded sample, silence before it and after the
// end. Reads of the same span give the same bits whatever was read before, which is what lets a
// Range request start a conversion in the middle and still produce the bytes of a full run.
//
// How: the file is always decoded from its start (seeking in a compressed stream lands on
// different samples than decoding through it does), and each sample is brought to the plan's
// channel layout in a step that looks at that sample alone. Only the change of sample rate looks
// at neighbouring samples; each read() therefore runs a fresh resampler over the input it needs,
// starting a margin before it at an input position the read's first sample alone determines.
// Consecutive reads of adjacent spans join smoothly (every read sees the real signal around it);
// overlapping reads agree to within rounding.
//
// Cost: a read at time t decodes (without resampling or encoding) everything before t: reading
// the bytes for PCM, about t/300 seconds of CPU for MP3 or AAC.
//
// This runs untrusted decoders: only in the `onda-media convert` child process.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "core/error.hpp"
#include "media/av/libav.hpp"
#include "media/av/detail/input_file.hpp"

namespace onda::media::av {

// One vector of samples per channel.
using PlanarSamples = std::vector<std::vector<float>>;

class PcmSource {
public:
    // The best audio stream of `file`; unsupported_media when there is none or it cannot be decoded.
    static Result<std::unique_ptr<PcmSource>> open(std::filesystem::path const& file, int sample_rate, int channels);

    ~PcmSource();
    PcmSource(PcmSource const&) = delete;
    PcmSource& operator=(PcmSource const&) = delete;

    // Samples [first, first + count) of the signal into `out` (resized to channels × count).
    // `first` may be negative. Reads must not go backwards: `first` never below an earlier read's
    // first (what lies before it is no longer kept). unsupported_media when the file could not be
    // decoded at all.
    Result<void> read(std::int64_t first, std::int64_t count, PlanarSamples& out);

    // Once the input has ended: how many output samples the signal has.
    std::optional<std::int64_t> end() const;
    int channels() const { return channels_; }

private:
    PcmSource(int sample_rate, int channels);
    Result<void> open_input(std::filesystem::path const& file);
    // Decodes until `input_end` input samples are kept or the input ends.
    Result<void> decode_until(std::int64_t input_end);
    Result<void> decode_packet(AVPacket const* packet);
    Result<void> keep(AVFrame const& frame);
    Result<void> flush_normalizer();
    void forget_before(std::int64_t input_index);
    Result<void> resample(std::int64_t first, std::int64_t count, PlanarSamples& out);

    struct State;
    std::unique_ptr<State> state_;
    int sample_rate_;
    int channels_;
};

}  // namespace onda::media::av
