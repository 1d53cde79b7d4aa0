#!/usr/bin/python3
"""Writes the numpy references the recorder tests compare against.

Run from the repository root with Debian's interpreter (it has numpy):

  /usr/bin/python3 recorder/testdata/make_half_reference.py

Outputs (committed; regenerate only when the inputs change):
  connect4-half-numpy.bin  every F32 tensor of the connect4 fixture, in file
                           order, converted with numpy astype(float16): the
                           bits Burn's HalfPrecisionSettings recorder writes
                           (Burn rounds with the `half` crate, which like
                           numpy rounds to nearest, ties to even).
  f32-to-f16-numpy.bin     pairs (f32 bits u32 LE, f16 bits u16 LE) for edge
                           cases and 60000 seeded random f32 values, NaNs
                           excluded (numpy and `half` quiet NaNs differently;
                           the C++ test checks NaN handling on its own).
"""
import struct
import numpy as np

FIXTURE = "tests/fixtures/burn/connect4-mlp-f32-burn0.16.1.mpk"


def bin_payloads(data):
    """Yields each tensor's `bytes` payload: finds the "bytes" key (fixstr
    a5) and reads the msgpack bin header that follows it."""
    pos = 0
    while True:
        pos = data.find(b"\xa5bytes", pos)
        if pos < 0:
            return
        pos += 6
        marker = data[pos]
        if marker == 0xC4:
            n, head = data[pos + 1], 2
        elif marker == 0xC5:
            n, head = struct.unpack(">H", data[pos + 1:pos + 3])[0], 3
        elif marker == 0xC6:
            n, head = struct.unpack(">I", data[pos + 1:pos + 5])[0], 5
        else:
            raise ValueError("bytes not followed by bin at %d" % pos)
        yield data[pos + head:pos + head + n]
        pos += head + n


def main():
    data = open(FIXTURE, "rb").read()
    out = bytearray()
    count = 0
    for payload in bin_payloads(data):
        values = np.frombuffer(payload, dtype="<f4")
        out += values.astype(np.float16).astype("<f2").tobytes()
        count += 1
    open("recorder/testdata/connect4-half-numpy.bin", "wb").write(out)

    special = [0x00000000, 0x80000000, 0x7F800000, 0xFF800000, 0x00000001,
               0x33000000, 0x33000001, 0x337FFFFF, 0x33800000, 0x33C00000,
               0x34000000, 0x38800000, 0x387FC000, 0x387FE000, 0x387FF000,
               0x477FE000, 0x477FEFFF, 0x477FF000, 0x47800000, 0x3F800000,
               0x3F801000, 0x3F803000, 0x3F802000, 0x3F800FFF, 0x7F7FFFFF,
               0xC77FF000, 0xB3000001, 0x3DCCCCCD]
    rng = np.random.default_rng(20240611)
    rand = rng.integers(0, 2**32, size=60000, dtype=np.uint64).astype(
        np.uint32)
    # Half of them near the f16 range so rounding paths are well covered.
    near = (rng.integers(0x33000000, 0x47800000, size=60000,
                         dtype=np.uint64).astype(np.uint32))
    sign = (rng.integers(0, 2, size=60000) << 31).astype(np.uint32)
    bits = np.concatenate([np.array(special, dtype=np.uint32), rand,
                           near | sign])
    floats = bits.view(np.float32)
    keep = ~np.isnan(floats)
    bits, floats = bits[keep], floats[keep]
    halves = floats.astype(np.float16).view(np.uint16)
    pairs = bytearray()
    for b, h in zip(bits.tolist(), halves.tolist()):
        pairs += struct.pack("<IH", b, h)
    open("recorder/testdata/f32-to-f16-numpy.bin", "wb").write(pairs)
    print("tensors:", count, "pairs:", len(bits))


if __name__ == "__main__":
    main()
