"""Seeds for fuzz_lmdb_record: 2 bytes of meta length (little-endian), a
DatasetMeta (hand-encoded protobuf: resolutions, channels, encoding), then one
record value (RAW bytes or a PNG)."""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(__file__))
from seed_util import gradient, png  # noqa: E402


def meta(resolutions, channels, encoding):
    out = b"".join(b"\x10" + bytes([r]) for r in resolutions)  # field 2, varint (values < 128)
    return out + b"\x18" + bytes([channels]) + b"\x20" + bytes([encoding])


def main(out):
    def seed(name, meta_bytes, record):
        with open(os.path.join(out, name), "wb") as f:
            f.write(struct.pack("<H", len(meta_bytes)) + meta_bytes + record)

    seed("raw8.bin", meta([8, 16], 1, 0), gradient(8, 8))
    seed("raw8rgb.bin", meta([8], 3, 0), gradient(8, 8, 3))
    seed("png16.bin", meta([8, 16, 32], 1, 1), png(16, 16, gradient(16, 16)))
    seed("png8rgb.bin", meta([8], 3, 1), png(8, 8, gradient(8, 8, 3), color_type=2))


if __name__ == "__main__":
    main(sys.argv[1])
