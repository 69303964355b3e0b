#!/usr/bin/python3
"""Hostile chunk bodies for test_poison.sh: writes one file per case into DIR
and prints, one line per case, its name, a tab and the reason the worker must
dead-letter it with (the decoder's message, shared/chunk_codec.c, or the
worker's check of the run, worker/worker.c).

Each is a body that a worker must dead-letter with its reason and survive:
truncated msgpack, wrong types, wrong version, huge arrays, ids out of range,
a phase that does not exist, a chunk of another run. Msgpack is written by
hand (struct) so that malformed encodings can be made on purpose.

Usage: poison_bodies.py DIR RUN
"""
import os
import struct
import sys


def s(x):
    b = x.encode()
    return bytes([0xA0 | len(b)]) + b if len(b) < 32 else b"\xd9" + bytes([len(b)]) + b


def i(n):
    if 0 <= n < 128:
        return bytes([n])
    return b"\xd3" + struct.pack(">q", n)


def m(pairs):
    out = bytes([0x80 | len(pairs)])
    for k, v in pairs:
        out += s(k) + v
    return out


def good(run_id, **over):
    f = {"v": i(VERSION), "run": i(run_id), "phase": s("patients"), "chunk": i(0), "lo": i(1), "hi": i(100)}
    f.update(over)
    return m(list(f.items()))


def codec_define(name):
    """The value of #define NAME in the codec's header (the decoder's limits)."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the checkout
    h = os.path.join(root, "shared", "include", "mdw", "chunk_codec.h")
    with open(h) as f:
        for line in f:
            w = line.split()
            if len(w) >= 3 and w[0] == "#define" and w[1] == name:
                return int(w[2])
    raise SystemExit(f"poison_bodies.py: no #define {name} in {h}")


MAX_BODY, VERSION = codec_define("MDW_CHUNK_MAX_BODY"), codec_define("MDW_CHUNK_VERSION")
UNDECODABLE = "undecodable body: "
NOT_MSGPACK = "body is not msgpack, or truncated msgpack"

out, run = sys.argv[1], int(sys.argv[2])
not_msgpack = b"this is not msgpack"  # 't' is a whole msgpack value (fixint 116): the rest trails it
cases = {
    "truncated": (good(run)[:-3], UNDECODABLE + NOT_MSGPACK),
    "not_msgpack": (not_msgpack, UNDECODABLE + f"body has {len(not_msgpack) - 1} trailing bytes after the map"),
    "array_not_map": (b"\x93\x01\x02\x03", UNDECODABLE + "body is not a msgpack map"),
    "huge_array": (b"\xdd\xff\xff\xff\xff", UNDECODABLE + NOT_MSGPACK),
    "huge_map": (b"\xdf\x7f\xff\xff\xff", UNDECODABLE + NOT_MSGPACK),
    "wrong_version": (good(run, v=i(9)), UNDECODABLE + f"body version 9 is not supported: expected {VERSION}"),
    "run_is_string": (good(run, run=s("1")), UNDECODABLE + "field run is not an integer"),
    "lo_is_nil": (good(run, lo=b"\xc0"), UNDECODABLE + "field lo is not an integer"),
    "id_out_of_range": (good(run, hi=b"\xcf" + struct.pack(">Q", (1 << 64) - 1)),
                        UNDECODABLE + f"field hi {(1 << 64) - 1} is out of the bigint range"),
    "negative_chunk": (good(run, chunk=i(-5)), UNDECODABLE + "field chunk -5 is out of range"),
    "unknown_phase": (good(run, phase=s("invoices")), UNDECODABLE + "field phase names no known phase"),
    "other_run": (good(run + 1000), f"chunk of run {run + 1000} on the stream of run {run}"),
    "bounds_reversed": (good(run, lo=i(100), hi=i(1)), UNDECODABLE + "bounds lo 100 > hi 1"),
    "empty": (b"", UNDECODABLE + f"body is 0 bytes: expected 1 to {MAX_BODY}"),
}
for name, (body, reason) in cases.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(body)
    print(f"{name}\t{reason}")
