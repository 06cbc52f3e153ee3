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
# skips the benchmarks. CXX picks the compiler.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-cuda-checks}
mkdir -p "$out"
data=${1:-runs/bench.lmdb}
variants=${2:-"--precision bf16;--precision bf16 --channels-last;--precision bf16 --own-conv-from 0;--precision bf16 --native-conv;--precision tf32;--precision bf16 --sizes 8 16 --op-profile 25"}
started=$SECONDS
elapsed() { echo "$((SECONDS - started)) s"; }

{
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version())'
  cmake --version | head -1
  echo "compiler: ${CXX:-c++} ($(${CXX:-c++} --version | head -1))"
  echo "protoc: $(command -v protoc || echo none) $(protoc --version 2>/dev/null)"
  echo "cores: $(nproc)"
  echo "protobuf symbols exported by LibTorch: $(nm -D --defined-only "$(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))')/lib/libtorch_cpu.so" 2>/dev/null | grep -c google8protobuf)"
} 2>&1 | tee "$out/env.txt"

# The bundle's cache entries are read at a first configure only.
rm -rf build-cuda/CMakeCache.txt build-cuda/CMakeFiles
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
  grep -E "^\[  |worst|penalty fp32|Failure|actual:" | head -40
# A crash gets a backtrace (cuda-gdb debugs host code too).
if ! timeout 120 build-cuda/bin/test_trainer --gtest_filter='Trainer.ClearErrors:Throughput.*' >"$out/trainer_tests.log" 2>&1; then
  tail -15 "$out/trainer_tests.log"
  # Which library serves std::filesystem (Python's torch exports a copy).
  grep -E "^CMAKE_EXE_LINKER_FLAGS:|^CMAKE_CXX_COMPILER:" build-cuda/CMakeCache.txt
  readelf -d build-cuda/bin/test_trainer | grep -E "NEEDED|RUNPATH|RPATH" | head -12
  LD_DEBUG=bindings timeout 60 build-cuda/bin/test_trainer --gtest_filter='Trainer.ClearErrors' 2>&1 |
    grep -m 3 "remove_all"
  command -v cuda-gdb >/dev/null &&
    timeout 120 cuda-gdb -batch -ex run -ex bt --args build-cuda/bin/test_trainer --gtest_filter='Trainer.ClearErrors' 2>&1 |
    grep -E "^#|signal" | head -30
else
  echo "trainer tests: $(grep -E 'PASSED|FAILED' "$out/trainer_tests.log" | head -2 | tr '\n' ' ')"
fi

# The whole program once, end to end on the GPU: grow 8x8 -> 64x64, then grids.
if [ -x build-cuda/bin/sg_train ]; then
  rm -rf cuda-run
  if timeout 240 build-cuda/bin/sg_train "$data" --out cuda-run --sched --mixing --phase 2048 --max-size 64 \
       --quiet >"$out/sg_train.log" 2>&1; then
    echo "sg_train: $(tail -1 "$out/sg_train.log") (after $(elapsed))"
    timeout 120 build-cuda/bin/sg_test cuda-run/checkpoints/latest.ckpt --size 64 --out cuda-run/grids >"$out/sg_test.log" 2>&1
    echo "sg_test rc $?: $(ls cuda-run/grids | tr '\n' ' ')"
  else
    echo "sg_train failed:"; tail -8 "$out/sg_train.log"
  fi
fi

[ "$variants" = none ] && exit 0
IFS=';' read -ra sets <<<"$variants"
i=0
for flags in "${sets[@]}"; do
  i=$((i + 1))
  # shellcheck disable=SC2086
  timeout 150 build-cuda/bin/bench_train "$data" $flags --seconds "${SG_BENCH_SECONDS:-2}" >"$out/bench_$i.txt" 2>&1
  echo "== bench_train $flags (after $(elapsed))"
  cat "$out/bench_$i.txt"
done

# One test program at a time: each uses every core, and programs side by
# side oversubscribe OpenMP's spinning workers many times over.
if [ "${SG_FULL_SUITE:-1}" = 1 ]; then
  (cd build-cuda && timeout "${SG_SUITE_TIMEOUT:-300}" ctest -j 1 --output-on-failure --timeout 120) >"$out/ctest.log" 2>&1
  echo "ctest: $(grep -E 'tests passed|tests failed' "$out/ctest.log") after $(elapsed)"
  grep -E "\*\*\*Failed|\*\*\*Exception|Not Run|Timeout" "$out/ctest.log" | head -10
fi
