#include "uploads/digest.hpp"

#include <stdexcept>

#include <fmt/format.h>
#include <openssl/evp.h>

namespace onda::uploads {
namespace {

EVP_MD const* evp_of(DigestAlgorithm algorithm) {
    switch (algorithm) {
    case DigestAlgorithm::md5: return EVP_md5();
    case DigestAlgorithm::sha1: return EVP_sha1();
    case DigestAlgorithm::sha256: return EVP_sha256();
    }
    return EVP_sha256();
}

}  // namespace

std::optional<DigestAlgorithm> parse_digest_algorithm(std::string_view name) {
    if (name == "sha256") return DigestAlgorithm::sha256;
    if (name == "sha1") return DigestAlgorithm::sha1;
    if (name == "md5") return DigestAlgorithm::md5;
    return std::nullopt;
}

std::size_t digest_size(DigestAlgorithm algorithm) {
    switch (algorithm) {
    case DigestAlgorithm::md5: return 16;
    case DigestAlgorithm::sha1: return 20;
    case DigestAlgorithm::sha256: return 32;
    }
    return 32;
}

struct Digest::State {
    EVP_MD_CTX* context = EVP_MD_CTX_new();
    ~State() { EVP_MD_CTX_free(context); }
};

Digest::Digest(DigestAlgorithm algorithm) : state_(std::make_unique<State>()) {
    if (!state_->context || EVP_DigestInit_ex(state_->context, evp_of(algorithm), nullptr) != 1)
        throw std::runtime_error("cannot start a message digest");
}

Digest::~Digest() = default;
Digest::Digest(Digest&&) noexcept = default;
Digest& Digest::operator=(Digest&&) noexcept = default;

Digest::Digest(Digest const& other) : state_(std::make_unique<State>()) {
    if (!state_->context || EVP_MD_CTX_copy_ex(state_->context, other.state_->context) != 1)
        throw std::runtime_error("cannot copy a message digest");
}

Digest& Digest::operator=(Digest const& other) {
    if (this != &other) *this = Digest(other);
    return *this;
}

void Digest::update(std::string_view bytes) { EVP_DigestUpdate(state_->context, bytes.data(), bytes.size()); }

std::string Digest::finish() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_DigestFinal_ex(state_->context, digest, &length);
    return std::string(reinterpret_cast<char const*>(digest), length);
}

std::string Digest::finish_hex() {
    std::string hex;
    for (unsigned char byte : finish()) hex += fmt::format("{:02x}", byte);
    return hex;
}

}  // namespace onda::uploads
