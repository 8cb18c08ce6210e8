#include "uploads/media_upload.hpp"

#include <array>

#include <fmt/format.h>

#include "auth/identity.hpp"
#include "uploads/multipart.hpp"
#include "uploads/digest.hpp"

namespace onda::uploads {
namespace {

using http::Request;
using http::Response;

constexpr std::size_t read_chunk_bytes = 64 * 1024;
constexpr std::size_t max_field_bytes = 4 * 1024;          // title, visibility
constexpr std::size_t max_ignored_part_bytes = 64 * 1024;  // parts we do not use, all together

Error too_large(std::uint64_t limit) {
    return Error(Errc::too_large, fmt::format("the upload is larger than the {} byte limit", limit));
}

Result<void> check_visibility(std::string const& visibility) {
    if (visibility.empty() || visibility == "public" || visibility == "private") return ok();
    return Error(Errc::invalid_argument, "visibility must be public or private");
}

// Routes multipart parts: `file` into the spool (hashed), `title`/`visibility` into small strings.
class UploadSink final : public MultipartSink {
public:
    UploadSink(storage::SpoolFile& spool, Digest& hash, std::uint64_t limit)
        : spool_(spool), hash_(hash), limit_(limit) {}

    Result<void> on_part_begin(PartHeaders const& headers) override {
        current_ = Part::ignored;
        if (headers.name == "file") {
            if (seen_file_) return Error(Errc::invalid_argument, "only one `file` part is allowed");
            seen_file_ = true;
            current_ = Part::file;
            filename = headers.filename;
            content_type = headers.content_type;
        } else if (headers.name == "title") {
            current_ = Part::title;
            title.clear();
        } else if (headers.name == "visibility") {
            current_ = Part::visibility;
            visibility.clear();
        }
        return ok();
    }

    Result<void> on_part_data(std::string_view bytes) override {
        switch (current_) {
        case Part::file:
            if (spool_.size() + bytes.size() > limit_) return too_large(limit_);
            hash_.update(bytes);
            return spool_.write(bytes);
        case Part::title: return append_field(title, bytes);
        case Part::visibility: return append_field(visibility, bytes);
        case Part::ignored:
            ignored_bytes_ += bytes.size();
            if (ignored_bytes_ > max_ignored_part_bytes)
                return Error(Errc::too_large, "too much form data besides the file");
            return ok();
        }
        return ok();
    }

    Result<void> on_part_end() override { return ok(); }

    bool seen_file() const { return seen_file_; }
    std::string filename, content_type, title, visibility;

private:
    enum class Part { file, title, visibility, ignored };
    static Result<void> append_field(std::string& field, std::string_view bytes) {
        if (field.size() + bytes.size() > max_field_bytes)
            return Error(Errc::too_large, "a form field is larger than 4 KiB");
        field.append(bytes);
        return ok();
    }

    storage::SpoolFile& spool_;
    Digest& hash_;
    std::uint64_t limit_;
    Part current_ = Part::ignored;
    bool seen_file_ = false;
    std::size_t ignored_bytes_ = 0;
};

}  // namespace

Task<Response> MediaUpload::handle(Request& request) {
    auto const& who = auth::identity_of(request);
    if (auto allowed = auth::require_role(who, auth::Role::creator); !allowed)
        co_return http::error_response(allowed.error());
    if (auto length = request.content_length(); length && *length > options_.max_upload_bytes) {
        auto response = http::error_response(too_large(options_.max_upload_bytes));
        response.set_close();  // do not read gigabytes just to throw them away
        co_return response;
    }
    if (!request.has_body()) co_return http::error_response(Error(Errc::invalid_argument, "the request has no body"));

    auto spool = storage::SpoolFile::create(options_.spool_dir);
    if (!spool) co_return http::error_response(spool.error());

    std::string_view content_type = request.header("Content-Type");
    Result<UploadedFile> received = Error(Errc::internal, "not received");
    if (http::iequals(content_type.substr(0, 19), "multipart/form-data")) {
        auto boundary = multipart_boundary(content_type);
        if (!boundary) co_return http::error_response(boundary.error());
        received = co_await receive_multipart(request, std::move(*spool), std::move(*boundary));
    } else {
        received = co_await receive_raw(request, std::move(*spool));
    }
    if (!received) {
        auto response = http::error_response(received.error());
        if (received.error().code() == Errc::too_large) response.set_close();
        co_return response;
    }
    received->owner = who.user;
    if (auto valid = check_visibility(received->visibility); !valid) co_return http::error_response(valid.error());

    auto media = co_await ingest_(std::move(*received));
    if (!media) co_return http::error_response(media.error());
    auto response = http::json_response(201, *media);
    response.add_header("Location", "/v1/media/" + std::string((*media)["id"].as_string()));
    co_return response;
}

Task<Result<UploadedFile>> MediaUpload::receive_raw(Request& request, storage::SpoolFile spool) {
    Digest hash(DigestAlgorithm::sha256);
    std::array<char, read_chunk_bytes> chunk;
    for (;;) {
        auto n = co_await request.read_some(chunk);
        if (!n) co_return n.error();
        if (*n == 0) break;
        if (spool.size() + *n > options_.max_upload_bytes) co_return too_large(options_.max_upload_bytes);
        std::string_view bytes(chunk.data(), *n);
        hash.update(bytes);
        if (auto written = spool.write(bytes); !written) co_return written.error();
    }
    UploadedFile file{.file = std::move(spool), .sha256 = hash.finish_hex()};
    file.filename = request.query("filename").value_or("");
    file.title = request.query("title").value_or("");
    file.visibility = request.query("visibility").value_or("");
    file.content_type = std::string(request.header("Content-Type"));
    co_return file;
}

Task<Result<UploadedFile>> MediaUpload::receive_multipart(Request& request, storage::SpoolFile spool,
                                                          std::string boundary) {
    Digest hash(DigestAlgorithm::sha256);
    UploadSink sink(spool, hash, options_.max_upload_bytes);
    MultipartParser parser(std::move(boundary), sink);
    std::array<char, read_chunk_bytes> chunk;
    for (;;) {
        auto n = co_await request.read_some(chunk);
        if (!n) co_return n.error();
        if (*n == 0) break;
        if (auto fed = parser.feed(std::string_view(chunk.data(), *n)); !fed) co_return fed.error();
    }
    if (auto finished = parser.finish(); !finished) co_return finished.error().context("multipart body");
    if (!sink.seen_file()) co_return Error(Errc::invalid_argument, "the form has no `file` part");
    UploadedFile file{.file = std::move(spool), .sha256 = hash.finish_hex()};
    file.filename = sink.filename;
    file.title = sink.title.empty() ? request.query("title").value_or("") : sink.title;
    file.visibility = sink.visibility.empty() ? request.query("visibility").value_or("") : sink.visibility;
    file.content_type = sink.content_type;
    co_return file;
}

}  // namespace onda::uploads
