// A libavfilter chain with one source and one sink: what one encoder of a ladder needs from the
// decoded frames (aresample/aformat for audio, scale/format for video). The chain is described in
// libavfilter's text syntax, e.g. "aresample=44100,aformat=sample_fmts=fltp".
#pragma once

#include <string>

#include "core/error.hpp"
#include "media/av/libav.hpp"

namespace onda::media::av {

class FilterChain {
public:
    // The source is configured from `first` (the first decoded frame): its format, rate and layout
    // or picture size. `time_base` is the timestamps' unit of the frames that will be pushed.
    static Result<FilterChain> audio(AVFrame const& first, AVRational time_base, std::string const& chain);
    static Result<FilterChain> video(AVFrame const& first, AVRational time_base, std::string const& chain);

    // Pushes a frame into the chain (nullptr: the end). The frame is left as it was.
    Result<void> push(AVFrame* frame);
    // The next filtered frame into `frame`; false when there is none now.
    Result<bool> pull(AVFrame& frame);
    // The unit of the filtered frames' timestamps.
    AVRational time_base() const;
    // Makes the chain hand out frames of exactly `samples` (encoders with a fixed frame size).
    void set_frame_size(int samples);

private:
    static Result<FilterChain> build(char const* source_filter, std::string const& source_args, char const* sink_filter,
                                     std::string const& chain);

    FilterGraph graph_;
    AVFilterContext* source_ = nullptr;
    AVFilterContext* sink_ = nullptr;
};

}  // namespace onda::media::av
