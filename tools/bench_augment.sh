#!/usr/bin/env bash
# bench_augment: does ADA help a short run on few images? Trains the demo's
# setup (runs/demo.lmdb: 182 slices of one brain; width 32, 8x8 -> 32x32,
# phase 6,000 images, batch 16, logistic loss with R1 0.1, lr 0.002,
# --mixing) once per configuration and seed at the same image budget, then
# measures each EMA generator with sg_eval (SWD x10^3 at 32x32, 2,000 images)
# and prints p along the run. Not a test: about five minutes per run here.
#   tools/bench_augment.sh [SEEDS...]        (default: 1 2 3)
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] && seeds=("$@") || seeds=(1 2 3)
bin=build/bin
out=runs/bench-augment
mkdir -p "$out"
[ -d runs/demo.lmdb ] || "$bin/sg_prep" --config configs/demo.textproto --out runs/demo.lmdb --force >/dev/null

# name|flags
configs=(
  "none|"
  "ada (default length 500k)|--augment"
  "ada, length 20k|--augment --ada_length 20000"
  "fixed p 0.2|--augment --augment_p 0.2"
)
summary="$out/summary.csv"
echo "config,seed,swd,final_p,p_at_25%,p_at_50%,p_at_75%,seconds" > "$summary"
for seed in "${seeds[@]}"; do
  for entry in "${configs[@]}"; do
    name=${entry%%|*}
    flags=${entry#*|}
    tag=$(echo "$name" | tr -c 'a-z0-9\n' '-' | tr -s '-')
    run="$out/$tag-seed$seed"
    rm -rf "$run"
    start=$(date +%s)
    # shellcheck disable=SC2086
    "$bin/sg_train" runs/demo.lmdb --out "$run" --mixing --channels 32 --max_size 32 --phase 6000 --batch 16 \
      --loss r1 --r1_gamma 0.1 --lr 0.002 --sample-every 100 --checkpoint-every 1000 --seed "$seed" --quiet $flags >/dev/null
    seconds=$(( $(date +%s) - start ))
    "$bin/sg_eval" "$run/checkpoints/latest.ckpt" runs/demo.lmdb --size 32 --n 2000 --json "$run/eval.json" --quiet >/dev/null
    swd=$(sed -n 's/^  "swd": \([0-9.]*\),$/\1/p' "$run/eval.json")
    # p over the run from log.csv (columns augment_p when present).
    ps=$(awk -F, 'NR==1{for(i=1;i<=NF;i++) if($i=="augment_p") c=i; next} {p[NR]=(c?$c:0); n=NR}
                  END{printf "%s,%s,%s,%s", p[n], p[int(n*0.25)], p[int(n*0.5)], p[int(n*0.75)]}' "$run/log.csv")
    echo "$name,$seed,$swd,$ps,$seconds" >> "$summary"
    printf '%-28s seed %s  SWD %8s  p: %s  (%ss)\n' "$name" "$seed" "$swd" "$ps" "$seconds"
  done
done
echo "summary: $summary"
