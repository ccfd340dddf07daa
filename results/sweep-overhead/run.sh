#!/usr/bin/env bash
# orchestration overhead per run: the old bash sweep (HEAD, /tmp/before) against the new Python one
# (/work/main), the stand-in interpreter, the default CPU plan (48 runs), interleaved
export RUN_ALL_PYTHON=/work/main/tests/standin/python RUN_ALL_NGPU=0
for round in 1 2 3; do
  for which in $([ $((round % 2)) = 1 ] && echo "old new" || echo "new old"); do
    root=$([ $which = old ] && echo /tmp/before || echo /work/main)
    out=/tmp/ovh/$which-$round
    t0=$(date +%s.%N)
    $root/run_all.sh --out $out --cifar-data /tmp/gen-cifar > $out.txt 2>&1
    rc=$?
    t1=$(date +%s.%N)
    sum=$(grep -ho "^run_end .*wall_s=[0-9.]*" $out/logs/*.log | grep -o "wall_s=[0-9.]*" | cut -d= -f2 | paste -sd+ | bc)
    echo "$which round=$round rc=$rc total_s=$(echo "$t1 - $t0" | bc) runs_wall_s=$sum"
  done
done
