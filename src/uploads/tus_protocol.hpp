// The tus 1.0.0 headers as values, apart from any I/O: offsets and lengths, Upload-Metadata and
// Upload-Checksum. The server (tus_server.hpp) decodes requests with these and encodes answers with
// the constants.
//
// Example:
//   auto offset = tus::parse_size(request.header("Upload-Offset"), "Upload-Offset");
//   auto pairs = tus::parse_metadata("filename d29ybGQuanBn,is_confidential");
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "uploads/digest.hpp"

namespace onda::uploads::tus {

constexpr std::string_view version = "1.0.0";
constexpr std::string_view extensions = "creation,creation-with-upload,termination,expiration,checksum";
constexpr std::string_view checksum_algorithms = "sha1,sha256,md5";
constexpr std::string_view offset_content_type = "application/offset+octet-stream";
constexpr std::size_t max_metadata_pairs = 32;

// Upload-Offset and Upload-Length: 1*DIGIT, at most 2^63 - 1. invalid_argument naming `header`
// for anything else (signs, spaces, empty, overflow).
Result<std::uint64_t> parse_size(std::string_view text, std::string_view header);

// Upload-Metadata: comma-separated "key base64value" or a bare "key" (empty value). Keys are
// printable ASCII without spaces or commas and appear once; values are standard padded base64.
// An empty header is no pairs. invalid_argument for anything else, or past max_metadata_pairs.
using MetadataPairs = std::vector<std::pair<std::string, std::string>>;
Result<MetadataPairs> parse_metadata(std::string_view header);

// Upload-Checksum: "<algorithm> <base64 digest>". invalid_argument for an unknown algorithm, bad
// base64 or a digest of the wrong length.
struct Checksum {
    DigestAlgorithm algorithm = DigestAlgorithm::sha256;
    std::string digest;  // raw bytes
};
Result<Checksum> parse_checksum(std::string_view header);

}  // namespace onda::uploads::tus
