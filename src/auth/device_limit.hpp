// How many distinct devices one user may have connected at once (API.md "Realtime": 3 by default).
// A device counts while at least one lease for it is held, so the same device connecting again (a
// second tab, or a reconnect that beats the old connection's timeout) shares its place; a new
// device past the limit is refused with Errc::device_limit.
//
// Threads: acquire() and a lease's release may run on any thread. One mutex guards a small map; it
// is taken once when a connection is made and once when it ends, never per message.
//
// Example:
//   DeviceLimiter devices(3);
//   auto lease = devices.acquire("alice", "phone");   // held for as long as the connection lives
//   if (!lease) refuse(lease.error());
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace onda::auth {

class DeviceLimiter {
    // device -> leases held; user -> devices. A user with no devices is removed, so memory follows
    // connections.
    using Devices = std::map<std::string, std::size_t, std::less<>>;
    using Users = std::map<std::string, Devices, std::less<>>;

public:
    // 0 allows any number of devices.
    explicit DeviceLimiter(std::size_t max_devices) : max_devices_(max_devices) {}
    DeviceLimiter(DeviceLimiter const&) = delete;
    DeviceLimiter& operator=(DeviceLimiter const&) = delete;

    // One connection's hold on a device place; releases it when destroyed. The limiter must outlive it.
    class Lease {
    public:
        Lease() = default;
        Lease(Lease&& other) noexcept;
        Lease& operator=(Lease&& other) noexcept;
        ~Lease();
        void release();
        bool held() const { return limiter_ != nullptr; }

    private:
        friend class DeviceLimiter;
        Lease(DeviceLimiter* limiter, Users::iterator user, Devices::iterator device)
            : limiter_(limiter), user_(user), device_(device) {}
        DeviceLimiter* limiter_ = nullptr;
        // The entries it counts in: a map's entries stay put, and these stay while counted.
        Users::iterator user_;
        Devices::iterator device_;
    };

    Result<Lease> acquire(std::string_view user, std::string_view device);

    // Distinct devices of `user` connected now.
    std::size_t device_count(std::string_view user) const;
    std::size_t max_devices() const { return max_devices_; }

private:
    void release(Users::iterator user, Devices::iterator device);

    std::size_t max_devices_;
    mutable std::mutex mutex_;  // guards users_
    Users users_;
};

}  // namespace onda::auth
