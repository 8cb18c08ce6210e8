#include "http/detail/websocket_frame.hpp"

#include <algorithm>
#include <utility>

#include <openssl/evp.h>

#include "core/text.hpp"

namespace onda::http::detail {
namespace {

// RFC 6455 §1.3: what the Sec-WebSocket-Accept digest appends to the client's key.
constexpr std::string_view accept_guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// A Sec-WebSocket-Key is the base64 of 16 bytes: 22 characters of the alphabet and "==".
bool is_valid_key(std::string_view key) {
    if (key.size() != 24 || key.substr(22) != "==") return false;
    return std::all_of(key.begin(), key.begin() + 22, [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
    });
}

// RFC 6455 §5.5: a control frame's payload is at most 125 bytes; a close reason therefore 123.
constexpr std::size_t max_control_payload = 125;
constexpr std::size_t max_close_reason = max_control_payload - 2;

// Once this much of the buffer's front is consumed (and at least half of it), the unread tail moves
// to the front.
constexpr std::size_t compact_after_bytes = 256;

// Gives a string's memory back. Assigning an empty string would not: libstdc++ copies a short string
// into the buffer the target already has.
void release(std::string& text) { std::string().swap(text); }

std::uint64_t read_big_endian(std::string_view bytes) {
    std::uint64_t value = 0;
    for (char c : bytes) value = (value << 8) | static_cast<unsigned char>(c);
    return value;
}

bool is_known_opcode(unsigned op) {
    switch (static_cast<Opcode>(op)) {
    case Opcode::continuation:
    case Opcode::text:
    case Opcode::binary:
    case Opcode::close:
    case Opcode::ping:
    case Opcode::pong: return true;
    }
    return false;
}

// RFC 6455 §7.4: codes a peer may send. 1004-1006 and 1015 are reserved, below 1000 unused, 1016-2999
// for future protocol use, 3000-4999 for libraries and applications.
bool is_sendable_close_code(std::uint16_t code) {
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

void unmask_into(std::string& out, std::string_view payload, std::string_view mask) {
    std::size_t const start = out.size();
    out.append(payload);
    for (std::size_t i = 0; i < payload.size(); ++i) out[start + i] = static_cast<char>(out[start + i] ^ mask[i % 4]);
}

}  // namespace

std::size_t write_frame_header(Opcode opcode, std::uint64_t payload_bytes, unsigned char* out) {
    out[0] = static_cast<unsigned char>(0x80 | static_cast<unsigned>(opcode));
    if (payload_bytes < 126) {
        out[1] = static_cast<unsigned char>(payload_bytes);
        return 2;
    }
    if (payload_bytes <= 0xFFFF) {
        out[1] = 126;
        out[2] = static_cast<unsigned char>(payload_bytes >> 8);
        out[3] = static_cast<unsigned char>(payload_bytes & 0xFF);
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<unsigned char>(payload_bytes >> (56 - 8 * i));
    return 10;
}

std::string encode_close_payload(std::uint16_t code, std::string_view reason) {
    if (reason.size() > max_close_reason) {
        reason = reason.substr(0, max_close_reason);
        // Back up to the start of a character: a continuation byte is 10xxxxxx.
        while (!reason.empty() && (static_cast<unsigned char>(reason.back()) & 0xC0) == 0x80) reason.remove_suffix(1);
        if (!reason.empty() && static_cast<unsigned char>(reason.back()) >= 0xC0) reason.remove_suffix(1);
    }
    std::string out;
    out.reserve(2 + reason.size());
    out += static_cast<char>(code >> 8);
    out += static_cast<char>(code & 0xFF);
    out += reason;
    return out;
}

void MessageReader::feed(std::string_view bytes) {
    if (failed_ || bytes.empty()) return;
    if (consumed_ > 0 && consumed_ == buffer_.size()) {
        release(buffer_);
        consumed_ = 0;
    }
    buffer_.append(bytes);
}

std::size_t MessageReader::held_bytes() const {
    static std::size_t const in_place = std::string().capacity();
    auto held = [](std::string const& text) { return text.capacity() > in_place ? text.capacity() + 1 : 0; };
    return held(buffer_) + held(message_) + held(failure_.data);
}

Incoming MessageReader::fail(std::uint16_t code, std::string why) {
    failed_ = true;
    failure_ = Incoming{.kind = Incoming::Kind::violation, .data = std::move(why), .binary = false, .code = code};
    release(buffer_);
    release(message_);
    consumed_ = 0;
    return failure_;
}

Incoming MessageReader::next() {
    if (failed_) return failure_;
    Incoming result;
    for (;;) {
        std::string_view in(buffer_);
        in.remove_prefix(consumed_);
        if (in.size() < 2) break;
        auto const b0 = static_cast<unsigned char>(in[0]);
        auto const b1 = static_cast<unsigned char>(in[1]);
        bool const fin = (b0 & 0x80) != 0;
        unsigned const op = b0 & 0x0F;
        if ((b0 & 0x70) != 0)
            return fail(close_code::protocol_error, "reserved frame bits set (no extension was agreed)");
        if (!is_known_opcode(op)) return fail(close_code::protocol_error, "unknown frame opcode");
        if ((b1 & 0x80) == 0) return fail(close_code::protocol_error, "a client's frames must be masked");
        std::uint64_t length = b1 & 0x7F;
        std::size_t head = 2;
        if (length == 126) {
            if (in.size() < 4) break;
            length = read_big_endian(in.substr(2, 2));
            head = 4;
            if (length < 126) return fail(close_code::protocol_error, "frame length not in its shortest form");
        } else if (length == 127) {
            if (in.size() < 10) break;
            length = read_big_endian(in.substr(2, 8));
            head = 10;
            if (length >> 63) return fail(close_code::protocol_error, "frame length has its top bit set");
            if (length <= 0xFFFF) return fail(close_code::protocol_error, "frame length not in its shortest form");
        }
        head += 4;  // the mask
        bool const control = (op & 0x8) != 0;
        if (control) {
            if (!fin) return fail(close_code::protocol_error, "a control frame must not be fragmented");
            if (length > max_control_payload) return fail(close_code::protocol_error, "control frame over 125 bytes");
        } else {
            if (op == 0 && !in_message_)
                return fail(close_code::protocol_error, "continuation frame outside a message");
            if (op != 0 && in_message_)
                return fail(close_code::protocol_error, "a new message began before the previous one ended");
            if (length > max_message_bytes_ - message_.size())
                return fail(close_code::too_big, "message over " + std::to_string(max_message_bytes_) + " bytes");
        }
        if (in.size() < head || in.size() - head < length) break;  // the rest of the frame is on its way
        std::string_view const mask = in.substr(head - 4, 4);
        std::string_view const payload = in.substr(head, static_cast<std::size_t>(length));
        consumed_ += head + static_cast<std::size_t>(length);

        if (control) {
            std::string data;
            unmask_into(data, payload, mask);
            switch (static_cast<Opcode>(op)) {
            case Opcode::ping: result = Incoming{.kind = Incoming::Kind::ping, .data = std::move(data)}; break;
            case Opcode::pong: result = Incoming{.kind = Incoming::Kind::pong}; break;
            default: {  // close
                if (data.size() == 1) return fail(close_code::protocol_error, "close frame with a 1-byte payload");
                std::uint16_t code = close_code::none_received;
                if (data.size() >= 2) {
                    code = static_cast<std::uint16_t>(read_big_endian(std::string_view(data).substr(0, 2)));
                    if (!is_sendable_close_code(code)) return fail(close_code::protocol_error, "invalid close code");
                    data.erase(0, 2);
                    if (!is_valid_utf8(data)) return fail(close_code::invalid_payload, "close reason is not UTF-8");
                }
                result = Incoming{.kind = Incoming::Kind::close, .data = std::move(data), .code = code};
                break;
            }
            }
            break;
        }
        if (op != 0) {
            in_message_ = true;
            message_binary_ = static_cast<Opcode>(op) == Opcode::binary;
        }
        unmask_into(message_, payload, mask);
        if (!fin) continue;
        in_message_ = false;
        if (!message_binary_ && !is_valid_utf8(message_))
            return fail(close_code::invalid_payload, "text message is not valid UTF-8");
        result = Incoming{.kind = Incoming::Kind::message, .data = std::move(message_), .binary = message_binary_};
        message_.clear();  // moved from: empty, holding no memory
        break;
    }
    if (consumed_ == buffer_.size()) {
        // All read: an idle WebSocket holds no buffer (a pong or a short message fits in the string
        // itself next time).
        consumed_ = 0;
        release(buffer_);
    } else if (consumed_ >= compact_after_bytes && consumed_ * 2 >= buffer_.size()) {
        buffer_.erase(0, consumed_);  // the unread tail moves to the front; at most one frame's worth
        consumed_ = 0;
    }
    return result;
}

Result<std::string> check_handshake(std::string_view version, std::string_view key) {
    if (version != "13")
        return Error(Errc::invalid_argument, "unsupported WebSocket version: this server speaks 13 (RFC 6455)");
    if (!is_valid_key(key)) return Error(Errc::invalid_argument, "bad Sec-WebSocket-Key: 16 bytes in base64 expected");
    std::string input(key);
    input += accept_guid;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_size = 0;
    if (EVP_Digest(input.data(), input.size(), digest, &digest_size, EVP_sha1(), nullptr) != 1)
        return Error(Errc::internal, "SHA-1 failed");
    unsigned char encoded[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
    int const length = EVP_EncodeBlock(encoded, digest, static_cast<int>(digest_size));
    return std::string(reinterpret_cast<char const*>(encoded), static_cast<std::size_t>(length));
}

}  // namespace onda::http::detail
