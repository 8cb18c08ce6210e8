#include "media/av/transcode/thumbnail.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>

extern "C" {
#include <libavutil/imgutils.h>
}

namespace onda::media::av {
namespace {

Error image_error(std::string_view what, int rc) { return av_error(rc).context(what); }

Result<void> write_bytes(std::filesystem::path const& path, std::uint8_t const* data, int size) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<char const*>(data), size);
    out.close();
    if (!out) return Error(Errc::internal, "cannot write " + path.filename().string());
    return ok();
}

}  // namespace

Result<void> write_jpeg(AVFrame const& frame, std::filesystem::path const& path) {
    if (frame.width <= 0 || frame.height <= 0) return Error(Errc::unsupported_media, "a picture without a size");
    double const aspect = frame.sample_aspect_ratio.num > 0 ? av_q2d(frame.sample_aspect_ratio) : 1.0;
    double const display_width = frame.width * aspect;
    double const scale = std::min(1.0, thumbnail_max_width / display_width);
    int const width = std::max(2, static_cast<int>(std::lround(display_width * scale / 2)) * 2);
    int const height = std::max(2, static_cast<int>(std::lround(frame.height * scale / 2)) * 2);

    // The MJPEG encoder takes full-range ("J") YUV 4:2:0.
    Scaler scaler(sws_getContext(frame.width, frame.height, static_cast<AVPixelFormat>(frame.format), width, height,
                                 AV_PIX_FMT_YUVJ420P, SWS_BICUBIC, nullptr, nullptr, nullptr));
    if (!scaler) return Error(Errc::unsupported_media, "cannot convert the picture");
    Frame picture(av_frame_alloc());
    if (!picture) return Error(Errc::internal, "out of memory");
    picture->format = AV_PIX_FMT_YUVJ420P;
    picture->width = width;
    picture->height = height;
    if (int rc = av_frame_get_buffer(picture.get(), 0); rc < 0) return image_error("thumbnail", rc);
    sws_scale(scaler.get(), frame.data, frame.linesize, 0, frame.height, picture->data, picture->linesize);

    AVCodec const* codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
    if (!codec) return Error(Errc::internal, "no JPEG encoder");
    CodecContext encoder(avcodec_alloc_context3(codec));
    if (!encoder) return Error(Errc::internal, "out of memory");
    encoder->width = width;
    encoder->height = height;
    encoder->pix_fmt = AV_PIX_FMT_YUVJ420P;
    encoder->time_base = AVRational{1, 25};
    // A fixed quantiser (about JPEG quality 90) instead of a bit rate: one picture, no rate to keep.
    encoder->flags |= AV_CODEC_FLAG_QSCALE;
    encoder->global_quality = FF_QP2LAMBDA * 3;
    picture->quality = encoder->global_quality;
    if (int rc = avcodec_open2(encoder.get(), codec, nullptr); rc < 0) return image_error("thumbnail encoder", rc);
    if (int rc = avcodec_send_frame(encoder.get(), picture.get()); rc < 0) return image_error("thumbnail", rc);
    Packet packet(av_packet_alloc());
    if (!packet) return Error(Errc::internal, "out of memory");
    if (int rc = avcodec_receive_packet(encoder.get(), packet.get()); rc < 0) return image_error("thumbnail", rc);
    return write_bytes(path, packet->data, packet->size);
}

Result<void> write_cover_art(AVStream const& stream, std::filesystem::path const& path) {
    AVPacket const& art = stream.attached_pic;
    if (art.size <= 0) return Error(Errc::unsupported_media, "empty cover art");
    if (stream.codecpar->codec_id == AV_CODEC_ID_MJPEG) return write_bytes(path, art.data, art.size);
    AVCodec const* codec = avcodec_find_decoder(stream.codecpar->codec_id);
    if (!codec) return Error(Errc::unsupported_media, "no decoder for the cover art");
    CodecContext decoder(avcodec_alloc_context3(codec));
    if (!decoder) return Error(Errc::internal, "out of memory");
    if (int rc = avcodec_parameters_to_context(decoder.get(), stream.codecpar); rc < 0)
        return image_error("cover art", rc);
    if (int rc = avcodec_open2(decoder.get(), codec, nullptr); rc < 0) return image_error("cover art", rc);
    if (int rc = avcodec_send_packet(decoder.get(), &art); rc < 0) return image_error("cover art", rc);
    avcodec_send_packet(decoder.get(), nullptr);  // a still picture: drain it
    Frame frame(av_frame_alloc());
    if (!frame) return Error(Errc::internal, "out of memory");
    if (int rc = avcodec_receive_frame(decoder.get(), frame.get()); rc < 0) return image_error("cover art", rc);
    return write_jpeg(*frame, path);
}

}  // namespace onda::media::av
