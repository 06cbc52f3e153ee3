#!/usr/bin/env bash
# The main job on the embedded default data (the Colin27 brain from Debian's
# mricron-data): installs what is missing, builds, then
#   sg_prep  -> runs/demo.lmdb (every size 8..256)
#   sg_train -> a small StyleGAN2 at 32x32 (about six to eight minutes on 2 cores)
#   sg_test  -> sample and style-mixing grids, a walk in W space
#   sg_eval  -> SWD, precision/recall, coverage, border brightness, memorisation check
# and prints where the pictures are and the samples' scores against the
# demo's targets.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/install_deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --parallel "$(nproc)"

mkdir -p runs
build/bin/sg_prep --config configs/demo.textproto --out runs/demo.lmdb --force
build/bin/sg_inspect runs/demo.lmdb --sheet runs/demo_sheet.png --size 64 --count 64 --columns 8

rm -rf runs/demo-train
# StyleGAN2 (the reference's train.py settings: logistic loss, lazy R1 10/16,
# path length 2/4, mixing 0.9, lr 0.002) at one size, 32x32: a generator of
# width 24 with a two-layer mapping network (StyleGAN2-ADA's small-data
# choice) against a discriminator of width 48. At width 24 the critic is
# too weak rather than overfitting (ADA's signal stays under its target);
# the wider one costs 1.3x per iteration and, over three seeds, raises
# recall from 0.47-0.53 to 0.54-0.59 at 3,000 iterations (docs/demo.md).
# Longer runs draw the lower levels better but no longer fit ten minutes.
# The report below names the slices still missed. Progressive StyleGAN at a
# similar budget collapsed to one oval with frame artifacts (issue #27).
build/bin/sg_train runs/demo.lmdb --out runs/demo-train --arch stylegan2 --size 32 --channels 24 --d_channels 48 \
  --n_mlp 2 --batch 16 --mixing --max_iter 3000 --sample-every 100 --checkpoint-every 500 --seed 1
build/bin/sg_test runs/demo-train/checkpoints/latest.ckpt --size 32 --out runs/demo-test \
  --n_row 4 --n_col 8 --seed 1 --truncation 1 --interpolate 6
build/bin/sg_eval runs/demo-train/checkpoints/latest.ckpt runs/demo.lmdb --size 32 --n 1000 \
  --json runs/demo-eval.json --pairs runs/demo-eval-pairs.png --quiet

here=$(pwd)
# The report against the demo's targets (issue #27), read with Python's json.
checks=$(/usr/bin/python3 - runs/demo-eval.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
layout = next(level for level in r["precision_recall"]["levels"] if level["resolution"] == 8)
border = r["border_brightness"]
border_limit = 2 * max(border["real"], 2.55)  # 2x the real ring's, at least 1% of full scale
# Each row: what, value, digits shown (recall near its target needs three), target, met, context.
rows = [
    ("SWD x1e3 at 32x32, samples vs training slices", r["swd"], 2, "<= 45", r["swd"] <= 45,
     "one half of the real slices vs the other: %.1f" % r["baseline"]["swd"]),
    ("recall (k-NN, k 3, 8x8 layout)", layout["recall"], 3, ">= 0.5", layout["recall"] >= 0.5,
     "precision %.2f; real half vs half %.2f / %.2f" % (layout["precision"], layout["baseline"]["precision"],
                                                        layout["baseline"]["recall"])),
    # No target: how many slices have a sample within their own neighbourhood
    # (Naeem et al. 2020), which blurred samples cannot raise as they raise recall.
    ("coverage (k-NN, k 5, 8x8 layout)", layout["coverage"], 3, None, None,
     "density %.2f; real half vs half %.2f / %.2f" % (layout["density"], layout["baseline"]["density"],
                                                     layout["baseline"]["coverage"])),
    ("border brightness, outer pixel ring (0..255)", border["generated"], 2, "<= %.1f" % border_limit,
     border["generated"] <= border_limit, "real slices: %.2f" % border["real"]),
]
for name, value, digits, target, met, context in rows:
    verdict = "target %-7s %-6s" % (target, "met" if met else "MISSED") if target else "%-20s" % "(shown, no target)"
    print("  %-47s %7.*f  %s (%s)" % (name, digits, value, verdict, context))
# Which slices recall misses: the records run from the lowest slice (0) to the crown.
missed = layout["uncovered_real_records"]
if missed:
    runs = ", ".join(str(a) if a == b else "%d-%d" % (a, b) for a, b in missed)
    count = sum(b - a + 1 for a, b in missed)
    print("  slices no sample reaches at 8x8: %d of %d, records %s (0 = the lowest slice, %d = the crown)"
          % (count, layout["images"], runs, r["images_compared"] - 1))
PY
)
cat <<MSG

Pictures to open:
  training data (64x64 records):   $here/runs/demo_sheet.png
  samples (EMA generator, 32x32):  $here/runs/demo-test/sample.png
  style mixing (coarse from top):  $here/runs/demo-test/sample_mixing.png
  walk in W space:                 $here/runs/demo-test/interpolation.gif
  training, sample grids as GIF:   $here/runs/demo-train/training.gif
  losses, penalty (labelled):      $here/runs/demo-train/loss.png
  closest generated/training pairs: $here/runs/demo-eval-pairs.png (report: runs/demo-eval.json)

What the samples score (sg_eval; runs/demo-eval.json):
$checks
MSG
