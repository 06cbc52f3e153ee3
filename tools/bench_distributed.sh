#!/usr/bin/env bash
# bench_distributed: one machine's cores as threads of one process or as
# processes of a c10d world, side by side in one run (this VM drifts): the
# same global batch and sizes through bench_train, once as 1 process x N
# threads, once as N processes x 1 thread (--world N: each iteration split
# into compute and the gradients' all-reduce, with the MB reduced), then the
# bytes a full-width (512) model all-reduces per iteration. Not a test:
# about five minutes on 2 cores.
#   tools/bench_distributed.sh [N] [WIDTH] [BATCH]    (default: all cores, 128, 16)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-$(nproc)}
width=${2:-128}
batch=${3:-16}
bin=build/bin
[ -d runs/demo.lmdb ] || "$bin/sg_prep" --config configs/demo.textproto --out runs/demo.lmdb --force >/dev/null
common=(runs/demo.lmdb --sizes 8 16 32 64 --channels "$width" --batch "$batch" --seconds 8 --iterations 5 --device cpu)

echo "== 1 process x $n threads"
"$bin/bench_train" "${common[@]}" --threads "$n" | tail -n +2
echo "== $n processes x 1 thread"
"$bin/bench_train" "${common[@]}" --world "$n" --threads 1 | tail -n +2
echo "== bytes all-reduced per iteration at width 512 ($n processes, one iteration each)"
"$bin/bench_train" runs/demo.lmdb --sizes 8 64 256 --channels 512 --batch "$n" --warmup 0 --seconds 0 --iterations 1 \
  --device cpu --world "$n" --threads 1 | tail -n +4 | awk '{print $1 "x" $1 ": " $NF " MB"}'
