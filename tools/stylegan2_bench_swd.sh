# Sourced by bench_stylegan2_learning.sh and bench_stylegan2_streams.sh: how
# both score a checkpoint. swd CHECKPOINT prints its SWD x1e3 at 32x32
# against $lmdb (1,000 samples), averaged over evaluation seeds 1..3; needs
# $here (the project) and $work (a scratch folder).
swd() {
  local total=0
  for e in 1 2 3; do
    "$here/build/bin/sg_eval" "$1" "$lmdb" --size 32 --n 1000 --seed "$e" --device cpu --quiet \
      --json "$work/eval.json" >/dev/null 2>>"$work/eval.log"
    total=$(awk -v t="$total" -v s="$(sed -n 's/^  "swd": \([0-9.]*\),$/\1/p' "$work/eval.json")" 'BEGIN { print t + s }')
  done
  awk -v t="$total" 'BEGIN { printf "%.1f", t / 3 }'
}
