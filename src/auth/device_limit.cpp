#include "auth/device_limit.hpp"

#include <utility>

#include <fmt/format.h>

namespace onda::auth {

DeviceLimiter::Lease::Lease(Lease&& other) noexcept
    : limiter_(std::exchange(other.limiter_, nullptr)), user_(other.user_), device_(other.device_) {}

DeviceLimiter::Lease& DeviceLimiter::Lease::operator=(Lease&& other) noexcept {
    if (this != &other) {
        release();
        limiter_ = std::exchange(other.limiter_, nullptr);
        user_ = other.user_;
        device_ = other.device_;
    }
    return *this;
}

DeviceLimiter::Lease::~Lease() { release(); }

void DeviceLimiter::Lease::release() {
    if (auto* limiter = std::exchange(limiter_, nullptr)) limiter->release(user_, device_);
}

Result<DeviceLimiter::Lease> DeviceLimiter::acquire(std::string_view user, std::string_view device) {
    std::lock_guard lock(mutex_);
    auto user_it = users_.find(user);
    if (user_it == users_.end()) user_it = users_.emplace(std::string(user), Devices{}).first;
    auto& devices = user_it->second;
    auto device_it = devices.find(device);
    if (device_it == devices.end()) {
        if (max_devices_ > 0 && devices.size() >= max_devices_)
            return Error(Errc::device_limit,
                         fmt::format("{} devices are connected already, the most allowed", devices.size()));
        device_it = devices.emplace(std::string(device), 0).first;
    }
    ++device_it->second;
    return Lease(this, user_it, device_it);
}

void DeviceLimiter::release(Users::iterator user, Devices::iterator device) {
    std::lock_guard lock(mutex_);
    if (--device->second == 0) user->second.erase(device);
    if (user->second.empty()) users_.erase(user);
}

std::size_t DeviceLimiter::device_count(std::string_view user) const {
    std::lock_guard lock(mutex_);
    auto it = users_.find(user);
    return it == users_.end() ? 0 : it->second.size();
}

}  // namespace onda::auth
