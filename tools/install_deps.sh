#!/usr/bin/env bash
# Installs the Debian 12 packages the project builds, tests and demos with.
# Idempotent: packages already present are skipped quickly by apt.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libtorch-dev libopenblas0-pthread libgloo-dev
  libinsighttoolkit5-dev
  libtbb-dev liblmdb-dev libzip-dev
  libprotobuf-dev protobuf-compiler
  libgtest-dev libgmock-dev libcli11-dev
  libpng-dev libjpeg-dev libgif-dev zlib1g-dev libcairo2-dev fonts-dejavu-core
  mricron-data insighttoolkit5-examples
  python3-torch python3-numpy python3-pil python3-lmdb python3-scipy
  clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  echo "installing: ${missing[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
