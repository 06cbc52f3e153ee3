"""Seeds for fuzz_image: small PNGs (grey, RGB) and, when PIL is there, JPEGs."""
import io
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from seed_util import gradient, png  # noqa: E402


def main(out):
    with open(os.path.join(out, "grey.png"), "wb") as f:
        f.write(png(16, 12, gradient(16, 12)))
    with open(os.path.join(out, "rgb.png"), "wb") as f:
        f.write(png(9, 7, gradient(9, 7, 3), color_type=2))
    try:
        from PIL import Image
    except ImportError:
        return
    for name, mode, kwargs in (("grey.jpg", "L", {}), ("rgb.jpg", "RGB", {}), ("progressive.jpg", "RGB", {"progressive": True})):
        image = Image.frombytes(mode, (16, 16), gradient(16, 16, 1 if mode == "L" else 3))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=90, **kwargs)
        with open(os.path.join(out, name), "wb") as f:
            f.write(buffer.getvalue())


if __name__ == "__main__":
    main(sys.argv[1])
