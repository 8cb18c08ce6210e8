// One owner for each libav object the media module holds, and the translation of AVERROR codes into
// onda's Error. libav is C: every pointer it hands out has exactly one function that frees it, and
// the deleters below are those functions.
//
// Example:
//   IoBuffer buffer(static_cast<unsigned char*>(av_malloc(size)));
//   IoContext io(avio_alloc_context(buffer.get(), size, 0, &source, read, nullptr, seek));
//   if (io) buffer.release();  // the AVIOContext owns the buffer from here on
#pragma once

#include <memory>
#include <string_view>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavformat/avformat.h>
#include <libavformat/avio.h>
#include <libavutil/frame.h>
#include <libavutil/mem.h>
#include <libswscale/swscale.h>
}

#include "core/error.hpp"

namespace onda::media::av {

// An input opened with avformat_open_input, or allocated with avformat_alloc_context and not yet
// opened. A custom AVIOContext (AVFMT_FLAG_CUSTOM_IO) is not closed with it: its owner must outlive
// this one, so declare the IoContext first.
struct CloseInput {
    void operator()(AVFormatContext* context) const { avformat_close_input(&context); }
};
using InputContext = std::unique_ptr<AVFormatContext, CloseInput>;

// A buffer from av_malloc, before an AVIOContext takes it over.
struct FreeAvMemory {
    void operator()(unsigned char* memory) const { av_free(memory); }
};
using IoBuffer = std::unique_ptr<unsigned char, FreeAvMemory>;

// An AVIOContext from avio_alloc_context, with its buffer. libav may replace the buffer it was given
// (to grow it while probing), so the one freed is whatever io->buffer points to at the end.
struct FreeIoContext {
    void operator()(AVIOContext* io) const {
        av_freep(&io->buffer);
        avio_context_free(&io);
    }
};
using IoContext = std::unique_ptr<AVIOContext, FreeIoContext>;

// An output opened with avformat_alloc_output_context2, with its file (when the muxer has one and
// it was opened with avio_open) closed first.
struct CloseOutput {
    void operator()(AVFormatContext* context) const {
        if (context->oformat && !(context->oformat->flags & AVFMT_NOFILE)) avio_closep(&context->pb);
        avformat_free_context(context);
    }
};
using OutputContext = std::unique_ptr<AVFormatContext, CloseOutput>;

struct FreeCodecContext {
    void operator()(AVCodecContext* context) const { avcodec_free_context(&context); }
};
using CodecContext = std::unique_ptr<AVCodecContext, FreeCodecContext>;

struct FreeFrame {
    void operator()(AVFrame* frame) const { av_frame_free(&frame); }
};
using Frame = std::unique_ptr<AVFrame, FreeFrame>;

struct FreePacket {
    void operator()(AVPacket* packet) const { av_packet_free(&packet); }
};
using Packet = std::unique_ptr<AVPacket, FreePacket>;

// A filter graph, with every filter in it.
struct FreeFilterGraph {
    void operator()(AVFilterGraph* graph) const { avfilter_graph_free(&graph); }
};
using FilterGraph = std::unique_ptr<AVFilterGraph, FreeFilterGraph>;

// The list of open pads avfilter_graph_parse_ptr reads and leaves.
struct FreeFilterInOut {
    void operator()(AVFilterInOut* list) const { avfilter_inout_free(&list); }
};
using FilterInOut = std::unique_ptr<AVFilterInOut, FreeFilterInOut>;

struct FreeScaler {
    void operator()(SwsContext* scaler) const { sws_freeContext(scaler); }
};
using Scaler = std::unique_ptr<SwsContext, FreeScaler>;

// Maps a negative libav return code to an Error whose message is av_strerror's text:
//   unsupported_media  the bytes are not something libav can read (invalid data, no demuxer or
//                      decoder, unsupported feature, end of file before the headers were complete)
//   timeout            AVERROR_EXIT, which libav returns when an AVIOInterruptCB asked it to stop
//   internal           everything else (ENOMEM, I/O errors, bugs)
Error av_error(int rc);

// A libav call on onda's own objects (an encoder, a muxer, a filter graph) failed: internal, whatever
// the code, with `what` as the context ("open aac-128 encoder: …").
Error av_internal_error(std::string_view what, int rc);

// Limits libav's own logging to errors. Its lines bypass onda's log, so this keeps them rare; it is
// safe to call from any thread, any number of times.
void quiet_libav_logging();

}  // namespace onda::media::av
