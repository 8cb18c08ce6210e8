#include "auth/detail/hmac.hpp"

#include <climits>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/error.hpp"

namespace onda::auth::detail {

Sha256Digest hmac_sha256(std::string_view key, std::string_view message) {
    ONDA_ASSERT(!key.empty(), "the signing secret is validated at startup and never empty");
    ONDA_ASSERT(key.size() <= INT_MAX, "HMAC() takes the key length as an int");
    Sha256Digest digest{};
    unsigned int digest_size = 0;
    unsigned char const* ok =
        HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
             reinterpret_cast<unsigned char const*>(message.data()), message.size(), digest.data(), &digest_size);
    // HMAC() fails only when the library itself is broken (no SHA-256 provider): a bug, not input.
    ONDA_ASSERT(ok != nullptr && digest_size == digest.size(), "OpenSSL computes HMAC-SHA256");
    return digest;
}

bool equal_in_constant_time(std::span<unsigned char const> a, std::span<unsigned char const> b) {
    if (a.size() != b.size()) return false;
    if (a.empty()) return true;
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace onda::auth::detail
