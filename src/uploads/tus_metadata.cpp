#include "uploads/tus_metadata.hpp"

#include "core/text.hpp"
#include "uploads/tus_protocol.hpp"

namespace onda::uploads {
namespace {

constexpr std::size_t max_value_bytes = 4 * 1024;

}  // namespace

Result<UploadInfo> decode_upload_info(std::string_view header) {
    auto pairs = tus::parse_metadata(header);
    if (!pairs) return pairs.error();
    UploadInfo info;
    for (auto& [key, value] : *pairs) {
        if (value.size() > max_value_bytes || !is_valid_utf8(value))
            return Error(Errc::invalid_argument, "Upload-Metadata " + key + " must be UTF-8 text of at most 4 KiB");
        if (key == "filename" || key == "name")
            info.filename = std::move(value);
        else if (key == "filetype" || key == "type")
            info.filetype = std::move(value);
        else if (key == "title")
            info.title = std::move(value);
        else if (key == "visibility")
            info.visibility = std::move(value);
        else
            info.extra[key] = value;  // keys are printable ASCII (tus::parse_metadata)
    }
    if (!info.visibility.empty() && info.visibility != "public" && info.visibility != "private")
        return Error(Errc::invalid_argument, "Upload-Metadata visibility must be public or private");
    return info;
}

}  // namespace onda::uploads
