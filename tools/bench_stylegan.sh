#!/usr/bin/env bash
# Ours against rosinality's style-based-gan-pytorch on this CPU, side by side
# in one run (this VM drifts): for each size, ours (bench_model) and the
# reference's train.py loop body (tools/bench_stylegan_reference.py) in turn,
# ROUNDS times; then each system's times, the speed-up best against best and
# median against median.
# Width 512, RGB, batch 16, WGAN-GP, mixing, alpha 0.5, fp32, all cores.
#   tools/bench_stylegan.sh REFERENCE_CHECKOUT [SIZES...]   (default: 8 16)
# REFERENCE_CHECKOUT: a clone of style-based-gan-pytorch outside this project.
# Environment: ITER (timed iterations per measurement, default 3), ROUNDS
# (default 2), THREADS.
set -euo pipefail
reference=${1:?usage: tools/bench_stylegan.sh REFERENCE_CHECKOUT [SIZES...]}
shift
[ $# -gt 0 ] && sizes=("$@") || sizes=(8 16)
here=$(cd "$(dirname "$0")/.." && pwd)
iter=${ITER:-3} rounds=${ROUNDS:-2} threads=${THREADS:-$(nproc)}
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
printf '%-6s %-34s %-34s %s\n' size "ours, ms/iteration" "reference, ms/iteration" "speed-up: best, median"
for size in "${sizes[@]}"; do
  o=() r=()
  for ((round = 0; round < rounds; ++round)); do
    o+=("$(ours "$size")")
    r+=("$(theirs "$size")")
  done
  awk -v s="$size" -v o="${o[*]}" -v r="${r[*]}" '
    function sorted(text, a,   n, i, j, t) {
      n = split(text, a, " ")
      for (i = 2; i <= n; ++i) for (j = i; j > 1 && a[j - 1] > a[j]; --j) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
      return n
    }
    function median(a, n) { return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    function listed(text,   a, n, i, out) {
      n = split(text, a, " "); out = ""
      for (i = 1; i <= n; ++i) out = out (i > 1 ? ", " : "") sprintf("%.0f", a[i])
      return out
    }
    BEGIN {
      no = sorted(o, os); nr = sorted(r, rs)
      printf "%-6s %-34s %-34s %.2fx, %.2fx\n", s "x" s, listed(o), listed(r), rs[1] / os[1], median(rs, nr) / median(os, no)
    }'
done
