// The `upload_progress` event of API.md as a value: {uploadId, fileName, totalSize, uploadedSize,
// percentage, speed, estimatedTime, status}. percentage has one decimal; speed is bytes per second
// over the current request; estimatedTime is seconds at that speed (0 when done, null when unknown).
#pragma once

#include <cstdint>
#include <string_view>

#include <boost/json/object.hpp>

namespace onda::uploads {

struct UploadProgress {
    std::string_view upload_id;
    std::string_view file_name;
    std::uint64_t total_size = 0;
    std::uint64_t uploaded_size = 0;
    std::uint64_t request_start_offset = 0;  // where the current request began
    double request_seconds = 0;              // how long it has run
    std::string_view status;                 // uploading, processing, completed, failed
};

boost::json::object upload_progress_event(UploadProgress const& progress);

}  // namespace onda::uploads
