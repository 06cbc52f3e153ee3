#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds (Release), and runs
# every GoogleTest suite through CTest.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/install_deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --parallel "$(nproc)"
cd build
ctest --output-on-failure --parallel "$(nproc)"
