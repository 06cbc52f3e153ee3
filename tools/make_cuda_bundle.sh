#!/usr/bin/env bash
# Makes the dependency bundle for building on a CUDA machine that has no
# package registry: LibTorch (with CUDA, inside Python's torch package),
# CMake, a compiler, protobuf, libpng and libjpeg are there; LMDB, oneTBB,
# CLI11, giflib and GoogleTest are not. Debian's protobuf comes along too and
# is used where the machine has no protoc of its own. Run here (Debian 12, network to its
# mirrors): the Debian packages are fetched with `apt-get download` (no
# root needed), unpacked into one folder with a CMake initial cache, and
# checked to stay under 64 MiB.
#
#   bash tools/make_cuda_bundle.sh [DIR]      # default: cuda-bundle (git-ignored)
#
# On the CUDA machine, from the source tree holding DIR:
#   cmake -S . -B build -C cuda-bundle/bundle.cmake && cmake --build build -j
# (sg_prep, which needs ITK and libzip, is left out there: SG_WITH_PREP=OFF.)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-cuda-bundle}

packages=(
  liblmdb0 liblmdb-dev
  libtbb12 libtbbmalloc2 libtbbbind-2-5 libtbb-dev
  libcli11-dev
  libgif7 libgif-dev
  libgtest-dev libgmock-dev
  libprotobuf32 libprotobuf-lite32 libprotobuf-dev libprotoc32 protobuf-compiler
)

rm -rf "$out"
mkdir -p "$out/debs" "$out/root"
if ! (cd "$out/debs" && apt-get download "${packages[@]}" >/dev/null 2>&1); then
  # A fresh machine has no package lists yet.
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  (cd "$out/debs" && apt-get download "${packages[@]}" >/dev/null)
fi
for deb in "$out"/debs/*.deb; do dpkg-deb -x "$deb" "$out/root"; done
rm -rf "$out/debs" "$out/root/usr/share/doc" "$out/root/usr/share/man" "$out/root/usr/share/lintian"
# libprotobuf is linked statically (see bundle.cmake); the rest only weighs.
rm -f "$out"/root/usr/lib/x86_64-linux-gnu/libprotobuf-lite.a "$out"/root/usr/lib/x86_64-linux-gnu/libprotoc.a
# Protobuf's headers in a folder of their own: passed with -I, it comes
# before the -isystem folders, which is where LibTorch from Python's torch
# package keeps an old copy of them (a folder given both ways counts as
# -isystem, so the bundle's shared include folder would not do).
mkdir -p "$out/protobuf/include"
mv "$out/root/usr/include/google" "$out/protobuf/include/"
# Debian's protoc finds its libraries in /usr/lib; from the bundle it needs a path.
cat > "$out/protoc" <<'SH'
#!/bin/sh
here=$(cd "$(dirname "$0")" && pwd)
LD_LIBRARY_PATH="$here/root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "$here/root/usr/bin/protoc" "$@"
SH
chmod +x "$out/protoc"

cat > "$out/bundle.cmake" <<'CMAKE'
# Initial cache for building stylegan-cpp with this bundle: cmake -C bundle.cmake
get_filename_component(_sg_bundle "${CMAKE_CURRENT_LIST_DIR}/root/usr" ABSOLUTE)
set(_sg_lib "${_sg_bundle}/lib/x86_64-linux-gnu")
set(_sg_prefixes "${_sg_bundle}")
# LibTorch from Python's torch package, when there is one.
execute_process(COMMAND python3 -c "import torch; print(torch.utils.cmake_prefix_path)"
                OUTPUT_VARIABLE _sg_torch OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(_sg_torch)
  list(APPEND _sg_prefixes "${_sg_torch}")
endif()
set(CMAKE_PREFIX_PATH "${_sg_prefixes}" CACHE STRING "bundle and LibTorch")
set(TBB_DIR "${_sg_lib}/cmake/TBB" CACHE PATH "")
set(GTest_DIR "${_sg_lib}/cmake/GTest" CACHE PATH "")
set(CLI11_DIR "${_sg_bundle}/share/cmake/CLI11" CACHE PATH "")
set(GIF_INCLUDE_DIR "${_sg_bundle}/include" CACHE PATH "")
set(GIF_LIBRARY "${_sg_lib}/libgif.so" CACHE FILEPATH "")
set(LMDB_INCLUDE_DIR "${_sg_bundle}/include" CACHE PATH "")
set(LMDB_LIBRARY "${_sg_lib}/liblmdb.so" CACHE FILEPATH "")
# The bundle's protobuf where the machine has no protoc, or where LibTorch
# comes from Python's torch package: that one carries old protobuf headers
# in its include folder, ahead of /usr/include, so the machine's own
# headers there cannot be reached first (-DSG_BUNDLE_PROTOBUF=ON forces it).
execute_process(COMMAND sh -c "command -v protoc" OUTPUT_VARIABLE _sg_protoc OUTPUT_STRIP_TRAILING_WHITESPACE
                RESULT_VARIABLE _sg_no_protoc)
if(SG_BUNDLE_PROTOBUF OR _sg_no_protoc OR (_sg_torch AND EXISTS "${_sg_torch}/../../include/google/protobuf"))
  set(Protobuf_PROTOC_EXECUTABLE "${CMAKE_CURRENT_LIST_DIR}/protoc" CACHE FILEPATH "")
  set(Protobuf_INCLUDE_DIR "${CMAKE_CURRENT_LIST_DIR}/protobuf/include" CACHE PATH "")
  # Statically: Python's torch exports a protobuf of its own from
  # libtorch_cpu.so, whose symbols would otherwise serve our calls to the
  # shared library's (different version: a crash when a message is parsed).
  set(Protobuf_LIBRARY "${_sg_lib}/libprotobuf.a" CACHE FILEPATH "")
  set(Protobuf_LIBRARY_RELEASE "${_sg_lib}/libprotobuf.a" CACHE FILEPATH "")
  set(Protobuf_PROTOC_LIBRARY "${_sg_lib}/libprotoc.so.32" CACHE FILEPATH "")
  set(Protobuf_LITE_LIBRARY "${_sg_lib}/libprotobuf-lite.so" CACHE FILEPATH "")
endif()
# Python's torch exports copies of libstdc++'s std::filesystem functions
# from libtorch.so, built for an older libstdc++ (remove_all there jumps to
# address 0). With libstdc++ ahead of LibTorch among a program's libraries,
# the dynamic linker finds the real ones first.
set(CMAKE_EXE_LINKER_FLAGS "-Wl,--push-state,--no-as-needed,-lstdc++,--pop-state" CACHE STRING "")
set(SG_WITH_PREP OFF CACHE BOOL "sg_prep needs ITK and libzip, not in the bundle")
set(CMAKE_BUILD_TYPE Release CACHE STRING "")
CMAKE

bytes=$(du -sb "$out" | cut -f1)
limit=$((64 * 1024 * 1024))
echo "$out: $((bytes / 1024)) KiB in $(find "$out" -type f | wc -l) files (limit 65536 KiB)"
if [ "$bytes" -gt "$limit" ]; then
  echo "make_cuda_bundle: the bundle exceeds 64 MiB" >&2
  exit 1
fi
