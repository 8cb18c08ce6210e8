// Expiring signed links (API.md `presigned-url`): sig = base64url(HMAC-SHA256(secret, message))
// without padding, where message = path + "\n" + rendition + "\n" + exp, `path` is the URL path
// without query (e.g. "/v1/media/m_…/stream"), `rendition` is "" when none, and `exp` is the
// decimal Unix time in seconds. Comparison is constant-time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"

namespace onda::auth {

std::string url_signature(std::string_view secret, std::string_view path, std::string_view rendition,
                          std::int64_t exp_unix_seconds);

// Checks the `exp` and `sig` query values as they arrived (text). Errors: Errc::bad_signature when
// sig does not match (or exp/sig are malformed), Errc::expired when it matches but now > exp.
// The signature is checked first, so a tampered exp is bad_signature, not expired.
Result<void> verify_url_signature(std::string_view secret, std::string_view path, std::string_view rendition,
                                  std::string_view exp_text, std::string_view sig_text, SystemTime now);

}  // namespace onda::auth
