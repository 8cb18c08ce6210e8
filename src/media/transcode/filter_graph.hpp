// A libavfilter graph with one source and several sinks: the "decode once, encode many" fan-out.
// The graph is described in libavfilter's text syntax, with the source's output labelled [in] and
// the sinks' inputs labelled [out0], [out1], …; split and format conversion happen inside it.
#pragma once

#include <string>
#include <vector>

#include "core/error.hpp"
#include "media/av.hpp"

namespace onda::media {

class FanOut {
public:
    // The source is configured from `first` (the first decoded frame): its format, rate and layout
    // or picture size. `time_base` is the timestamps' unit of the frames that will be pushed.
    static Result<FanOut> audio(AVFrame const& first, AVRational time_base, std::string const& description,
                                std::size_t sinks);
    static Result<FanOut> video(AVFrame const& first, AVRational time_base, std::string const& description,
                                std::size_t sinks);

    // Pushes a frame into the graph (nullptr: the end). The frame is left as it was.
    Result<void> push(AVFrame* frame);
    // The next frame of sink `index` into `frame`; false when it has none now.
    Result<bool> pull(std::size_t index, AVFrame& frame);
    AVRational sink_time_base(std::size_t index) const;
    // Makes a sink hand out frames of exactly `samples` (encoders with a fixed frame size).
    void set_frame_size(std::size_t index, int samples);
    std::size_t sinks() const { return sinks_.size(); }

private:
    static Result<FanOut> build(char const* source_filter, std::string const& source_args, char const* sink_filter,
                                std::string const& description, std::size_t sinks);

    FilterGraph graph_;
    AVFilterContext* source_ = nullptr;
    std::vector<AVFilterContext*> sinks_;
};

// "[in]asplit=3[s0][s1][s2];[s0]…[out0];[s1]…[out1];[s2]…[out2]" (or "[in]…[out0]" for one branch)
// from the per-branch filter chains.
std::string fan_out_description(std::vector<std::string> const& branches, bool video);

}  // namespace onda::media
