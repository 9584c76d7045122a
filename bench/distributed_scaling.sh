#!/usr/bin/env bash
# bench/distributed_scaling.sh [BUILD_DIR] [SAMPLES] [RANKS] — `calibrate --mpi` wall time on
# ResNet-18 (models/generated) for SAMPLES (default 512) seeded N(0,1) images [3,224,224], one
# thread per rank, against the single-process run on the same machine; checks every table and
# sidecar is byte-identical to the single-process one and reports the bytes each rank contributes
# to the pass-1 all-reduce and the pass-2 reduction (the `mpi:` line calibrate prints).
#   RANKS (default "1 2 4"): more ranks than cores run oversubscribed (OMPI_MCA_rmaps_base_oversubscribe).
# Run it nice'd on a quiet machine: `nice bench/distributed_scaling.sh`. Results: bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
B="${1:-build}"
N="${2:-512}"
RANKS="${3:-1 2 4}"
MODEL=models/generated/resnet18.onnx
[ -f "$MODEL" ] || { echo "$MODEL missing: /usr/bin/python3 scripts/gen_torchvision_models.py" >&2; exit 1; }
command -v mpiexec >/dev/null || { echo "mpiexec missing (Debian: openmpi-bin)" >&2; exit 1; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMP_NUM_THREADS=1
/usr/bin/python3 -c "import numpy as np, sys; np.save(sys.argv[1], np.random.RandomState(512).standard_normal((int(sys.argv[2]), 3, 224, 224)).astype(np.float32))" "$T/x.npy" "$N"

echo "date: $(date -u '+%a %b %d %H:%M UTC %Y')  load: $(cut -d' ' -f1-3 /proc/loadavg)"
lscpu | grep -E '^(Model name|CPU\(s\))' | sed 's/^/  /'
echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo '+dirty')"
echo "data: $N samples [3,224,224] float32 ($(du -m "$T/x.npy" | cut -f1) MiB .npy), batch 1, 1 thread per process, method entropy2-floored"

now() { date +%s.%N; }
mkdir -p "$T/single"
t0=$(now)
"$B/calib8" calibrate "$MODEL" --data "$T/x.npy" --threads 1 --quiet -o "$T/single/t.cache" >"$T/single/log"
t1=$(now)
single=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
tensors=$(grep -o 'calibrated [0-9]* tensors' "$T/single/log" | grep -o '[0-9]*')
echo
echo "| processes | wall s | single-process / this | table+sidecar identical | pass-1 all-reduce bytes/rank | pass-2 reduce bytes/rank |"
echo "|---|---:|---:|---|---:|---:|"
echo "| 1 (no MPI) | $single | 1.00 | (reference) | - | - |"
for n in $RANKS; do
  mkdir -p "$T/mpi$n"
  t0=$(now)
  mpiexec -n "$n" "$B/calib8" calibrate "$MODEL" --data "$T/x.npy" --threads 1 --quiet --mpi -o "$T/mpi$n/t.cache" >"$T/mpi$n/log"
  t1=$(now)
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
  same=no
  cmp -s "$T/single/t.cache" "$T/mpi$n/t.cache" && cmp -s "$T/single/t.cache.calib8.json" "$T/mpi$n/t.cache.calib8.json" && same=yes
  b1=$(sed -n 's/.*pass-1 all-reduce moved \([0-9]*\) bytes.*/\1/p' "$T/mpi$n/log")
  b2=$(sed -n 's/.*pass-2 reduction \([0-9]*\) bytes.*/\1/p' "$T/mpi$n/log")
  echo "| $n (mpiexec -n $n) | $wall | $(awk -v a="$single" -v b="$wall" 'BEGIN { printf "%.2f", a / b }') | $same | $b1 | $b2 |"
done
echo
echo "$tensors tensors calibrated; load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
