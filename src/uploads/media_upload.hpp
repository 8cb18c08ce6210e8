// POST /v1/media (API.md): a creator uploads one file as a raw body (Content-Type and
// ?filename=&title=&visibility=) or as multipart/form-data (part `file`, optional `title` and
// `visibility`). The bytes stream into a spool file with their SHA-256 computed on the way; the
// whole file is never held in memory. Past the size limit the answer is 413 and nothing is kept;
// a client that goes away mid-body leaves nothing behind either (the spool file is removed).
//
// What becomes of a complete file is not this module's business: the `ingest` callback (wired by
// app to media::Library) probes and stores it and returns the media object.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include <boost/json/object.hpp>

#include "core/task.hpp"
#include "http/request.hpp"
#include "http/response.hpp"
#include "storage/spool_file.hpp"

namespace onda::uploads {

struct UploadedFile {
    storage::SpoolFile file;
    std::string sha256;
    std::string owner;
    std::string filename;
    std::string title;
    std::string visibility;  // "", "public" or "private"
    std::string content_type;
    boost::json::object metadata;  // the media object's `metadata` (tus Upload-Metadata keys onda does not use)
    std::string media_id;          // the id to give the media object; empty: a new one. conflict if it exists
};

// Stores the file; returns the media object, or unsupported_media and the like.
using IngestFn = std::function<Task<Result<boost::json::object>>(UploadedFile)>;

struct MediaUploadOptions {
    std::uint64_t max_upload_bytes = 2ull * 1024 * 1024 * 1024;
    std::filesystem::path spool_dir;
};

class MediaUpload {
public:
    MediaUpload(IngestFn ingest, MediaUploadOptions options)
        : ingest_(std::move(ingest)), options_(std::move(options)) {}

    Task<http::Response> handle(http::Request& request);

private:
    Task<Result<UploadedFile>> receive_raw(http::Request& request, storage::SpoolFile spool);
    Task<Result<UploadedFile>> receive_multipart(http::Request& request, storage::SpoolFile spool,
                                                 std::string boundary);

    IngestFn ingest_;
    MediaUploadOptions options_;
};

}  // namespace onda::uploads
