#!/usr/bin/env python3
"""Write seed inputs for the guest-protocol fuzz targets (valid frames of each type)."""
import os
import struct
import sys

HELLO, REQUEST, RESPONSE, EVENT, DATA, CREDIT, CLOSE = range(1, 8)


def frame(ftype, stream, payload=b""):
    return struct.pack("<IIBBH", len(payload), stream, ftype, 0, 0) + payload


def field(tag, value):
    return struct.pack("<HI", tag, len(value)) + value


def u32(tag, v):
    return field(tag, struct.pack("<I", v))


def s(tag, text):
    return field(tag, text.encode() + b"\0")


def main(out):
    os.makedirs(out, exist_ok=True)
    seeds = {
        "hello": frame(HELLO, 0, u32(1, 1) + u32(2, 0) + field(3, struct.pack("<Q", 10**9))),
        "create-start-ok": frame(RESPONSE, 0, struct.pack("<II", 1, 0))
        + frame(RESPONSE, 0, struct.pack("<II", 2, 0) + u32(30, 42)),
        "start-fail": frame(RESPONSE, 0, struct.pack("<II", 2, 2) + s(5, "exec failed")),
        "output-exit": frame(DATA, 2, b"hello\n") + frame(DATA, 3, b"err\n")
        + frame(CLOSE, 2) + frame(CLOSE, 3)
        + frame(EVENT, 0, struct.pack("<HH", 1, 0) + u32(16, 1) + u32(31, 0)),
        "credit": frame(CREDIT, 1, struct.pack("<I", 4096)),
        "ping-reply": frame(RESPONSE, 0, struct.pack("<II", 3, 0) + field(6, b"abc")),
        # EV_DNS_QUERY (2): T_DNS_ID (50), T_DNS_TCP (51), T_DATA: a query for "web" A.
        "dns-query": frame(EVENT, 0, struct.pack("<HH", 2, 0) + u32(50, 7) + u32(51, 0)
                           + field(6, bytes.fromhex("123401000001000000000000") + b"\x03web\x00"
                                   + b"\x00\x01\x00\x01")),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main(sys.argv[1])
