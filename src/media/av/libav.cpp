#include "media/av/libav.hpp"

#include <mutex>
#include <string>

extern "C" {
#include <libavutil/error.h>
#include <libavutil/log.h>
}

namespace onda::media::av {
namespace {

std::string error_text(int rc) {
    char text[AV_ERROR_MAX_STRING_SIZE] = {};
    if (av_strerror(rc, text, sizeof text) < 0) return "libav error " + std::to_string(rc);
    return text;
}

Errc errc_for(int rc) {
    switch (rc) {
    case AVERROR_INVALIDDATA:
    case AVERROR_DEMUXER_NOT_FOUND:
    case AVERROR_DECODER_NOT_FOUND:
    case AVERROR_STREAM_NOT_FOUND:
    case AVERROR_PATCHWELCOME:
    case AVERROR_EOF:  // the file ended before libav had read what it needed
        return Errc::unsupported_media;
    case AVERROR_EXIT:
    case AVERROR(ETIMEDOUT): return Errc::timeout;
    default: return Errc::internal;
    }
}

}  // namespace

Error av_error(int rc) { return Error(errc_for(rc), error_text(rc)); }

Error av_internal_error(std::string_view what, int rc) { return Error(Errc::internal, error_text(rc)).context(what); }

void quiet_libav_logging() {
    static std::once_flag once;
    std::call_once(once, [] { av_log_set_level(AV_LOG_ERROR); });
}

}  // namespace onda::media::av
