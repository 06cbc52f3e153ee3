#!/usr/bin/env bash
# How well StyleGAN2 learns, ours against rosinality's stylegan2-pytorch,
# side by side at one small setup (issue #27): the demo LMDB, 32x32, widths
# capped at 64, batch 16, 1,000 iterations, train.py's defaults (logistic
# loss, lazy R1 10/16, path length 2/4, mixing 0.9, lr 0.002), one thread per
# run, for each seed. Both EMA generators are scored by our sg_eval (SWD x1e3
# at 32x32, 1,000 samples, evaluation seeds 1, 2, 3 averaged); the summary
# gives each system's mean and seed spread and whether ours is within the
# reference's mean + its standard deviation.
#   tools/bench_stylegan2_learning.sh REFERENCE_CHECKOUT [SEEDS...]   (default: 1 2 3)
# REFERENCE_CHECKOUT: stylegan2-pytorch's model.py and op/ (a clone kept
# outside this project). Environment: LMDB (default runs/demo.lmdb), ITER
# (1000), JOBS (runs at a time, default: the cores), WORK (a scratch folder:
# a run whose checkpoint is already there is not trained again, so an
# interrupted benchmark goes on), OURS_FLAGS (more sg_train flags, e.g.
# "--ema reference" for train.py's fixed EMA decay instead of the ramp-up).
# About 10 min per seed for ours and 30 for the reference on one core here.
set -euo pipefail
reference=${1:?usage: tools/bench_stylegan2_learning.sh REFERENCE_CHECKOUT [SEEDS...]}
reference=$(cd "$reference" && pwd)
shift
[ $# -gt 0 ] && seeds=("$@") || seeds=(1 2 3)
here=$(cd "$(dirname "$0")/.." && pwd)
export lmdb=${LMDB:-$here/runs/demo.lmdb} iter=${ITER:-1000} here reference OURS_FLAGS
export work=${WORK:-$(mktemp -d /tmp/sg2-learning.XXXXXX)}
[ -d "$lmdb" ] || { echo "no LMDB at $lmdb (run tools/run_demo.sh, or set LMDB)" >&2; exit 1; }
mkdir -p "$work"

train() {  # train ours|reference SEED -> $work/KIND-SEED.ckpt
  local kind=$1 seed=$2
  if [ -s "$work/$kind-$seed.ckpt" ]; then
    echo "kept $kind seed $seed ($work/$kind-$seed.ckpt)"
    return
  fi
  if [ "$kind" = ours ]; then
    rm -rf "$work/ours-$seed"
    "$here/build/bin/sg_train" "$lmdb" --arch stylegan2 --size 32 --channels 64 --batch 16 --mixing \
      --max_iter "$iter" --seed "$seed" --threads 1 --device cpu --quiet --sample-every 0 --checkpoint-every 0 \
      ${OURS_FLAGS:-} --out "$work/ours-$seed" >"$work/ours-$seed.log" 2>&1
    cp "$work/ours-$seed/checkpoints/latest.ckpt" "$work/ours-$seed.ckpt"
  else
    MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=2147483647 /usr/bin/python3 \
      "$here/tools/bench_stylegan2_learning_reference.py" "$reference" "$lmdb" "$work/reference-$seed.pt" \
      --size 32 --channels 64 --batch 16 --iter "$iter" --seed "$seed" --threads 1 >"$work/reference-$seed.log" 2>&1
    mv "$work/reference-$seed.pt" "$work/reference-$seed.ckpt"
  fi
  echo "trained $kind seed $seed ($(date +%H:%M))"
}
export -f train

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo "StyleGAN2 learning, ours vs stylegan2-pytorch: $lmdb, 32x32, --channels 64, batch 16, $iter iterations, 1 thread per run, $cpu"
[ -n "${OURS_FLAGS:-}" ] && echo "ours with $OURS_FLAGS"
# The reference's runs first: they are the long ones.
jobs=()
for s in "${seeds[@]}"; do jobs+=(reference "$s"); done
for s in "${seeds[@]}"; do jobs+=(ours "$s"); done
printf '%s %s\n' "${jobs[@]}" | xargs -P "${JOBS:-$(nproc)}" -L 1 bash -c 'train "$0" "$1"'

# shellcheck source=stylegan2_bench_swd.sh
source "$here/tools/stylegan2_bench_swd.sh"

printf '%-6s %10s %10s\n' seed ours reference
ours=() theirs=()
for s in "${seeds[@]}"; do
  o=$(swd "$work/ours-$s.ckpt") r=$(swd "$work/reference-$s.ckpt")
  ours+=("$o") theirs+=("$r")
  printf '%-6s %10s %10s\n' "$s" "$o" "$r"
done
awk -v o="${ours[*]}" -v r="${theirs[*]}" 'function stats(text, v,   n, i, m, s) {
    n = split(text, v, " "); m = 0; for (i = 1; i <= n; ++i) m += v[i]; m /= n
    s = 0; for (i = 1; i <= n; ++i) s += (v[i] - m) ^ 2; s = n > 1 ? sqrt(s / (n - 1)) : 0
    mean = m; sd = s }
  BEGIN {
    stats(o); om = mean; os = sd; stats(r); rm = mean; rs = sd
    printf "mean   %5.1f +- %4.1f %5.1f +- %4.1f   (SWD x1e3, lower is better; +- the seeds'"'"' standard deviation)\n", om, os, rm, rs
    printf "ours %s the reference'"'"'s mean + its spread (%.1f)\n", om <= rm + rs ? "within" : "ABOVE", rm + rs }'
echo "checkpoints and logs: $work"
