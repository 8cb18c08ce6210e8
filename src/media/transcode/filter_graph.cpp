#include "media/transcode/filter_graph.hpp"

#include <fmt/format.h>

extern "C" {
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/channel_layout.h>
#include <libavutil/pixdesc.h>
}

namespace onda::media {
namespace {

// An AVFilterInOut entry naming pad 0 of `filter`, for avfilter_graph_parse_ptr.
FilterInOut pad(std::string const& label, AVFilterContext* filter, FilterInOut next) {
    FilterInOut entry(avfilter_inout_alloc());
    if (!entry) return nullptr;
    entry->name = av_strdup(label.c_str());
    entry->filter_ctx = filter;
    entry->pad_idx = 0;
    entry->next = next.release();
    return entry;
}

}  // namespace

std::string fan_out_description(std::vector<std::string> const& branches, bool video) {
    if (branches.size() == 1) return "[in]" + branches.front() + "[out0]";
    std::string text = fmt::format("[in]{}={}", video ? "split" : "asplit", branches.size());
    for (std::size_t i = 0; i < branches.size(); ++i) text += fmt::format("[s{}]", i);
    for (std::size_t i = 0; i < branches.size(); ++i) text += fmt::format(";[s{}]{}[out{}]", i, branches[i], i);
    return text;
}

Result<FanOut> FanOut::build(char const* source_filter, std::string const& source_args, char const* sink_filter,
                             std::string const& description, std::size_t sinks) {
    FanOut fan;
    fan.graph_.reset(avfilter_graph_alloc());
    if (!fan.graph_) return Error(Errc::internal, "out of memory");
    // Filters run on this thread only: the worker's encoders take the cores.
    fan.graph_->nb_threads = 1;
    if (int rc = avfilter_graph_create_filter(&fan.source_, avfilter_get_by_name(source_filter), "in",
                                              source_args.c_str(), nullptr, fan.graph_.get());
        rc < 0)
        return av_internal_error("filter source", rc);
    FilterInOut sink_pads;
    for (std::size_t i = sinks; i-- > 0;) {
        AVFilterContext* sink = nullptr;
        auto const name = "out" + std::to_string(i);
        if (int rc = avfilter_graph_create_filter(&sink, avfilter_get_by_name(sink_filter), name.c_str(), nullptr,
                                                  nullptr, fan.graph_.get());
            rc < 0)
            return av_internal_error("filter sink", rc);
        fan.sinks_.insert(fan.sinks_.begin(), sink);
        sink_pads = pad(name, sink, std::move(sink_pads));
        if (!sink_pads) return Error(Errc::internal, "out of memory");
    }
    FilterInOut source_pads = pad("in", fan.source_, nullptr);
    if (!source_pads) return Error(Errc::internal, "out of memory");
    // parse_ptr consumes what it links and leaves the rest in the lists, which are freed here.
    AVFilterInOut* inputs = sink_pads.release();
    AVFilterInOut* outputs = source_pads.release();
    int rc = avfilter_graph_parse_ptr(fan.graph_.get(), description.c_str(), &inputs, &outputs, nullptr);
    FilterInOut left_inputs(inputs);
    FilterInOut left_outputs(outputs);
    if (rc < 0) return av_internal_error("filter graph '" + description + "'", rc);
    if (left_inputs || left_outputs) return Error(Errc::internal, "filter graph '" + description + "' left pads open");
    if (rc = avfilter_graph_config(fan.graph_.get(), nullptr); rc < 0)
        return av_internal_error("configure filter graph", rc);
    return fan;
}

Result<FanOut> FanOut::audio(AVFrame const& first, AVRational time_base, std::string const& description,
                             std::size_t sinks) {
    AVChannelLayout layout{};
    if (first.ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)
        av_channel_layout_default(&layout, first.ch_layout.nb_channels);
    else if (int rc = av_channel_layout_copy(&layout, &first.ch_layout); rc < 0)
        return av_internal_error("channel layout", rc);
    char layout_name[128] = {};
    av_channel_layout_describe(&layout, layout_name, sizeof layout_name);
    av_channel_layout_uninit(&layout);
    char const* format = av_get_sample_fmt_name(static_cast<AVSampleFormat>(first.format));
    if (!format) return Error(Errc::unsupported_media, "the decoder gave audio in no known sample format");
    auto const args = fmt::format("time_base={}/{}:sample_rate={}:sample_fmt={}:channel_layout={}", time_base.num,
                                  time_base.den, first.sample_rate, format, layout_name);
    return build("abuffer", args, "abuffersink", description, sinks);
}

Result<FanOut> FanOut::video(AVFrame const& first, AVRational time_base, std::string const& description,
                             std::size_t sinks) {
    AVRational const aspect = first.sample_aspect_ratio.num > 0 ? first.sample_aspect_ratio : AVRational{1, 1};
    auto const args = fmt::format("video_size={}x{}:pix_fmt={}:time_base={}/{}:pixel_aspect={}/{}", first.width,
                                  first.height, first.format, time_base.num, time_base.den, aspect.num, aspect.den);
    return build("buffer", args, "buffersink", description, sinks);
}

Result<void> FanOut::push(AVFrame* frame) {
    if (int rc = av_buffersrc_add_frame_flags(source_, frame, AV_BUFFERSRC_FLAG_KEEP_REF); rc < 0)
        return av_internal_error("filter", rc);
    return ok();
}

Result<bool> FanOut::pull(std::size_t index, AVFrame& frame) {
    int rc = av_buffersink_get_frame(sinks_[index], &frame);
    if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return false;
    if (rc < 0) return av_internal_error("filter", rc);
    return true;
}

AVRational FanOut::sink_time_base(std::size_t index) const { return av_buffersink_get_time_base(sinks_[index]); }

void FanOut::set_frame_size(std::size_t index, int samples) {
    av_buffersink_set_frame_size(sinks_[index], static_cast<unsigned>(samples));
}

}  // namespace onda::media
