// Incremental message digests (OpenSSL EVP): SHA-256 of whole uploads as they stream past, and the
// algorithms tus clients may name in Upload-Checksum (sha1, sha256, md5).
//
// Example:
//   Digest hash(DigestAlgorithm::sha256);
//   hash.update(chunk);
//   std::string hex = hash.finish_hex();
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace onda::uploads {

enum class DigestAlgorithm { md5, sha1, sha256 };

// "md5", "sha1", "sha256" (lowercase, as tus spells them); nullopt for anything else.
std::optional<DigestAlgorithm> parse_digest_algorithm(std::string_view name);
// The digest's length in bytes: 16, 20 or 32.
std::size_t digest_size(DigestAlgorithm algorithm);

class Digest {
public:
    explicit Digest(DigestAlgorithm algorithm = DigestAlgorithm::sha256);
    ~Digest();
    Digest(Digest&&) noexcept;
    Digest& operator=(Digest&&) noexcept;
    // A copy carries on from the same state (to try a chunk and keep the state before it).
    Digest(Digest const& other);
    Digest& operator=(Digest const& other);

    void update(std::string_view bytes);
    // The raw digest; the object must not be updated afterwards.
    std::string finish();
    // Lowercase hex of finish().
    std::string finish_hex();

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace onda::uploads
