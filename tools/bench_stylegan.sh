#!/usr/bin/env bash
# Ours against rosinality's style-based-gan-pytorch on this CPU, side by side
# in one run (this VM drifts): for each size, ours (bench_model), the
# reference's train.py loop body (tools/bench_stylegan_reference.py), ours
# again and the reference again; then each system's best and the speed-up.
# Width 512, RGB, batch 16, WGAN-GP, mixing, alpha 0.5, fp32, all cores.
#   tools/bench_stylegan.sh REFERENCE_CHECKOUT [SIZES...]   (default: 8 16)
# REFERENCE_CHECKOUT: a clone of style-based-gan-pytorch outside this project.
# Environment: ITER (timed iterations per measurement, default 3), THREADS.
set -euo pipefail
reference=${1:?usage: tools/bench_stylegan.sh REFERENCE_CHECKOUT [SIZES...]}
shift
[ $# -gt 0 ] && sizes=("$@") || sizes=(8 16)
here=$(cd "$(dirname "$0")/.." && pwd)
iter=${ITER:-3} threads=${THREADS:-$(nproc)}
echo "StyleGAN training iteration, ours vs style-based-gan-pytorch: width 512, RGB, batch 16, WGAN-GP, mixing," \
  "alpha 0.5, fp32, $threads threads; $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
ours() {
  "$here/build/bin/bench_model" --channels 512 --batch 16 --image_channels 3 --min_size "$1" --max_size "$1" \
    --iterations "$iter" --threads "$threads" --device cpu | awk 'END { print $3 }'
}
theirs() {
  /usr/bin/python3 "$here/tools/bench_stylegan_reference.py" "$reference" --size "$1" --batch 16 \
    --iterations "$iter" --threads "$threads" 2>/dev/null | sed -n 's/.*: \([0-9.]*\) ms\/iteration/\1/p'
}
printf '%-6s %-28s %-28s %s\n' size "ours, ms/iteration" "reference, ms/iteration" "speed-up (best vs best)"
for size in "${sizes[@]}"; do
  o1=$(ours "$size") r1=$(theirs "$size") o2=$(ours "$size") r2=$(theirs "$size")
  awk -v s="$size" -v o1="$o1" -v o2="$o2" -v r1="$r1" -v r2="$r2" 'BEGIN {
    o = o1 < o2 ? o1 : o2; r = r1 < r2 ? r1 : r2
    printf "%-6s %-28s %-28s %.2fx\n", s "x" s, sprintf("%.0f, %.0f", o1, o2), sprintf("%.0f, %.0f", r1, r2), r / o }'
done
