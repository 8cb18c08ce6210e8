#include "app/commands.hpp"

#include <iostream>

#include "auth/jwt.hpp"
#include "auth/secret.hpp"
#include "core/text.hpp"

namespace onda::app {

namespace {

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

std::filesystem::path media_program() {
    std::error_code ec;
    std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) return "onda-media";  // no /proc: then exec finds nothing, and says so
    return self.parent_path() / "onda-media";
}

std::string_view media_command_summary(std::string_view name) {
    for (auto const& command : media_commands)
        if (command.name == name) return command.summary;
    return {};
}

}  // namespace onda::app
