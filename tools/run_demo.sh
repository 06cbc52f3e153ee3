#!/usr/bin/env bash
# The main job on the embedded default data (the Colin27 brain from Debian's
# mricron-data): installs what is missing, builds, then
#   sg_prep  -> runs/demo.lmdb (every size 8..256)
#   sg_train -> a small StyleGAN grown 8x8 -> 32x32 (about five minutes on 2 cores)
#   sg_test  -> sample and style-mixing grids
#   sg_eval  -> SWD against the data, memorisation check, closest pairs
# and prints where the pictures are.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/install_deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --parallel "$(nproc)"

mkdir -p runs
build/bin/sg_prep --config configs/demo.textproto --out runs/demo.lmdb --force
build/bin/sg_inspect runs/demo.lmdb --sheet runs/demo_sheet.png --size 64 --count 64 --columns 8

rm -rf runs/demo-train
# Non-saturating loss with a light R1 (gamma 0.1: StyleGAN2-ADA's rule of thumb,
# 0.0002 x 32^2 / 16, is 0.013; the reference's 10 is meant for 1024x1024) at
# lr 0.002 shows recognisable slices within the demo's few minutes; WGAN-GP at
# 0.001 still draws ring-shaped blobs after as many iterations.
build/bin/sg_train runs/demo.lmdb --out runs/demo-train --mixing --channels 32 --max_size 32 \
  --phase 6000 --batch 16 --loss r1 --r1_gamma 0.1 --lr 0.002 --sample-every 25 --checkpoint-every 500 --seed 1
build/bin/sg_test runs/demo-train/checkpoints/latest.ckpt --size 32 --out runs/demo-test \
  --n_row 4 --n_col 8 --seed 1 --interpolate 6
build/bin/sg_eval runs/demo-train/checkpoints/latest.ckpt runs/demo.lmdb --size 32 --n 2000 \
  --json runs/demo-eval.json --pairs runs/demo-eval-pairs.png --quiet

here=$(pwd)
# The report's top-level "swd" and the baseline's, without a JSON tool.
swd=$(sed -n 's/^  "swd": \([0-9.]*\),$/\1/p' runs/demo-eval.json)
baseline=$(grep -o '"images_per_half": [0-9]*, "swd": [0-9.]*' runs/demo-eval.json | sed 's/.*"swd": //')
cat <<MSG

Pictures to open:
  training data (64x64 records):   $here/runs/demo_sheet.png
  samples (EMA generator, 32x32):  $here/runs/demo-test/sample.png
  style mixing (coarse from top):  $here/runs/demo-test/sample_mixing.png
  walk in W space:                 $here/runs/demo-test/interpolation.gif
  training, sample grids as GIF:   $here/runs/demo-train/training.gif
  losses, penalty (labelled):      $here/runs/demo-train/loss.png
  closest generated/training pairs: $here/runs/demo-eval-pairs.png (report: runs/demo-eval.json)

SWD x1e3 at 32x32 (sg_eval; lower is closer): samples vs the training slices $swd,
one half of the real slices vs the other $baseline (what a perfect generator would come near).
MSG
