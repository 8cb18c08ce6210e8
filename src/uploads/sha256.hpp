// Incremental SHA-256 (OpenSSL EVP), for hashing uploads as they stream past.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace onda::uploads {

class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(Sha256&&) noexcept;
    Sha256& operator=(Sha256&&) noexcept;
    void update(std::string_view bytes);
    // Lowercase hex; the hasher must not be updated afterwards.
    std::string finish_hex();

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace onda::uploads
