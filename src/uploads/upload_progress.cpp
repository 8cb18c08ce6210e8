#include "uploads/upload_progress.hpp"

#include <algorithm>
#include <cmath>

namespace onda::uploads {

boost::json::object upload_progress_event(UploadProgress const& p) {
    std::uint64_t const sent = p.uploaded_size - std::min(p.uploaded_size, p.request_start_offset);
    double const speed = p.request_seconds > 0.001 ? static_cast<double>(sent) / p.request_seconds : 0.0;
    std::uint64_t const left = p.total_size - std::min(p.total_size, p.uploaded_size);
    boost::json::object event;
    event["uploadId"] = p.upload_id;
    event["fileName"] = p.file_name;
    event["totalSize"] = p.total_size;
    event["uploadedSize"] = p.uploaded_size;
    event["percentage"] =
        p.total_size == 0
            ? 100.0
            : std::round(static_cast<double>(p.uploaded_size) * 1000.0 / static_cast<double>(p.total_size)) / 10.0;
    event["speed"] = static_cast<std::uint64_t>(speed);
    if (left == 0)
        event["estimatedTime"] = 0;
    else if (speed > 0)
        event["estimatedTime"] = std::round(static_cast<double>(left) / speed * 10.0) / 10.0;
    else
        event["estimatedTime"] = nullptr;
    event["status"] = p.status;
    return event;
}

}  // namespace onda::uploads
