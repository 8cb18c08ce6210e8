// The media library (API.md "Media library"): turning an uploaded file into a media object, and the
// HTTP handlers that list, describe, change, delete and deliver media.
//
// Durability: ingest() probes the spooled file, inserts a pending row, commits the bytes with one
// atomic BlobStore::put_file, then marks the row ready; recover() at start-up removes what a crash
// between those steps left. A media object is therefore either whole and visible, or absent.
#pragma once

#include <filesystem>
#include <string>

#include <boost/asio/thread_pool.hpp>
#include <boost/json/object.hpp>

#include "auth/identity.hpp"
#include "core/task.hpp"
#include "http/request.hpp"
#include "http/response.hpp"
#include "http/router.hpp"
#include "media/probe.hpp"
#include "storage/blob_store.hpp"
#include "storage/meta_store.hpp"
#include "storage/spool_file.hpp"

namespace onda::media {

// A file that has fully arrived in the spool, with what the uploader said about it.
struct NewMedia {
    storage::SpoolFile file;
    std::string sha256;  // lowercase hex of the file's bytes
    std::string owner;
    std::string filename;  // as the client named it; sanitised here
    std::string title;     // empty: derived from the file name
    std::string visibility;  // empty: the configured default
    std::string declared_content_type;  // the client's Content-Type, used only when probing names none
    std::string source = "upload";
    boost::json::object metadata;
};

struct LibraryOptions {
    std::string default_visibility = "private";
    std::string public_url;  // base of presigned links; empty: http:// + the request's Host
    ProbeLimits probe;
    std::size_t max_json_body_bytes = 64 * 1024;
};

class Library {
public:
    // Every reference must outlive the library.
    Library(storage::MetaStore& meta, storage::BlobStore& blobs, net::thread_pool& pool,
            auth::Authenticator const& auth, LibraryOptions options);

    // unsupported_media when the file is not audio/video the server can read (the spool file is
    // then dropped, nothing is kept).
    Task<Result<storage::MediaRecord>> ingest(NewMedia media);

    // Start-up: removes pending rows and the blobs they may have left.
    Task<Result<std::size_t>> recover();

    // The API's media object.
    boost::json::object to_json(storage::MediaRecord const& record) const;

    // Registers the /v1/media routes (but POST, which belongs to uploads) and the /podcast/audio
    // compatibility routes.
    void add_routes(http::Router& router);

    Task<http::Response> list(http::Request& request);
    Task<http::Response> list_podcast_audio(http::Request& request);
    Task<http::Response> get(http::Request& request);
    Task<http::Response> patch(http::Request& request);
    Task<http::Response> remove(http::Request& request);
    Task<http::Response> stream(http::Request& request);
    Task<http::Response> download(http::Request& request);
    Task<http::Response> presign(http::Request& request);

private:
    Task<http::Response> list_with(http::Request& request, std::optional<std::string> forced_kind);
    Task<http::Response> deliver(http::Request& request, bool as_attachment);
    // The row, if the caller may read it: public, owner/admin, or a valid signature when `signed_ok`.
    Task<Result<storage::MediaRecord>> readable(http::Request& request, bool signed_ok);
    Task<Result<storage::MediaRecord>> manageable(http::Request& request);
    std::string base_url(http::Request const& request) const;

    storage::MetaStore& meta_;
    storage::BlobStore& blobs_;
    net::thread_pool& pool_;
    auth::Authenticator const& auth_;
    LibraryOptions options_;
};

// The BlobStore key of a media object's original bytes.
std::string original_key(std::string_view media_id);

// A file name safe to store and echo: no directories, no control characters, at most 255 bytes.
std::string sanitize_filename(std::string_view name);

}  // namespace onda::media
