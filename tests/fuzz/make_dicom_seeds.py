"""Seeds for fuzz_dicom: small DICOM files (explicit and implicit VR little
endian, 8 and 16 bits, a window, a report without pixels, RLE-encapsulated
pixels), as tests/test_dicom.cpp writes them."""
import os
import struct
import sys


def element(group, tag, vr, value, explicit=True):
    if len(value) % 2:
        value += b"\0" if vr in (b"UI", b"OB") else b" "
    head = struct.pack("<HH", group, tag)
    if not explicit:
        return head + struct.pack("<I", len(value)) + value
    if vr in (b"OB", b"OW", b"SQ", b"UN"):
        return head + vr + b"\0\0" + struct.pack("<I", len(value)) + value
    return head + vr + struct.pack("<H", len(value)) + value


def dicom(transfer_syntax=b"1.2.840.10008.1.2.1", bits=16, size=8, window=False, pixels=True, rle=False):
    explicit = transfer_syntax != b"1.2.840.10008.1.2"
    meta = (element(2, 1, b"OB", b"\0\1") + element(2, 2, b"UI", b"1.2.840.10008.5.1.4.1.1.4") +
            element(2, 3, b"UI", b"1.2.3.4.5") + element(2, 0x10, b"UI", transfer_syntax) +
            element(2, 0x12, b"UI", b"1.2.3.999"))
    out = b"\0" * 128 + b"DICM" + element(2, 0, b"UL", struct.pack("<I", len(meta))) + meta
    e = lambda g, t, vr, v: element(g, t, vr, v, explicit)
    out += e(8, 0x16, b"UI", b"1.2.840.10008.5.1.4.1.1.4") + e(8, 0x18, b"UI", b"1.2.3.4.5")
    out += e(8, 0x60, b"CS", b"MR" if pixels else b"SR") + e(0x10, 0x20, b"LO", b"PAT")
    out += e(0x20, 0x0e, b"UI", b"1.2.3.4") + e(0x20, 0x32, b"DS", b"0\\0\\0") + e(0x20, 0x37, b"DS", b"1\\0\\0\\0\\1\\0")
    if not pixels:
        return out
    out += e(0x28, 2, b"US", struct.pack("<H", 1)) + e(0x28, 4, b"CS", b"MONOCHROME2")
    out += e(0x28, 0x10, b"US", struct.pack("<H", size)) + e(0x28, 0x11, b"US", struct.pack("<H", size))
    out += e(0x28, 0x100, b"US", struct.pack("<H", bits)) + e(0x28, 0x101, b"US", struct.pack("<H", bits))
    out += e(0x28, 0x102, b"US", struct.pack("<H", bits - 1)) + e(0x28, 0x103, b"US", struct.pack("<H", 0))
    if window:
        out += e(0x28, 0x1050, b"DS", b"40") + e(0x28, 0x1051, b"DS", b"80")
    data = bytes(range(size * size)) if bits == 8 else struct.pack("<%dH" % (size * size), *range(size * size))
    if rle:
        # One RLE segment per byte plane: a literal run of each plane.
        planes = [data[i::bits // 8] for i in range(bits // 8)][::-1]
        header = struct.pack("<16I", len(planes), *[64 + sum(len(p) + (len(p) + 127) // 128 for p in planes[:k])
                                                   for k in range(len(planes))], *([0] * (15 - len(planes))))
        body = b""
        for p in planes:
            for i in range(0, len(p), 128):
                chunk = p[i:i + 128]
                body += bytes([len(chunk) - 1]) + chunk
        fragment = header + body
        if len(fragment) % 2:
            fragment += b"\0"
        out += struct.pack("<HH", 0x7fe0, 0x10) + b"OB\0\0" + struct.pack("<I", 0xffffffff)
        out += struct.pack("<HHI", 0xfffe, 0xe000, 0) + struct.pack("<HHI", 0xfffe, 0xe000, len(fragment)) + fragment
        out += struct.pack("<HHI", 0xfffe, 0xe0dd, 0)
        return out
    return out + e(0x7fe0, 0x10, b"OW" if bits == 16 else b"OB", data)


def main(out):
    seeds = {
        "explicit16.dcm": dicom(),
        "explicit8.dcm": dicom(bits=8),
        "implicit16.dcm": dicom(transfer_syntax=b"1.2.840.10008.1.2"),
        "window.dcm": dicom(window=True),
        "report.dcm": dicom(pixels=False),
        "rle16.dcm": dicom(transfer_syntax=b"1.2.840.10008.1.2.5", rle=True),
    }
    for name, content in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(content)


if __name__ == "__main__":
    main(sys.argv[1])
