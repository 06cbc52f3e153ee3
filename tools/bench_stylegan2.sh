#!/usr/bin/env bash
# Ours against rosinality's stylegan2-pytorch on this CPU, side by side (this
# VM's speed drifts: each size runs ours, the reference as it runs, the
# reference with our allocator settings — glibc keeps freed memory instead of
# returning it to the kernel, which our programs set for themselves — then
# ours again).
#   tools/bench_stylegan2.sh REFERENCE_CHECKOUT [SIZES...]   (default: 32 64)
# REFERENCE_CHECKOUT: a clone of stylegan2-pytorch outside this project.
set -euo pipefail
reference=${1:?usage: tools/bench_stylegan2.sh REFERENCE_CHECKOUT [SIZES...]}
shift
[ $# -gt 0 ] && sizes=("$@") || sizes=(32 64)
here=$(cd "$(dirname "$0")/.." && pwd)
for size in "${sizes[@]}"; do
  "$here/build/bin/bench_model" --arch stylegan2 --channels 512 --batch 16 --max_size "$size" --min_size "$size" --iterations 1 | tail -1
  /usr/bin/python3 "$here/tools/bench_stylegan2_reference.py" "$reference" --size "$size" --batch 16 2>/dev/null | tail -1
  echo "with MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=2147483647:"
  MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=2147483647 \
    /usr/bin/python3 "$here/tools/bench_stylegan2_reference.py" "$reference" --size "$size" --batch 16 2>/dev/null | tail -1
  "$here/build/bin/bench_model" --arch stylegan2 --channels 512 --batch 16 --max_size "$size" --min_size "$size" --iterations 1 | tail -1
done
