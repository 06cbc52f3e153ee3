#!/usr/bin/env bash
# On a CUDA machine, in one go: build from the bundle (tools/make_cuda_bundle.sh),
# run the test suite (the CUDA tests run there instead of skipping), then
# time bench_train variants on an LMDB. Logs go to $OUT (or cuda-checks/);
# the end of the output is a summary.
#
#   bash tools/cuda_checks.sh [LMDB] [VARIANTS]
#
# LMDB: every size 8..256 with at least 256 records (default runs/bench.lmdb).
# VARIANTS: bench_train flag sets separated by ';' (default below); "none"
# skips the benchmarks.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-cuda-checks}
mkdir -p "$out"
data=${1:-runs/bench.lmdb}
variants=${2:-"--precision bf16;--precision bf16 --channels-last;--precision bf16 --native-conv;--precision tf32;--precision bf16 --synthetic"}
started=$SECONDS
elapsed() { echo "$((SECONDS - started)) s"; }

{
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version())'
  cmake --version | head -1
  c++ --version | head -1
  echo "protoc: $(command -v protoc || echo none) $(protoc --version 2>/dev/null)"
  echo "cores: $(nproc)"
} 2>&1 | tee "$out/env.txt"

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if ! cmake -S . -B build-cuda "${generator[@]}" -C cuda-bundle/bundle.cmake >"$out/configure.log" 2>&1; then
  tail -40 "$out/configure.log"
  exit 1
fi
echo "configured after $(elapsed)"
if ! cmake --build build-cuda -j "$(nproc)" >"$out/build.log" 2>&1; then
  grep -m 5 -A 12 "error" "$out/build.log"
  tail -5 "$out/build.log"
  exit 1
fi
echo "built after $(elapsed)"

build-cuda/bin/test_model --gtest_filter='CudaStep.*:Losses.Bf16*:TrainStep.*' 2>&1 | tee "$out/cuda_tests.log" |
  grep -E "^\[  |worst|penalty fp32|Failure|Expected|Which is|actual" | head -40
(cd build-cuda && ctest -j 4 --output-on-failure --timeout 300) >"$out/ctest.log" 2>&1
echo "ctest: $(grep -E 'tests passed|tests failed' "$out/ctest.log") after $(elapsed)"
grep -E "\*\*\*Failed|Not Run|Timeout" "$out/ctest.log" | head -10

[ "$variants" = none ] && exit 0
IFS=';' read -ra sets <<<"$variants"
i=0
for flags in "${sets[@]}"; do
  i=$((i + 1))
  # shellcheck disable=SC2086
  build-cuda/bin/bench_train "$data" $flags --seconds "${SG_BENCH_SECONDS:-2}" >"$out/bench_$i.txt" 2>&1
  echo "== bench_train $flags (after $(elapsed))"
  cat "$out/bench_$i.txt"
done
