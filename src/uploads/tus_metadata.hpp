// What onda reads from a tus Upload-Metadata header: the keys API.md names (filename, filetype,
// title, visibility; tus-js-client's `name` and `type` too) and any others, which become the media
// object's `metadata`. Values must be UTF-8 text of at most 4 KiB; visibility is public or private.
//
// Example:
//   auto info = decode_upload_info("filename dGFsay53YXY=,visibility cHVibGlj");
//   info->filename == "talk.wav"
#pragma once

#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "core/error.hpp"

namespace onda::uploads {

struct UploadInfo {
    std::string filename;
    std::string filetype;
    std::string title;
    std::string visibility;     // "", "public" or "private"
    boost::json::object extra;  // every other key, as strings
};

// invalid_argument for a malformed header (tus::parse_metadata), a value that is not UTF-8 or is past
// 4 KiB, or a visibility other than public or private.
Result<UploadInfo> decode_upload_info(std::string_view header);

}  // namespace onda::uploads
