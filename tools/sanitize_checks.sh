#!/usr/bin/env bash
# The sanitizer round of the test suite (tools/run_tests.sh runs it after
# CTest): the tests of the libraries that do not use LibTorch — stages,
# datasets, pipeline, the sg_prep graph — built with clang under
# AddressSanitizer + UBSan (+ LeakSanitizer) in build-fuzz/, then every fuzz
# target replaying its regression inputs and fuzzing its seed corpus for
# FUZZ_SECONDS (default 10) each.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
tests=(test_stages test_inputs test_prep_graph test_config_rules test_batch_stream test_event_writer test_files)

bash tools/install_deps.sh
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSG_FUZZ=ON -DSG_SANITIZE=ON \
  -DSG_BUILD_TESTS=ON >/dev/null
cmake --build build-fuzz --parallel "$(nproc)" --target "${tests[@]}"

export ASAN_OPTIONS=detect_odr_violation=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$root/tests/fuzz/lsan.supp:print_suppressions=0
for t in "${tests[@]}"; do
  echo "== $t (ASan + UBSan)"
  build-fuzz/bin/"$t" --gtest_brief=1
done

bash tools/fuzz.sh "${FUZZ_SECONDS:-10}"
