#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target to tests/fuzz/corpus/<target>/.

The seeds are small inputs in each target's own input format (see the comment at the top of
<target>_fuzz.cpp): valid cases to start the fuzzer from deep inside the grammar, and invalid
ones next to them. Files named crash-* reproduce bugs the fuzzers found; they stay as regression
seeds once fixed. Run it again after changing a target's input format; it rewrites only the
files it names, so seeds added by hand stay.

Targets that read their input with FuzzedDataProvider take integers from the end of the input
(last byte most significant) and strings from the front (a backslash followed by anything but a
backslash ends a string); the Fdp class below writes that layout.
"""

import base64
import hashlib
import hmac
import json
import pathlib
import struct

CORPUS = pathlib.Path(__file__).resolve().parent / "corpus"
FUZZ_SECRET = b"fuzz-secret-4f1c2a9e"  # jwt_fuzz.cpp and signed_url_fuzz.cpp


class Fdp:
    """Builds an input that FuzzedDataProvider (LLVM 14) reads back as the values added, in order."""

    def __init__(self):
        self.front = b""
        self.back = b""  # integers: the first one consumed sits at the very end

    def string(self, text):
        data = text.encode("latin-1") if isinstance(text, str) else text
        self.front += data.replace(b"\\", b"\\\\") + b"\\x"
        return self

    def rest(self, text):
        """The remaining bytes (ConsumeRemainingBytesAsString): must be added last."""
        self.front += text.encode("latin-1") if isinstance(text, str) else text
        return self

    def integer(self, value, low, high, bits=64):
        span = high - low
        size = 0
        while size * 8 < bits and (span >> (size * 8)) > 0:
            size += 1
        raw = (value - low) % (1 << 64)
        self.back = raw.to_bytes(8, "little")[:size] + self.back
        return self

    def boolean(self, value):
        return self.integer(1 if value else 0, 0, 255, 8)

    def bytes(self):
        return self.front + self.back


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(header, payload, secret=FUZZ_SECRET):
    signing_input = b64url(header.encode()) + "." + b64url(payload.encode())
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(signature)


def url_signature(path, rendition, exp):
    message = f"{path}\n{rendition}\n{exp}".encode("latin-1")
    return b64url(hmac.new(FUZZ_SECRET, message, hashlib.sha256).digest())


def write(target, name, data):
    directory = CORPUS / target
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(data.encode("latin-1") if isinstance(data, str) else data)


def range_seeds():
    # 8 bytes little-endian representation size, then the Range header.
    seeds = {
        "single": (10, "bytes=2-5"),
        "suffix": (10, "bytes=-3"),
        "open-ended": (10, "bytes=7-"),
        "several-with-ows": (10_000, "bytes=0-0, -1 ,, 500-999"),
        "upper-case-unit": (100, "BYTES=0-9"),
        "overlap-budget": (100, "bytes=0-99,0-99,0-99"),
        "empty-body": (0, "bytes=0-"),
        "unsatisfiable": (100, "bytes=100-200"),
        "reversed": (100, "bytes=5-2"),
        "other-unit": (100, "items=0-5"),
        "largest-size": (2**64 - 1, "bytes=18446744073709551614-"),
        "overflowing-number": (100, "bytes=0-18446744073709551616"),
        "many-ranges": (1000, "bytes=" + ",".join(f"{i}-{i}" for i in range(17))),
    }
    for name, (size, header) in seeds.items():
        write("range", name, struct.pack("<Q", size) + header.encode())


def conditional_input(modified, nanos=0, etag="", well_formed=False, weak=False, get=True, if_match="",
                      if_none_match="", if_modified_since="", if_unmodified_since="", if_range=""):
    # The order conditional_fuzz.cpp consumes: integers and flags, then the strings.
    fdp = Fdp()
    fdp.integer(modified, -9_000_000_000, 9_000_000_000).integer(nanos, 0, 999_999_999)
    fdp.boolean(well_formed).boolean(weak).boolean(get)
    for text in (etag, if_match, if_none_match, if_modified_since, if_unmodified_since, if_range):
        fdp.string(text)
    return fdp.bytes()


def conditional_seeds():
    t = 1_800_000_000  # Fri, 15 Jan 2027 08:00:00 GMT
    write("conditional", "strong-etag-echoed",
          conditional_input(t, 250_000_000, etag="abc", well_formed=True, if_none_match='"abc"', if_range='"abc"'))
    write("conditional", "weak-etag-lists",
          conditional_input(t, etag="v1", well_formed=True, weak=True, if_match='"v0", "v1"',
                            if_none_match='W/"v1", "v2"'))
    write("conditional", "any-tag",
          conditional_input(t, etag='"x"', get=False, if_match="*", if_none_match="*"))
    write("conditional", "dates",
          conditional_input(t, etag='"x"', if_modified_since="Fri, 15 Jan 2027 08:00:00 GMT",
                            if_unmodified_since="Thu, 14 Jan 2027 08:00:00 GMT",
                            if_range="Fri, 15 Jan 2027 08:00:00 GMT"))
    write("conditional", "malformed",
          conditional_input(t, etag='"unterminated', if_match='"a" "b"', if_none_match="W/",
                            if_modified_since="yesterday", if_unmodified_since="Fri, 15 Jan 2027 08:00:00 UTC",
                            if_range='W/"a"'))
    # Bugs the fuzzer found in src/core/clock.cpp.
    write("conditional", "crash-http-date-year-9999-overflows",
          conditional_input(t, etag='"x"', if_modified_since="Fri, 31 Dec 9999 23:59:59 GMT"))
    write("conditional", "crash-http-date-of-fraction-before-1970", conditional_input(-1, 500_000_000))


def multipart_input(body, splits=(), header_limit=3):
    # Control byte: split count in bits 0-2, header limit index in bits 3-4; 2-byte split positions.
    control = len(splits) | (header_limit << 3)
    return bytes([control]) + b"".join(struct.pack("<H", at) for at in splits) + body.encode("latin-1")


def multipart_seeds():
    b = "XyZ-b0undary"
    field = f'--{b}\r\nContent-Disposition: form-data; name="title"\r\n\r\nMy song\r\n'
    file_part = (f'--{b}\r\nContent-Disposition: form-data; name="file"; filename="a.mp3"\r\n'
                 f"Content-Type: audio/mpeg\r\n\r\nID3\x03\x00\r\n--{b}x\r\n\r")
    closing = f"\r\n--{b}--"
    write("multipart", "field-and-file", multipart_input(field + file_part + closing))
    write("multipart", "split-at-delimiters",
          multipart_input(field + file_part + closing, (len(field) - 3, 50, 120)))
    write("multipart", "preamble-padding-epilogue",
          multipart_input(f"preamble\r\n--{b} \t\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n"
                          f"--{b}-- \r\nbye"))
    write("multipart", "filename-star",
          multipart_input(f"--{b}\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.txt\"; "
                          f"filename*=UTF-8''caf%C3%A9.txt\r\n\r\ndata{closing}"))
    write("multipart", "quoted-pair-name",
          multipart_input(f'--{b}\r\ncontent-disposition: FORM-DATA; name="a\\"b"\r\n\r\n{closing}', (3,)))
    write("multipart", "headers-over-limit", multipart_input(field + closing, (), 0))
    write("multipart", "no-disposition", multipart_input(f"--{b}\r\n\r\ndata{closing}"))
    write("multipart", "truncated",
          multipart_input(field + f"--{b}\r\nContent-Disposition: form-data; name=x\r\n\r\nab"))
    write("multipart", "bad-boundary-line", multipart_input(f"--{b}x\r\n"))
    # Bit 5 of the control byte: the rest describes parts for the target to write out.
    described = Fdp()
    described.string('title').boolean(False).string("").string("My song")
    described.string('fi"le\\').boolean(True).string("a b.mp3").string(" audio/mpeg ").string("ID3\r\n--XyZ\r")
    write("multipart", "composed-parts", bytes([0x20 | 2]) + struct.pack("<HH", 40, 90) + described.bytes())
    write("multipart", "composed-no-parts", bytes([0x20]))
    write("multipart", "content-type", 'multipart/form-data; charset=utf-8; boundary="a b\'()+_,-./:=?"')
    write("multipart", "content-type-token", "Multipart/Form-Data;boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW")


def jwt_seeds():
    header = '{"alg":"HS256","typ":"JWT"}'
    claims = '{"sub":"alice","exp":1800003600,"iat":1800000000,"role":"admin","name":"Alice","subscriber":true}'
    # Mode 0: a token as it stands.
    write("jwt", "token-valid", "\x00" + jwt(header, claims))
    write("jwt", "token-other-secret", "\x00" + jwt(header, claims, b"another-secret"))
    write("jwt", "token-alg-none", "\x00" + b64url(b'{"alg":"none"}') + "." + b64url(claims.encode()) + ".")
    write("jwt", "token-garbage", "\x00a.b.c.d")
    # Mode 1: header and payload JSON, signed by the target.
    for name, (h, p) in {
        "signed-claims": (header, claims),
        "signed-fractional-exp-nbf": (header, '{"sub":"b","exp":1800000000.5,"nbf":1799999999,"device":"tv"}'),
        "signed-expired": (header, '{"sub":"c","exp":1700000000}'),
        "signed-bad-types": (header, '{"sub":"d","exp":"soon","role":"root","subscriber":1}'),
        "signed-crit": ('{"alg":"HS256","crit":["exp"]}', '{"sub":"e","exp":1800003600}'),
        "signed-not-object": ('["HS256"]', "null"),
    }.items():
        write("jwt", name, b"\x01" + Fdp().string(h).rest(p).bytes())

    def claims_input(sub, exp, role=0, subscriber=False, name="", avatar="", device="", now=1_800_000_000,
                     nanos=0, issued_at=1_800_000_000):
        # Mode 2, in the order round_trip() in jwt_fuzz.cpp consumes.
        limit = 9_223_372_035
        fdp = Fdp().string(sub).integer(exp, -limit, limit).integer(role, 0, 3, 32).boolean(subscriber)
        fdp.string(name).string(avatar).string(device)
        fdp.integer(now, -limit, limit - 1).integer(nanos, 0, 999_999_999, 32).integer(issued_at, -limit, limit)
        return b"\x02" + fdp.bytes()

    write("jwt", "round-trip", claims_input("alice", 1_800_003_600, 3, True, "Alice", "https://a/b.png", "tv"))
    write("jwt", "round-trip-expires-now", claims_input("bob", 1_800_000_000))
    # Found by the fuzzer: sign_jwt signs claims that are not UTF-8, and verify_jwt refuses the token.
    write("jwt", "crash-sign-jwt-latin1-sub-unverifiable", claims_input("caf\xe9", 1_800_003_600))


def signed_url_input(path, rendition, exp_text, sig_text, now=1_800_000_000, nanos=0, exp=1_800_003_600):
    # The order signed_url_fuzz.cpp consumes.
    fdp = Fdp().string(path).string(rendition).string(exp_text).string(sig_text)
    limit = 9_000_000_000
    fdp.integer(now, -limit, limit).integer(nanos, 0, 999_999_999).integer(exp, -(2**63), 2**63 - 1)
    return fdp.bytes()


def signed_url_seeds():
    path = "/v1/media/m_2xK9aQbCdEfGhIjKlMnO/stream"
    sig = url_signature(path, "mp3-192", 1_800_003_600)
    write("signed_url", "valid", signed_url_input(path, "mp3-192", "1800003600", sig))
    write("signed_url", "expired", signed_url_input(path, "mp3-192", "1800003600", sig, now=1_800_003_600, nanos=1))
    write("signed_url", "leading-zero", signed_url_input(path, "", "01800003600", sig))
    write("signed_url", "plus-sign", signed_url_input(path, "", "+1800003600", sig + "="))
    write("signed_url", "past-2262", signed_url_input(path, "", "9223372036854775807", "", exp=2**63 - 1))
    write("signed_url", "negative-exp", signed_url_input("/a", "b", "-5", "", exp=-5))
    # Found by the fuzzer: parse_exp accepts "-0", a second spelling of exp 0.
    write("signed_url", "crash-exp-minus-zero-accepted", signed_url_input("/a", "", "-0", "", exp=0))


def query_seeds():
    for name, text in {
        "plain": "hello",
        "escapes": "caf%C3%A9%20and%2Bplus",
        "plus": "a+b+%2B",
        "lower-hex": "%e2%82%ac",
        "bad-escape": "100%zz",
        "truncated-escape": "50%2",
        "lone-percent": "%",
        "unreserved": "AZaz09-._~",
        "binary": "\x00\x7f\x80\xff /?#[]@!$&'()*,;=",
    }.items():
        write("query", name, text)


def config_seeds():
    for name, text in {
        "milliseconds": "500ms",
        "seconds": "10s",
        "bare-number": "30",
        "minutes": "5m",
        "hours": "24h",
        "days": "7d",
        "kibibytes": "64KiB",
        "gibibytes": "2GiB",
        "megabytes": "10MB",
        "kilobytes": "1kB",
        "max-u64": "18446744073709551615",
        "overflow": "18446744073709551616",
        "days-overflow": "106751991167d",
        "empty": "",
        "negative": "-5s",
        "fraction": "1.5s",
        "space": "10 s",
        "unit-only": "ms",
    }.items():
        write("config", name, text)


def engineio_seeds():
    for name, text in {
        "handshake": b'0{"sid":"x","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}',
        "messages": b"4hello\x1e4world",
        "connect-and-event": b'40\x1e42["join",{"room":"chat:s1"}]',
        "ping-pong-close": b"2\x1e3\x1e2probe\x1e3probe\x1e1\x1e5\x1e6",
        "binary": b'451-["up",{"_placeholder":true,"num":0}]\x1ebAQIDBA==',
        "bad-base64": b"bAQIDBA",
        "empty-item": b"4a\x1e\x1e4b",
        "unknown-type": b"9",
    }.items():
        write("engineio", name, text)


def socketio_seeds():
    for name, text in {
        "connect": b"0",
        "connect-auth": b'0{"token":"eyJ.x.y","deviceId":"phone"}',
        "connect-namespace": b"0/admin,",
        "disconnect": b"1",
        "event": b'2["join",{"room":"chat:s1"}]',
        "event-ack": b'212["play_track",{"trackId":"m_1","position":1.5}]',
        "event-namespace-ack": b'2/admin,13["foo",null,true,-1e300]',
        "ack": b'312[{"ok":true}]',
        "connect-error": b'4{"message":"device_limit","data":{"code":"device_limit"}}',
        "binary-event": b'52-["up",{"_placeholder":true,"num":0},{"x":[{"_placeholder":true,"num":1}]}]',
        "binary-ack": b'61-15["bar",{"_placeholder":true,"num":0}]',
        "bad-placeholder": b'51-["up",{"_placeholder":true,"num":3}]',
        "reserved": b'2["disconnect"]',
        "deep": b'2["a",' + b"[" * 40 + b"]" * 40 + b"]",
        "huge-id": b'29007199254740992["a"]',
        "crash-number-past-double-range": b'2/admin,13["foo",null,true,-1e320]',
        "crash-double-not-parsed-back-exactly": b'61-5["ar",{"_placeholder":' + b"2" * 82 + b'0}]',
    }.items():
        write("socketio", name, text)


def ws_frame(opcode, payload, fin=True, mask=b"\x12\x34\x56\x78", masked=True):
    """A client's WebSocket frame (RFC 6455 section 5.2), masked unless told otherwise."""
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    bit = 0x80 if masked else 0
    if n < 126:
        head += bytes([bit | n])
    elif n <= 0xFFFF:
        head += bytes([bit | 126]) + struct.pack(">H", n)
    else:
        head += bytes([bit | 127]) + struct.pack(">Q", n)
    if not masked:
        return head + payload
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def websocket_seeds():
    # First byte: the piece size the fuzzer feeds the rest in (1 + byte % 17).
    for name, (step, wire) in {
        "text": (0, ws_frame(1, b'42["volume_change",{"volume":0.5}]')),
        "binary-16bit-length": (3, ws_frame(2, bytes(range(256)) * 2)),
        "binary-64bit-length": (16, ws_frame(2, b"a" * 70000)),
        "fragments-and-ping": (5, ws_frame(1, b"he", fin=False) + ws_frame(9, b"p") + ws_frame(0, b"llo")),
        "pong": (1, ws_frame(10, b"")),
        "close-with-reason": (2, ws_frame(8, struct.pack(">H", 1000) + b"bye")),
        "close-bare": (0, ws_frame(8, b"")),
        "unmasked": (0, ws_frame(1, b"hi", masked=False)),
        "utf8-euro-split": (1, ws_frame(1, b"\xe2", fin=False) + ws_frame(0, b"\x82\xac")),
        "utf8-overlong": (0, ws_frame(1, b"\xc0\xaf")),
        "too-large": (0, ws_frame(2, b"x" * 5000)),
    }.items():
        write("websocket", name, bytes([step]) + wire)


def request_head_seeds():
    # 2 bytes little-endian head limit (mod 4096, at least 16), then the bytes.
    limit = struct.pack("<H", 4000)
    for name, text in {
        "get": b"GET /v1/media/m_1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: bytes=0-65535\r\n\r\n",
        "post-length": b"POST /v1/media?filename=a.wav HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nRIFF",
        "chunked": b"PATCH /v1/uploads/u_1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "http10": b"\r\nGET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        "pipelined": b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
        "smuggling": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        "folding": b"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n",
        "bare-lf": b"GET / HTTP/1.1\nHost: a\n\n",
        "websocket": b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     b"Sec-WebSocket-Version: 13\r\n\r\n",
    }.items():
        write("request_head", name, limit + text)
    write("request_head", "tiny-limit", struct.pack("<H", 0) + b"GET / HTTP/1.1\r\nHost: x\r\nX: yy\r\n\r\n")


if __name__ == "__main__":
    range_seeds()
    conditional_seeds()
    multipart_seeds()
    jwt_seeds()
    signed_url_seeds()
    query_seeds()
    config_seeds()
    engineio_seeds()
    socketio_seeds()
    websocket_seeds()
    request_head_seeds()
