#!/usr/bin/python3
"""A labelled toy set for conditional training: grey 32x32 PNGs of small
discs (OUT/disc/) and large squares (OUT/square/), their centres, sizes and
brightness drawn at random, and OUT/shapes.textproto, the dataset config
that labels them by folder and holds a fifth of them back (validate split).

    tools/make_shapes_dataset.py OUT [--per-class 300] [--seed 7]
    build/bin/sg_prep --config OUT/shapes.textproto --input OUT --out shapes.lmdb

Standard library only (PNG written with zlib), so it runs on a bare Debian.
"""
import argparse
import math
import os
import random
import struct
import zlib

SIZE = 32

CONFIG = '''name: "shapes"
include: "**/*.png"
labels { pattern { regex: "^(disc|square)/" } classes { name: "disc" } classes { name: "square" } }
split { mode: SUBJECT_HASH validate_fraction: 0.2 seed: 1 }
pyramid { resolutions: [8, 16, 32] }
random_mirror: false
'''


def write_grey_png(path, rows):
    raw = b''.join(b'\x00' + bytes(row) for row in rows)

    def chunk(kind, data):
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff)

    header = struct.pack('>IIBBBBB', len(rows[0]), len(rows), 8, 0, 0, 0, 0)
    with open(path, 'wb') as out:
        out.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header) + chunk(b'IDAT', zlib.compress(raw)) +
                  chunk(b'IEND', b''))


def shape(rng, square):
    cx, cy = SIZE / 2 + rng.uniform(-4, 4), SIZE / 2 + rng.uniform(-4, 4)
    value = rng.randint(150, 230)
    radius, half_side = rng.uniform(4.5, 7.5), rng.uniform(7.5, 10.5)
    rows = []
    for y in range(SIZE):
        row = []
        for x in range(SIZE):
            dx, dy = x + 0.5 - cx, y + 0.5 - cy
            inside = max(abs(dx), abs(dy)) < half_side if square else math.hypot(dx, dy) < radius
            row.append(value if inside else 0)
        rows.append(row)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('out')
    parser.add_argument('--per-class', type=int, default=300)
    parser.add_argument('--seed', type=int, default=7)
    args = parser.parse_args()
    if args.per_class < 1:
        parser.error('--per-class must be at least 1')
    rng = random.Random(args.seed)
    for name in ('disc', 'square'):
        os.makedirs(os.path.join(args.out, name), exist_ok=True)
        for i in range(args.per_class):
            write_grey_png(os.path.join(args.out, name, '%s_%03d.png' % (name, i)), shape(rng, name == 'square'))
    with open(os.path.join(args.out, 'shapes.textproto'), 'w') as config:
        config.write(CONFIG)
    print('wrote %d discs and %d squares under %s, and %s' %
          (args.per_class, args.per_class, args.out, os.path.join(args.out, 'shapes.textproto')))


if __name__ == '__main__':
    main()
