// HLS text: reading the segments of a VOD child playlist (to measure a rendition's bit rates) and
// writing the master playlist (RFC 8216 section 4.3.4.2).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace onda::media {

struct PlaylistSegment {
    double duration = 0;  // seconds, from #EXTINF
    std::string uri;
};

// The media segments a playlist lists, in order (tags other than #EXTINF are passed over).
std::vector<PlaylistSegment> playlist_segments(std::string_view playlist);

struct Variant {
    std::string uri;                 // relative to the master playlist
    std::int64_t peak_bit_rate = 0;  // BANDWIDTH: the highest of any segment
    std::int64_t average_bit_rate = 0;
    std::string codecs;  // "avc1.64001f,mp4a.40.2"
    int width = 0;       // 0 for audio-only
    int height = 0;
    double frame_rate = 0;
};

std::string master_playlist(std::vector<Variant> const& variants);

// The playlist with `query` ("exp=…&sig=…") added to every URI it holds: the URI lines, and the
// URI="…" attributes of tags (EXT-X-MAP, EXT-X-MEDIA). Line endings and everything else stay.
std::string sign_playlist_uris(std::string_view playlist, std::string_view query);

// The RFC 6381 codec string of an H.264 stream ("avc1.PPCCLL") from its extradata (Annex B or
// avcC); "avc1.640028" when no SPS is found.
std::string avc_codec_string(std::span<std::uint8_t const> extradata);

}  // namespace onda::media
