"""Seeds for fuzz_volume: a selector byte (the file name: 0 .nii, 1 .nii.gz,
2 .hdr + .img, 3 .mha, 4 .nrrd, 5 .nhdr + v.raw), then the file."""
import gzip
import os
import struct
import sys
import zlib


def nifti1(dims, datatype, bitpix, data, magic=b"n+1\0", vox_offset=352.0, slope=0.0, inter=0.0):
    h = bytearray(348)
    struct.pack_into("<i", h, 0, 348)
    struct.pack_into("<8h", h, 40, len(dims), *(list(dims) + [1] * (7 - len(dims))))
    struct.pack_into("<hh", h, 70, datatype, bitpix)
    struct.pack_into("<8f", h, 76, *([1.0] * 8))
    struct.pack_into("<fff", h, 108, vox_offset, slope, inter)
    h[344:348] = magic
    return bytes(h) + (b"\0" * 4 if magic == b"n+1\0" else b"") + data


def nifti2(dims, datatype, bitpix, data, slope=0.0, inter=0.0):
    h = bytearray(544)
    struct.pack_into("<i", h, 0, 540)
    h[4:12] = b"n+2\0\r\n\x1a\n"
    struct.pack_into("<hh", h, 12, datatype, bitpix)
    struct.pack_into("<8q", h, 16, len(dims), *(list(dims) + [1] * (7 - len(dims))))
    struct.pack_into("<8d", h, 104, *([1.0] * 8))
    struct.pack_into("<qdd", h, 168, 544, slope, inter)
    return bytes(h) + data


def main(out):
    def seed(name, selector, content):
        with open(os.path.join(out, name), "wb") as f:
            f.write(bytes([selector]) + content)

    voxels16 = struct.pack("<256h", *range(256))
    seed("n1.nii", 0, nifti1((8, 8, 4), 4, 16, voxels16))
    seed("n1-4d.nii", 0, nifti1((4, 4, 4, 4), 4, 16, voxels16))
    seed("n2.nii", 0, nifti2((8, 8, 4), 4, 16, voxels16, 0.5, 10.0))
    seed("n2-f32.nii", 0, nifti2((4, 4, 4), 16, 32, struct.pack("<64f", *[i / 3 for i in range(64)])))
    seed("n2.nii.gz", 1, gzip.compress(nifti2((8, 8, 4), 2, 8, bytes(range(256)))))
    seed("n1.nii.gz", 1, gzip.compress(nifti1((8, 8, 4), 4, 16, voxels16)))
    seed("pair.hdr", 2, nifti1((8, 8, 2), 2, 8, b"", magic=b"ni1\0", vox_offset=0.0) + bytes(range(128)))
    raw = bytes((i * 5) % 256 for i in range(64))
    seed("local.mha", 3, b"ObjectType = Image\nNDims = 2\nDimSize = 8 8\nElementType = MET_UCHAR\n"
                         b"ElementDataFile = LOCAL\n" + raw)
    seed("zlocal.mha", 3, b"ObjectType = Image\nNDims = 2\nDimSize = 8 8\nElementType = MET_UCHAR\n"
                          b"CompressedData = True\nElementDataFile = LOCAL\n" + zlib.compress(raw))
    seed("raw.nrrd", 4, b"NRRD0004\ntype: unsigned char\ndimension: 2\nsizes: 8 8\nencoding: raw\n\n" + raw)
    seed("gz.nrrd", 4, b"NRRD0004\ntype: short\ndimension: 3\nsizes: 4 4 2\nencoding: gzip\n\n"
                       + gzip.compress(struct.pack("<32h", *range(32))))
    seed("detached.nhdr", 5, b"NRRD0004\ntype: unsigned char\ndimension: 2\nsizes: 8 8\nencoding: raw\n"
                             b"data file: v.raw\n\n" + raw)


if __name__ == "__main__":
    main(sys.argv[1])
