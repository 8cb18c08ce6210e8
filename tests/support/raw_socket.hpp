// A plain blocking TCP client on 127.0.0.1 for tests that must misbehave on purpose: slow senders,
// pipelined requests, oversized heads, clients that vanish mid-body.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace onda::test {

class RawSocket {
public:
    // `receive_buffer` > 0 sets SO_RCVBUF before connecting (a reader the kernel holds little for);
    // `source_address` (e.g. "127.0.0.2", any of 127/8 is this machine) is the address it comes from.
    explicit RawSocket(std::uint16_t port, int receive_buffer = 0, std::string const& source_address = {});
    ~RawSocket();
    RawSocket(RawSocket const&) = delete;
    RawSocket& operator=(RawSocket const&) = delete;

    // False when the peer has closed or reset the connection.
    bool send(std::string_view bytes);
    // What one read brings within `timeout`: empty when nothing came, or at EOF.
    std::string receive_some(std::chrono::milliseconds timeout);
    // Whatever arrives within `timeout` (may be empty); stops early at EOF.
    std::string receive_for(std::chrono::milliseconds timeout);
    // Reads until `needle` has arrived, EOF, or the deadline; returns all that was read.
    std::string receive_until(std::string_view needle, std::chrono::milliseconds timeout);
    // True when the peer closes the connection within `timeout` (data before the close is dropped).
    bool closed_within(std::chrono::milliseconds timeout);
    void close();

private:
    int fd_ = -1;
};

}  // namespace onda::test
