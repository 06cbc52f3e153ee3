#!/usr/bin/env bash
# Whether our StyleGAN2 training step computes what stylegan2-pytorch's
# train.py computes (issue #27), measured rather than read: both start from
# the same weights (the reference's, saved in train.py's layout) on the same
# five real batches of 16 (the demo LMDB at 32x32, widths capped at 64) with
# the same seed of the torch generator, so every latent, noise map and
# path-length projection is the same draw on both sides (mixing 0: its coin is
# Python's `random` there). Each prints D's and G's losses, the path-length
# mean and |parameter| sums per iteration; the lazy R1 runs at 0, 16, 32 and
# the path length at 0, 4, 8, ...
# Two GANs trained from one state drift apart by round-off amplified through
# training; the yardstick is the reference against itself on 2 threads
# instead of 1 (another summation order, nothing else). Then both again in
# float64 (--double) with train.py's style mixing (0.9; the reference
# replays our mixing draws), where round-off stays near 1e-16 for far
# longer: there the two must agree to every printed digit, so a gap that
# opens is a difference of computation.
#   tools/bench_stylegan2_lockstep.sh REFERENCE_CHECKOUT [ITERATIONS]   (default 40)
# Environment: LMDB (default runs/demo.lmdb), WORK (a scratch folder).
set -euo pipefail
reference=${1:?usage: tools/bench_stylegan2_lockstep.sh REFERENCE_CHECKOUT [ITERATIONS]}
reference=$(cd "$reference" && pwd)
iterations=${2:-40}
here=$(cd "$(dirname "$0")/.." && pwd)
lmdb=${LMDB:-$here/runs/demo.lmdb}
work=${WORK:-$(mktemp -d /tmp/sg2-lockstep.XXXXXX)}
[ -d "$lmdb" ] || { echo "no LMDB at $lmdb (run tools/run_demo.sh, or set LMDB)" >&2; exit 1; }
mkdir -p "$work"
py=(/usr/bin/python3 "$here/tools/bench_stylegan2_lockstep_reference.py" "$reference" "$work" --iterations "$iterations")
"${py[@]}" --prepare "$lmdb" --threads 1 >"$work/reference-1thread.txt"
"${py[@]}" --threads 2 >"$work/reference-2threads.txt"
"$here/build/bin/bench_stylegan2_lockstep" "$work/init.pt" "$work/batches.pt" --iterations "$iterations" --threads 1 \
  >"$work/ours.txt"
"$here/build/bin/bench_stylegan2_lockstep" "$work/init.pt" "$work/batches.pt" --iterations "$iterations" --threads 1 \
  --double --mixing 0.9 >"$work/ours-fp64.txt"
"${py[@]}" --threads 1 --double --mixing-from "$work/ours-fp64.txt" >"$work/reference-fp64.txt"

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo "StyleGAN2 lock-step, ours vs stylegan2-pytorch from the same weights, batches and draws: $lmdb, 32x32, width 64, batch 16, $cpu"
/usr/bin/python3 - "$work" <<'EOF'
import sys
work = sys.argv[1]
def read(name):
    rows = []
    for line in open(f"{work}/{name}"):
        f = line.split()
        rows.append({f[k]: float(f[k + 1]) for k in range(1, len(f), 2) if f[k] != "mix"})
    return rows
ref, ref2, ours = read("reference-1thread.txt"), read("reference-2threads.txt"), read("ours.txt")
n = min(len(ref), len(ref2), len(ours))
def gap(a, b):  # the largest relative difference of the losses and the path-length mean
    return max(abs(a[k] - b[k]) / max(abs(b[k]), 1e-3) for k in ("d", "g", "path_mean"))
print(f"{'iteration':>9} {'D loss ref':>11} {'ours':>9} {'ref 2 thr':>9} {'G loss ref':>11} {'ours':>9} "
      f"{'ref 2 thr':>9} {'gap ours':>9} {'gap 2 thr':>9}")
for i in sorted({0, 1, 2, 3, 4, 5, 8, 12, 16, 17, 24, 32, n - 1}):
    if i < n:
        print(f"{i:>9} {ref[i]['d']:>11.6f} {ours[i]['d']:>9.6f} {ref2[i]['d']:>9.6f} {ref[i]['g']:>11.6f} "
              f"{ours[i]['g']:>9.6f} {ref2[i]['g']:>9.6f} {gap(ours[i], ref[i]):>9.1e} {gap(ref2[i], ref[i]):>9.1e}")
def first(rows, tol):
    return next((i for i in range(n) if gap(rows[i], ref[i]) > tol), None)
for tol in (1e-5, 1e-3, 1e-2):
    print(f"first iteration with a gap above {tol:g}: ours {first(ours, tol)}, the reference on 2 threads {first(ref2, tol)}")
# Round-off grows through training until the runs are merely alike (gaps of
# 0.1 and more by iteration 16 either way): what tells a different
# computation from round-off is how soon the gap appears.
ours_at, ref2_at = (first(rows, 1e-3) for rows in (ours, ref2))
same = (ours_at if ours_at is not None else n) >= (ref2_at if ref2_at is not None else n)
print("ours vs the reference: " + ("the same computation up to round-off (ours departs no sooner than the reference "
      "from itself)" if same else "DIFFERENT (ours departs sooner than round-off makes the reference depart from itself)"))
ref64, ours64 = read("reference-fp64.txt"), read("ours-fp64.txt")
n64 = min(len(ref64), len(ours64))
keys = ("d", "g", "path_mean", "G", "D", "g_ema")
worst = max(abs(o[k] - r[k]) / max(abs(r[k]), 1e-3) for o, r in zip(ours64[:n64], ref64[:n64]) for k in keys)
print(f"float64 with mixing 0.9, {n64} iterations: the largest relative gap of losses, path-length mean and |parameter| sums is "
      f"{worst:.1e}: " + ("the same computation" if worst < 1e-9 else "DIFFERENT"))
EOF
echo "lines: $work"
