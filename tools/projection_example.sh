#!/usr/bin/env bash
# The README's projection example (issue #30): one real slice of the demo
# LMDB, once as it is and once with an inserted synthetic lesion (a bright
# disc), each projected into the demo generator by sg_project as an anomaly
# map is made (W space, fixed noise, a prior on w: PROJECT_FLAGS); prints the
# reconstruction errors, the error inside the disc against the same pixels
# of the clean slice, and the seconds per image, beside the CPU model.
#   tools/projection_example.sh [CHECKPOINT] [OUT]
# Defaults: runs/demo-train/checkpoints/latest.ckpt (bash tools/run_demo.sh
# makes it) and runs/projection-example. Environment: LMDB (runs/demo.lmdb),
# INDEX (the record, default 90), STEPS (1000), PROJECT_FLAGS (default
# "--space w --fixed-noise --w-prior 0.2"; "" projects as the anchors do).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
checkpoint=${1:-$here/runs/demo-train/checkpoints/latest.ckpt}
out=${2:-$here/runs/projection-example}
lmdb=${LMDB:-$here/runs/demo.lmdb} index=${INDEX:-90} steps=${STEPS:-1000}
read -r -a flags <<<"${PROJECT_FLAGS---space w --fixed-noise --w-prior 0.2}"
[ -f "$checkpoint" ] || { echo "no checkpoint at $checkpoint (run bash tools/run_demo.sh)" >&2; exit 1; }
mkdir -p "$out"
# The generator's size, from the latents file of a one-step probe.
"$here/build/bin/sg_project" "$checkpoint" --target "$lmdb" --limit 1 --steps 1 --out "$out/probe" --device cpu >/dev/null
size=$(/usr/bin/python3 -c "import torch; print(torch.load('$out/probe/latents.pt')['size'])")
# The slice, and the slice with a disc of radius size/10 at full intensity.
/usr/bin/python3 - "$lmdb" "$size" "$index" "$out" <<'PY'
import sys, lmdb, numpy as np
from PIL import Image
path, size, index, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
with lmdb.open(path, readonly=True, lock=False).begin() as txn:
    value = txn.get(f"{size}-{index:05d}".encode())
pixels = np.frombuffer(value, np.uint8).reshape(size, size) if len(value) == size * size else \
    np.array(Image.open(__import__("io").BytesIO(value)).convert("L"))
Image.fromarray(pixels).save(f"{out}/clean.png")
y, x = np.mgrid[:size, :size]
cy, cx, r = size * 0.2, size * 0.2, max(2.5, size / 10)  # beside the brain, where no slice has tissue
disc = (y - cy) ** 2 + (x - cx) ** 2 <= r * r
lesion = pixels.copy()
lesion[disc] = 255
Image.fromarray(lesion).save(f"{out}/lesion.png")
np.save(f"{out}/disc.npy", disc)
PY
for name in clean lesion; do
  "$here/build/bin/sg_project" "$checkpoint" --target "$out/$name.png" --steps "$steps" --out "$out/$name" --device cpu \
    "${flags[@]}" \
    | tee "$out/$name.txt"
done
/usr/bin/python3 - "$out" <<'PY'
import sys, numpy as np
from PIL import Image
out = sys.argv[1]
disc = np.load(f"{out}/disc.npy")
def residual(name):
    t = np.asarray(Image.open(f"{out}/{name}/target.png"), float) / 255
    r = np.asarray(Image.open(f"{out}/{name}/reconstruction.png"), float) / 255
    return np.abs(t - r)
clean, lesion = residual("clean"), residual("lesion")
print(f"mean |residual| inside the disc: lesion {lesion[disc].mean():.3f}, clean {clean[disc].mean():.3f}; "
      f"outside it: lesion {lesion[~disc].mean():.3f}, clean {clean[~disc].mean():.3f}")
PY
echo "CPU: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(nproc) cores; pictures: $out/{clean,lesion}/panel.png"
