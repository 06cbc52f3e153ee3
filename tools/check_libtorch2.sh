#!/usr/bin/env bash
# Compiles every source that uses LibTorch against LibTorch 2.x headers, here,
# where only Debian 12's LibTorch 1.13 is installed: the code must also build
# against the 2.x of a CUDA machine (Python's torch package), and a GPU session
# is too short to find API breaks there. The headers are Debian trixie's
# libtorch-dev (fetched with `apt-get download` into a cache folder, unpacked,
# never installed: its libraries need trixie's libc). Only the compile is
# checked (-fsyntax-only, with the build's warnings); nothing is linked or run.
#
#   bash tools/check_libtorch2.sh [JOBS]     # default: all cores
#
# SG_LIBTORCH2_DIR (default .cache/libtorch2, git-ignored) keeps the headers;
# SG_BUILD_DIR (default build) supplies the generated protobuf headers.
set -euo pipefail
cd "$(dirname "$0")/.."
root_dir=$PWD
cache=$(realpath -m "${SG_LIBTORCH2_DIR:-.cache/libtorch2}")
build=$(realpath -m "${SG_BUILD_DIR:-build}")
jobs=${1:-$(nproc)}

include="$cache/root/usr/include"
if [ ! -f "$include/torch/csrc/api/include/torch/version.h" ]; then
  mkdir -p "$cache/lists/partial" "$cache/apt-cache/archives/partial" "$cache/debs"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" \
    >"$cache/sources.list"
  apt_options=(-oDir::Etc::SourceList="$cache/sources.list" -oDir::Etc::SourceParts=/dev/null
               -oDir::State::Lists="$cache/lists" -oDir::Cache="$cache/apt-cache"
               -oDebug::NoLocking=1 -oAPT::Sandbox::User="$(id -un)")
  echo "check_libtorch2: fetching trixie's libtorch-dev headers into $cache"
  apt-get "${apt_options[@]}" update -qq
  rm -f "$cache"/debs/*.deb
  (cd "$cache/debs" && apt-get "${apt_options[@]}" download libtorch-dev >/dev/null)
  dpkg-deb -x "$cache"/debs/libtorch-dev_*.deb "$cache/root"
fi

# The protobuf headers generated from configs/*.proto.
if [ ! -d "$build/configs" ] || ! ls "$build"/configs/*.pb.h >/dev/null 2>&1; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" --target sg_proto >/dev/null
fi

flags=(-std=c++17 -Wall -Wextra -Wno-unused-parameter -D_GLIBCXX_USE_CXX11_ABI=1
       -I"$include" -I"$include/torch/csrc/api/include"
       -I"$root_dir" -I"$build/configs" -I"$root_dir/tests"
       -DSG_SOURCE_DIR=\"$root_dir\" -DSG_BIN_DIR=\"$build/bin\")
# The c10d Gloo branch too when Gloo's headers are here (libgloo-dev).
[ -f /usr/include/gloo/config.h ] && flags+=(-DSG_HAVE_GLOO)

version=$(printf '#include <torch/version.h>\nTORCH_VERSION\n' | g++ -E -P "${flags[@]}" -x c++ - | tail -1)
case "$version" in
  \"2.*) ;;
  *) echo "check_libtorch2: the headers in $include are not LibTorch 2.x (got $version)" >&2; exit 1 ;;
esac

mapfile -t sources < <(grep -lE '#include (<torch/|<ATen/|<c10/|"model/)' model/*/*.cpp tools/*.cpp tests/*.cpp | sort)
echo "check_libtorch2: ${#sources[@]} sources against LibTorch $version headers, $jobs at a time"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
export CHECK_FLAGS
CHECK_FLAGS=$(printf '%q ' -fsyntax-only "${flags[@]}")
# One line per source; a failing one prints its first diagnostics.
printf '%s\n' "${sources[@]}" | xargs -P "$jobs" -I{} bash -c '
  if out=$(eval g++ $CHECK_FLAGS "$1" 2>&1) && ! grep -q "warning:" <<<"$out"; then echo "  ok    $1"
  else echo "  FAIL  $1"; grep -E "error|warning" <<<"$out" | head -5 | sed "s/^/        /"; fi' _ {} | tee "$log"
if grep -q "FAIL" "$log"; then
  echo "check_libtorch2: some sources do not compile cleanly against LibTorch $version" >&2
  exit 1
fi
echo "check_libtorch2: all ${#sources[@]} compile cleanly against LibTorch $version"
