#!/usr/bin/env bash
# Fuzzes every parser that sees a user's bytes (libFuzzer, Debian's clang,
# AddressSanitizer + UBSan + LeakSanitizer), SECONDS per target (default 60):
#   fuzz_volume       NIfTI-1/-2 and Analyze headers and voxels, MetaImage, NRRD
#   fuzz_image        PNG and JPEG slices, PNG records
#   fuzz_zip          zip listing and member reads (slips, bombs, encryption)
#   fuzz_dicom        DICOM files (GDCM's parser and decoders, ITK's GDCMImageIO)
#   fuzz_config       dataset configs (protobuf text format)
#   fuzz_lmdb_record  the LMDB meta record and record values
#   fuzz_lmdb_file    whole LMDB files (the page check before liblmdb maps them)
#   fuzz_checkpoint   checkpoints (our unpickler, the metadata, a full load)
# Builds them in build-fuzz/, makes the seed corpora there from real files
# (mricron-data, the ITK examples) and files made here, and prints each
# target's executions and findings. A crash, hang or leak leaves its input in
# build-fuzz/findings/TARGET/: fix it, then add the input to
# tests/fuzz/regressions/TARGET/, which this script (and CI, through
# tools/sanitize_checks.sh) replays before fuzzing.
#
# usage: bash tools/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_volume fuzz_image fuzz_zip fuzz_dicom fuzz_config fuzz_lmdb_record fuzz_lmdb_file fuzz_checkpoint)
root=$(pwd)
build=$root/build-fuzz

bash tools/install_deps.sh
CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSG_FUZZ=ON -DSG_SANITIZE=ON \
  -DSG_BUILD_TESTS=ON >/dev/null
cmake --build "$build" --parallel "$(nproc)" --target "${targets[@]}"

export ASAN_OPTIONS=detect_odr_violation=0:allocator_may_return_null=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$root/tests/fuzz/lsan.supp:print_suppressions=0

examples=/usr/share/doc/insighttoolkit5-examples/examples/Data
templates=/usr/share/mricron/templates

# Seeds: a selector byte for fuzz_volume, then the file.
make_seeds() {
  local t=$1 dir=$build/corpus/$1
  mkdir -p "$dir"
  case $t in
    fuzz_volume)
      for f in "$templates/JHU-WhiteMatter-labels-2mm.nii.gz" "$examples/KmeansTest_T1RawSkullStrip.nii.gz"; do
        [ -f "$f" ] && { printf '\x01'; cat "$f"; } > "$dir/$(basename "$f")"
      done
      /usr/bin/python3 "$root/tests/fuzz/make_volume_seeds.py" "$dir"
      ;;
    fuzz_image)
      for f in Point.png FFTCosinus.png CircleSpikes.png BrainProtonDensitySliceBorder20Mask.png DiagonalLines.png; do
        [ -f "$examples/$f" ] && cp "$examples/$f" "$dir/"
      done
      /usr/bin/python3 "$root/tests/fuzz/make_image_seeds.py" "$dir"
      ;;
    fuzz_zip) /usr/bin/python3 "$root/tests/fuzz/make_zip_seeds.py" "$dir" ;;
    fuzz_dicom) /usr/bin/python3 "$root/tests/fuzz/make_dicom_seeds.py" "$dir" ;;
    fuzz_config) cp configs/*.textproto "$dir/" ;;
    fuzz_lmdb_record) /usr/bin/python3 "$root/tests/fuzz/make_record_seeds.py" "$dir" ;;
    fuzz_lmdb_file) SG_FUZZ_MAKE_SEEDS=$dir "$build/bin/fuzz_lmdb_file" >/dev/null 2>&1 ;;
    fuzz_checkpoint)
      SG_FUZZ_MAKE_SEEDS=$dir "$build/bin/fuzz_checkpoint" >/dev/null 2>&1
      /usr/bin/python3 "$root/tests/fuzz/make_checkpoint_seeds.py" "$dir"
      ;;
  esac
}

failed=0
printf '\n%-18s %12s %10s  %s\n' target executions corpus found
for t in "${targets[@]}"; do
  make_seeds "$t"
  regressions=$root/tests/fuzz/regressions/$t
  mkdir -p "$regressions" "$build/findings/$t"
  log=$build/findings/$t.log
  status=0
  # Regression inputs first, each once: a fixed bug must stay fixed. One
  # input alone never needs a gigabyte: a single allocation past it is the
  # bug coming back (fuzz_image's 2 GB sCAL chunk), whatever the RSS.
  if ls "$regressions"/* >/dev/null 2>&1; then
    "$build/bin/$t" -runs=0 -malloc_limit_mb=1024 "$regressions"/* >"$log.replay" 2>&1 || status=$?
    if [ $status -ne 0 ]; then
      printf '%-18s %12s %10s  %s\n' "$t" - - "a regression input fails again: $log.replay"
      failed=1
      continue
    fi
  fi
  "$build/bin/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2560 -print_final_stats=1 \
    -artifact_prefix="$build/findings/$t/" "$build/corpus/$t" >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  units=$(ls "$build/corpus/$t" | wc -l)
  found=none
  if [ $status -ne 0 ]; then
    found="$(ls "$build/findings/$t" | head -3 | tr '\n' ' ')(see $log)"
    failed=1
  fi
  printf '%-18s %12s %10s  %s\n' "$t" "${runs:-?}" "$units" "$found"
done
exit $failed
