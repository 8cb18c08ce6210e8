// The encoding end of a ladder: encoders and the muxers their packets go to. One encoder may feed
// several muxers (the AAC track shared by every video rendition is encoded once). An encoder is
// used by one thread at a time (its lane's); a muxer takes packets from several.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "media/av/libav.hpp"
#include "media/transcode/plan.hpp"

namespace onda::media::av {

// One output file (or, for HLS, one playlist and its segments) being written.
class Muxer {
public:
    // An HLS VOD rendition: dir/index.m3u8, dir/init.mp4, dir/seg-NNNNN.m4s.
    static Result<std::unique_ptr<Muxer>> hls(std::filesystem::path const& dir, std::chrono::seconds segment);
    // One progressive file; `format` is a libavformat muxer name ("mp3", "ogg", "flac").
    static Result<std::unique_ptr<Muxer>> file(std::filesystem::path const& path, std::string const& format);

    // Whether encoders feeding this muxer must put their headers in extradata.
    bool wants_global_header() const;
    // Adds a stream carrying what `encoder` makes; returns its index. Before start().
    Result<int> add_stream(AVCodecContext const& encoder);
    Result<void> start();
    // Takes the packet's data (the packet is left blank); timestamps in `time_base`. Encoders on
    // several threads may write to one muxer (a video rendition and the shared audio track).
    Result<void> write(AVPacket& packet, int stream, AVRational time_base);
    Result<void> finish();

    // A muxer left unfinished (a ladder that failed) is finished here: libav's muxers release what
    // they hold only in av_write_trailer.
    ~Muxer();
    Muxer(Muxer const&) = delete;
    Muxer& operator=(Muxer const&) = delete;

private:
    Muxer(OutputContext context, std::filesystem::path path, std::vector<std::pair<std::string, std::string>> options);

    OutputContext context_;
    std::filesystem::path path_;
    std::vector<std::pair<std::string, std::string>> options_;
    std::mutex write_mutex_;
    bool started_ = false;
    bool finished_ = false;
};

// An open encoder and the muxer streams its packets go to.
class EncodedTrack {
public:
    static Result<std::unique_ptr<EncodedTrack>> audio(PlannedAudio const& plan, bool global_header);
    struct VideoSettings {
        PlannedVideo plan;
        AVRational time_base{1, 90'000};
        AVRational frame_rate{0, 1};  // 0/1 when unknown
        std::string preset = "veryfast";
        unsigned threads = 0;
    };
    static Result<std::unique_ptr<EncodedTrack>> video(VideoSettings const& settings, bool global_header);

    AVCodecContext& context() { return *context_; }
    // Audio encoders without variable frame sizes want frames of exactly this many samples (0: any).
    int frame_size() const;
    Result<void> feed_to(Muxer& muxer);
    // Encodes `frame` (timestamps in context().time_base); nullptr flushes.
    Result<void> encode(AVFrame const* frame);

private:
    explicit EncodedTrack(CodecContext context);
    Result<void> drain();

    CodecContext context_;
    Packet packet_;
    std::vector<std::pair<Muxer*, int>> targets_;
};

}  // namespace onda::media::av
