#!/usr/bin/env bash
# The main job on the embedded default data: installs what is missing,
# builds, and runs sg_prep on the Colin27 brain from Debian's mricron-data.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/install_deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --parallel "$(nproc)"

out=runs/demo.lmdb
mkdir -p runs
build/bin/sg_prep --config configs/demo.textproto --out "$out" --force
build/bin/sg_inspect "$out" --sheet runs/demo_sheet.png --size 64 --count 64 --columns 8
echo
echo "LMDB: $(pwd)/$out"
echo "contact sheet of its 64x64 records: $(pwd)/runs/demo_sheet.png"
