#include "app/commands.hpp"

#include <iostream>

#include <boost/json/serialize.hpp>

#include "auth/jwt.hpp"
#include "auth/secret.hpp"
#include "core/text.hpp"
#include "media/probe.hpp"
#include "media/transcode/ladder.hpp"

namespace onda::app {

namespace {

void print_error(Error const& error) {
    boost::json::object body{{"code", code_name(error.code())}, {"message", error.message()}};
    std::cout << boost::json::serialize(boost::json::object{{"error", body}}) << "\n";
}

Result<std::string> server_secret(Config const& config) {
    if (!config.auth.secret.empty()) return config.auth.secret;
    return auth::blocking::load_or_create_secret(config.data_dir);
}
}  // namespace

int token(TokenOptions const& options) {
    auto role = auth::parse_role(options.role);
    if (!role) {
        std::cerr << "onda token: role must be viewer, creator, moderator or admin\n";
        return 2;
    }
    if (options.sub.empty()) {
        std::cerr << "onda token: --sub is required\n";
        return 2;
    }
    for (auto const* text : {&options.sub, &options.name, &options.device})
        if (!is_valid_utf8(*text)) {
            std::cerr << "onda token: --sub, --name and --device must be UTF-8 text\n";
            return 2;
        }
    auto secret = server_secret(options.config);
    if (!secret) {
        std::cerr << "onda token: " << secret.error().message() << "\n";
        return 1;
    }
    auto now = std::chrono::system_clock::now();
    auth::Claims claims;
    claims.sub = options.sub;
    claims.role = *role;
    claims.exp = std::chrono::time_point_cast<std::chrono::seconds>(now) + options.ttl;
    claims.name = options.name;
    claims.device = options.device;
    claims.subscriber = options.subscriber;
    std::cout << auth::sign_jwt(claims, *secret, now) << "\n";
    return 0;
}

int probe(std::filesystem::path const& file, Config const& config) {
    media::ProbeLimits limits{.timeout = config.probe.timeout, .max_bytes = config.probe.max_bytes};
    auto info = media::blocking::probe(file, limits);
    if (!info) {
        print_error(info.error());
        return 1;
    }
    std::cout << boost::json::serialize(media::to_json(*info)) << "\n";
    return 0;
}

int transcode(std::filesystem::path const& file, std::filesystem::path const& out_dir, Config const&) {
    std::error_code ec;
    std::filesystem::create_directories(out_dir, ec);
    if (ec || !std::filesystem::is_empty(out_dir, ec)) {
        print_error(Error(Errc::invalid_argument, out_dir.string() + " must be an empty directory"));
        return 2;
    }
    auto result = media::blocking::run_ladder(file, out_dir, media::LadderOptions{}, {});
    if (!result) {
        print_error(result.error());
        return 1;
    }
    boost::json::array files;
    for (auto const& path : result->files) files.push_back(boost::json::string(path.string()));
    std::cout << boost::json::serialize(boost::json::object{{"renditions", result->renditions},
                                                            {"hls", result->hls},
                                                            {"thumbnail", result->thumbnail},
                                                            {"waveform", result->waveform},
                                                            {"files", std::move(files)}})
              << "\n";
    return 0;
}

}  // namespace onda::app
