"""Seeds for fuzz_zip: archives of slices, stored and deflated, with the
member names and kinds sg_prep refuses (slips, absolute paths, symlinks)."""
import os
import sys
import zipfile

sys.path.insert(0, os.path.dirname(__file__))
from seed_util import gradient, png  # noqa: E402


def main(out):
    slice_png = png(16, 16, gradient(16, 16))
    with zipfile.ZipFile(os.path.join(out, "slices.zip"), "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("data/train/case_001_slice_0.png", slice_png)
        z.writestr("data/train/case_001_slice_1.png", slice_png, compress_type=zipfile.ZIP_STORED)
        z.writestr("data/README.txt", "notes")
        z.writestr("data/empty/", "")
    with zipfile.ZipFile(os.path.join(out, "hostile.zip"), "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("../slip.png", slice_png)
        z.writestr("/absolute.png", slice_png)
        z.writestr("dir\\backslash.png", slice_png)
        link = zipfile.ZipInfo("link.png")
        link.external_attr = (0o120777 << 16)
        z.writestr(link, "data/train/case_001_slice_0.png")
        z.writestr("zeros.png", b"\0" * 100000)  # compresses 1000:1


if __name__ == "__main__":
    main(sys.argv[1])
