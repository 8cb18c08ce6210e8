#include "media/av/transcode/filter_chain.hpp"

#include <fmt/format.h>

extern "C" {
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/channel_layout.h>
#include <libavutil/pixdesc.h>
}

namespace onda::media::av {
namespace {

// An AVFilterInOut entry naming pad 0 of `filter`, for avfilter_graph_parse_ptr.
FilterInOut pad(std::string const& label, AVFilterContext* filter) {
    FilterInOut entry(avfilter_inout_alloc());
    if (!entry) return nullptr;
    entry->name = av_strdup(label.c_str());
    entry->filter_ctx = filter;
    entry->pad_idx = 0;
    return entry;
}

}  // namespace

Result<FilterChain> FilterChain::build(char const* source_filter, std::string const& source_args,
                                       char const* sink_filter, std::string const& chain) {
    FilterChain built;
    built.graph_.reset(avfilter_graph_alloc());
    if (!built.graph_) return Error(Errc::internal, "out of memory");
    // One thread per chain: a ladder runs its chains side by side (see lane.hpp).
    built.graph_->nb_threads = 1;
    if (int rc = avfilter_graph_create_filter(&built.source_, avfilter_get_by_name(source_filter), "in",
                                              source_args.c_str(), nullptr, built.graph_.get());
        rc < 0)
        return av_internal_error("filter source", rc);
    if (int rc = avfilter_graph_create_filter(&built.sink_, avfilter_get_by_name(sink_filter), "out", nullptr, nullptr,
                                              built.graph_.get());
        rc < 0)
        return av_internal_error("filter sink", rc);
    FilterInOut sink_pad = pad("out", built.sink_);
    FilterInOut source_pad = pad("in", built.source_);
    if (!sink_pad || !source_pad) return Error(Errc::internal, "out of memory");
    // parse_ptr consumes what it links and leaves the rest in the lists, which are freed here.
    AVFilterInOut* inputs = sink_pad.release();
    AVFilterInOut* outputs = source_pad.release();
    auto const description = "[in]" + chain + "[out]";
    int rc = avfilter_graph_parse_ptr(built.graph_.get(), description.c_str(), &inputs, &outputs, nullptr);
    FilterInOut left_inputs(inputs);
    FilterInOut left_outputs(outputs);
    if (rc < 0) return av_internal_error("filter chain '" + chain + "'", rc);
    if (left_inputs || left_outputs) return Error(Errc::internal, "filter chain '" + chain + "' left pads open");
    if (rc = avfilter_graph_config(built.graph_.get(), nullptr); rc < 0)
        return av_internal_error("configure filter chain", rc);
    return built;
}

Result<FilterChain> FilterChain::audio(AVFrame const& first, AVRational time_base, std::string const& chain) {
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
    return build("abuffer", args, "abuffersink", chain);
}

Result<FilterChain> FilterChain::video(AVFrame const& first, AVRational time_base, std::string const& chain) {
    AVRational const aspect = first.sample_aspect_ratio.num > 0 ? first.sample_aspect_ratio : AVRational{1, 1};
    auto const args = fmt::format("video_size={}x{}:pix_fmt={}:time_base={}/{}:pixel_aspect={}/{}", first.width,
                                  first.height, first.format, time_base.num, time_base.den, aspect.num, aspect.den);
    return build("buffer", args, "buffersink", chain);
}

Result<void> FilterChain::push(AVFrame* frame) {
    if (int rc = av_buffersrc_add_frame_flags(source_, frame, AV_BUFFERSRC_FLAG_KEEP_REF); rc < 0)
        return av_internal_error("filter", rc);
    return ok();
}

Result<bool> FilterChain::pull(AVFrame& frame) {
    int rc = av_buffersink_get_frame(sink_, &frame);
    if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return false;
    if (rc < 0) return av_internal_error("filter", rc);
    return true;
}

AVRational FilterChain::time_base() const { return av_buffersink_get_time_base(sink_); }

void FilterChain::set_frame_size(int samples) { av_buffersink_set_frame_size(sink_, static_cast<unsigned>(samples)); }

}  // namespace onda::media::av
