#!/usr/bin/env bash
# Which random stream carries the learning gap to stylegan2-pytorch (issue
# #27; docs/stylegan2.md)? The training step is the reference's computation
# (bench_stylegan2_lockstep.sh, float64), so two full runs differ only in
# their draws: initial weights, data order and flips, mixing coins, and the
# torch stream of latents, noise and projections. Per seed, our step
# (bench_stylegan2_lockstep) trains at bench_stylegan2_learning.sh's setup
# on the reference run's own batches (tools/stylegan2_reference_streams.py):
#   "reference init"  from the reference run's initial weights,
#   "our init"        from ours, as sg_train --seed draws them,
#   "our stream"      from ours on sg_train's own batch stream (lmdb:), the control;
# mixing 0.9 by our coin, the torch stream seeded afresh. Each EMA generator
# is scored as bench_stylegan2_learning.sh scores them (sg_eval SWD x1e3 at
# 32x32, 1,000 samples, evaluation seeds 1-3 averaged); compare with its
# table (ours on our streams, the reference on its own).
#   tools/bench_stylegan2_streams.sh REFERENCE_CHECKOUT [SEEDS...]   (default: 1 2 3)
# Environment: LMDB (default runs/demo.lmdb), ITER (1000), JOBS (runs at a
# time, default: the cores), WORK (a scratch folder). About 9 min per run on
# one core here, three runs per seed.
set -euo pipefail
reference=${1:?usage: tools/bench_stylegan2_streams.sh REFERENCE_CHECKOUT [SEEDS...]}
reference=$(cd "$reference" && pwd)
shift
[ $# -gt 0 ] && seeds=("$@") || seeds=(1 2 3)
here=$(cd "$(dirname "$0")/.." && pwd)
export lmdb=${LMDB:-$here/runs/demo.lmdb} iter=${ITER:-1000} here reference
export work=${WORK:-$(mktemp -d /tmp/sg2-streams.XXXXXX)}
[ -d "$lmdb" ] || { echo "no LMDB at $lmdb (run tools/run_demo.sh, or set LMDB)" >&2; exit 1; }
mkdir -p "$work"

for s in "${seeds[@]}"; do
  /usr/bin/python3 "$here/tools/stylegan2_reference_streams.py" "$reference" "$lmdb" "$work" --seed "$s" \
    --iterations "$iter" 2>>"$work/streams.log"
done

train() {  # train reference-init|our-init|our-stream SEED -> $work/KIND-SEED.ckpt
  local kind=$1 seed=$2 own=() batches="$work/batches-$2.pt"
  [ "$kind" != reference-init ] && own=(--own-init)
  [ "$kind" = our-stream ] && batches="lmdb:$lmdb"
  "$here/build/bin/bench_stylegan2_lockstep" "$work/init-$seed.pt" "$batches" --iterations "$iter" \
    --mixing 0.9 --seed "$seed" --threads 1 "${own[@]}" --save "$work/$kind-$seed.ckpt" >"$work/$kind-$seed.txt"
  echo "trained $kind seed $seed ($(date +%H:%M))"
}
export -f train
jobs=()
for s in "${seeds[@]}"; do jobs+=(reference-init "$s" our-init "$s" our-stream "$s"); done
printf '%s %s\n' "${jobs[@]}" | xargs -P "${JOBS:-$(nproc)}" -L 1 bash -c 'train "$0" "$1"'

# shellcheck source=stylegan2_bench_swd.sh
source "$here/tools/stylegan2_bench_swd.sh"

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo "Our StyleGAN2 step on stylegan2-pytorch's batch streams: $lmdb, 32x32, width 64, batch 16, $iter iterations, $cpu"
printf '%-6s %16s %10s %12s\n' seed "reference init" "our init" "our stream"
for s in "${seeds[@]}"; do
  printf '%-6s %16s %10s %12s\n' "$s" "$(swd "$work/reference-init-$s.ckpt")" "$(swd "$work/our-init-$s.ckpt")" \
    "$(swd "$work/our-stream-$s.ckpt")"
done
echo "checkpoints and logs: $work"
