"""Small files for the fuzz seed corpora, made with the standard library."""
import struct
import zlib


def png(width, height, pixels, color_type=0):
    """A PNG (8-bit grey or RGB) of `pixels` (bytes, row-major)."""
    channels = 3 if color_type == 2 else 1
    rows = b"".join(b"\x00" + pixels[y * width * channels:(y + 1) * width * channels] for y in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def gradient(width, height, channels=1):
    return bytes((x * 7 + y * 13 + c * 50) % 256 for y in range(height) for x in range(width) for c in range(channels))
