#include "e2e.hpp"

#include <thread>

namespace onda::test {

boost::json::value parse_json(std::string const& text) {
    boost::system::error_code ec;
    auto value = boost::json::parse(text, ec);
    if (ec) return nullptr;
    return value;
}

Upload upload_raw(OndaProcess const& onda, std::string const& token, std::string const& bytes, std::string const& query,
                  std::string const& content_type) {
    Upload upload;
    upload.response = http_request({.method = "POST",
                                    .url = onda.url("/v1/media?" + query),
                                    .headers = {bearer(token), {"Content-Type", content_type}},
                                    .body = bytes});
    upload.body = parse_json(upload.response.body);
    if (upload.response.status == 201 && upload.body.is_object())
        upload.id = std::string(upload.body.at("id").as_string());
    return upload;
}

std::string error_code(HttpResponse const& response) {
    auto body = parse_json(response.body);
    if (!body.is_object() || !body.as_object().contains("error")) return {};
    auto const& error = body.at("error");
    if (!error.is_object() || !error.as_object().contains("code")) return {};
    return std::string(error.at("code").as_string());
}

std::optional<double> metric_value(std::string const& body, std::string const& series) {
    std::string const prefix = series + " ";
    for (std::size_t at = 0; at < body.size();) {
        auto end = body.find('\n', at);
        if (end == std::string::npos) end = body.size();
        std::string_view const line(body.data() + at, end - at);
        if (line.starts_with(prefix)) return std::stod(std::string(line.substr(prefix.size())));
        at = end + 1;
    }
    return std::nullopt;
}

std::size_t count_files(std::filesystem::path const& dir) {
    std::error_code ec;
    if (!std::filesystem::exists(dir, ec)) return 0;
    std::size_t count = 0;
    for (auto const& entry : std::filesystem::recursive_directory_iterator(dir, ec))
        if (entry.is_regular_file()) ++count;
    return count;
}

}  // namespace onda::test
