#!/usr/bin/python3
"""Hostile chunk bodies for test_poison.sh: writes one file per case into DIR.

Each is a body that a worker must dead-letter with a reason and survive:
truncated msgpack, wrong types, wrong version, huge arrays, ids out of range,
a phase that does not exist, a chunk of another run. Msgpack is written by
hand (struct) so that malformed encodings can be made on purpose.
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
    f = {"v": i(1), "run": i(run_id), "phase": s("patients"), "chunk": i(0), "lo": i(1), "hi": i(100)}
    f.update(over)
    return m(list(f.items()))


out, run = sys.argv[1], int(sys.argv[2])
cases = {
    "truncated": good(run)[:-3],
    "not_msgpack": b"this is not msgpack",
    "array_not_map": b"\x93\x01\x02\x03",
    "huge_array": b"\xdd\xff\xff\xff\xff",
    "huge_map": b"\xdf\x7f\xff\xff\xff",
    "wrong_version": good(run, v=i(9)),
    "run_is_string": good(run, run=s("1")),
    "lo_is_nil": good(run, lo=b"\xc0"),
    "id_out_of_range": good(run, hi=b"\xcf" + struct.pack(">Q", (1 << 64) - 1)),
    "negative_chunk": good(run, chunk=i(-5)),
    "unknown_phase": good(run, phase=s("invoices")),
    "other_run": good(run + 1000),
    "bounds_reversed": good(run, lo=i(100), hi=i(1)),
    "empty": b"",
}
for name, body in cases.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(body)
print(len(cases))
