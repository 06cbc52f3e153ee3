#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds (Release), runs
# every GoogleTest suite through CTest, then the sanitizer round
# (tools/sanitize_checks.sh: the non-LibTorch suites under ASan + UBSan, and
# every fuzz target over its regression inputs and, briefly, its corpus).
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/install_deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --parallel "$(nproc)"
(cd build && ctest --output-on-failure --parallel "$(nproc)")
bash tools/sanitize_checks.sh
