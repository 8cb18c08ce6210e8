// The encoder and muxer of a streamed conversion (aac in ADTS, opus and vorbis in Ogg, flac): fed
// the signal block by block, it writes the container's bytes to a ByteSink as they are made, and
// flushes them after every block so that a listener's first bytes do not wait for a full buffer.
#pragma once

#include <cstdint>
#include <memory>

#include "core/error.hpp"
#include "media/av/convert/byte_sink.hpp"
#include "media/av/convert/pcm_source.hpp"
#include "media/convert/plan.hpp"

namespace onda::media::av {

class StreamedEncoder {
public:
    // Writes the container's header. `sink` must outlive the encoder.
    static Result<std::unique_ptr<StreamedEncoder>> open(ConversionPlan const& plan, ByteSink& sink);

    ~StreamedEncoder();
    StreamedEncoder(StreamedEncoder const&) = delete;
    StreamedEncoder& operator=(StreamedEncoder const&) = delete;

    // Encodes the first `count` samples of `samples` (planar float at the plan's rate).
    Result<void> write(PlanarSamples const& samples, std::int64_t count);
    // Encodes what is left, writes the container's trailer and flushes.
    Result<void> finish();

    struct State;

private:
    explicit StreamedEncoder(ByteSink& sink);
    Result<void> open_outputs(ConversionPlan const& plan);
    Result<void> encode_pending(bool last);
    Result<void> encode(AVFrame const* frame);
    Result<void> flush_bytes();

    std::unique_ptr<State> state_;
};

}  // namespace onda::media::av
