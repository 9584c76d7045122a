#!/usr/bin/env bash
# tests/cli/distributed_cli_test.sh CALIB8 SOURCE_DIR [MPIEXEC] — calibration on several processes
# (docs/distributed.md) gives the single-process table and sidecar byte for byte:
#   `mpiexec -n 1/2/3 calib8 calibrate ... --mpi` and the `--shard I/N` path (N = 1/2/3: --range-only,
#   merge-stats, --ranges, merge-stats, --from-stats), on the demo model (Fashion-MNIST) with every
#   method and on ResNet-18 (models/generated); a failing rank makes every rank exit non-zero with
#   its message and writes nothing. MPIEXEC empty: calib8 was built without MPI, and --mpi must say so.
# The reference is an independent run: one process, no sharding, same --threads and --batch.
set -uo pipefail
CALIB8="$1"; SRC="$2"; MPIEXEC="${3:-}"
PY=/usr/bin/python3
FM=/usr/share/datasets/fashion-mnist
DEMO="$SRC/models/fashion_mnist_cnn.onnx"
R18="$SRC/models/generated/resnet18.onnx"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok() { pass=$((pass+1)); echo "ok   $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; [ -f "$T/err" ] && head -5 "$T/err"; }
# One machine, run as root in CI, more ranks than cores, one thread per rank.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMP_NUM_THREADS=1
TH=(--threads 1 --quiet)

# same DIR_A DIR_B: the table t.cache and its sidecar are identical bytes in both directories.
same() { cmp -s "$1/t.cache" "$2/t.cache" && cmp -s "$1/t.cache.calib8.json" "$2/t.cache.calib8.json"; }

# shard_flow MODEL N OUTDIR ARGS...: the --shard path with N shards, run one after the other.
shard_flow() {
  local model=$1 n=$2 out=$3; shift 3
  mkdir -p "$out"
  local r=() h=()
  for ((i = 0; i < n; i++)); do
    "$CALIB8" calibrate "$model" "$@" "${TH[@]}" --shard $i/$n --range-only --save-stats "$out/r$i.json" >/dev/null 2>"$T/err" || return 1
    r+=("$out/r$i.json")
  done
  "$CALIB8" merge-stats "${r[@]}" -o "$out/ranges.json" >/dev/null 2>"$T/err" || return 1
  for ((i = 0; i < n; i++)); do
    "$CALIB8" calibrate "$model" "$@" "${TH[@]}" --shard $i/$n --ranges "$out/ranges.json" --save-stats "$out/h$i.json" >/dev/null 2>"$T/err" || return 1
    h+=("$out/h$i.json")
  done
  "$CALIB8" merge-stats "${h[@]}" -o "$out/all.json" >/dev/null 2>"$T/err" || return 1
  # The data again: --from-stats runs the asymmetric range search on them, as one process does.
  "$CALIB8" calibrate "$model" "$@" --quiet --from-stats "$out/all.json" "${FROM[@]}" -o "$out/t.cache" >/dev/null 2>"$T/err"
}

# mpi_run N OUTDIR ARGS...
mpi_run() {
  local n=$1 out=$2; shift 2
  mkdir -p "$out"
  timeout 300 "$MPIEXEC" -n "$n" "$CALIB8" calibrate "$@" "${TH[@]}" --mpi -o "$out/t.cache" >"$out/log" 2>"$T/err"
}

# --- Demo model, 120 Fashion-MNIST training images (as scripts/demo.sh reads them) -------------
DEMO_DATA=(--data "idx:$FM/train-images-idx3-ubyte.gz" --max-samples 120)
FROM=()
mkdir -p "$T/demo1"
"$CALIB8" calibrate "$DEMO" "${DEMO_DATA[@]}" "${TH[@]}" --save-stats "$T/demo1/stats.json" -o "$T/demo1/t.cache" >/dev/null 2>"$T/err" \
  && grep -q '"fingerprint": "[0-9a-f]\{16\}"' "$T/demo1/t.cache.calib8.json" \
  && ok "demo: single-process reference (sidecar has a data fingerprint)" || bad "demo: single-process reference"
for n in 1 2 3; do
  shard_flow "$DEMO" $n "$T/demo_shard$n" "${DEMO_DATA[@]}" && same "$T/demo1" "$T/demo_shard$n" \
    && ok "demo: --shard with N=$n: table and sidecar byte-identical" || bad "demo: --shard N=$n"
done
# Round 2's shard files hold the merged ranges once, not N times (the sidecar's element counts).
$PY -c "
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
assert a['samples'] == b['samples'] == 120, (a['samples'], b['samples'])
assert all(a['tensors'][k]['count'] == b['tensors'][k]['count'] for k in a['tensors'])
assert b['data']['shards'] == [0, 1, 2] and b['data']['shard_count'] == 3
" "$T/demo1/stats.json" "$T/demo_shard3/all.json" 2>"$T/err" \
  && ok "demo: merged shard statistics count every sample and element once" || bad "demo: merged shard counts"
# Shard misuse: an incomplete merge, a shard merged twice, --shard without a round.
"$CALIB8" merge-stats "$T/demo_shard3/h0.json" "$T/demo_shard3/h2.json" -o "$T/part.json" >/dev/null 2>&1
"$CALIB8" calibrate "$DEMO" --quiet --from-stats "$T/part.json" -o "$T/part.cache" >/dev/null 2>"$T/err"
[ $? -eq 1 ] && grep -q "only shards 0, 2 of 3" "$T/err" && [ ! -e "$T/part.cache" ] \
  && ok "--from-stats refuses statistics of some shards only: $(head -c 120 "$T/err")" || bad "incomplete shards"
"$CALIB8" merge-stats "$T/demo_shard3/h1.json" "$T/demo_shard3/h1.json" -o "$T/twice.json" >/dev/null 2>"$T/err"
[ $? -eq 1 ] && grep -q "shard 1 of 3 is merged twice" "$T/err" && ok "merge-stats refuses a shard twice" || bad "shard twice"
"$CALIB8" calibrate "$DEMO" "${DEMO_DATA[@]}" --quiet --shard 1/3 --save-stats "$T/x.json" >/dev/null 2>"$T/err"
[ $? -eq 1 ] && grep -q "needs --range-only (round 1) or --ranges FILE (round 2)" "$T/err" && ok "--shard without a round is refused" || bad "--shard alone"
"$CALIB8" calibrate "$DEMO" "${DEMO_DATA[@]}" --quiet --shard 3/3 --range-only --save-stats "$T/x.json" >/dev/null 2>"$T/err"
[ $? -eq 1 ] && grep -q "expected I/N with 0 <= I < N" "$T/err" && ok "--shard 3/3 is refused" || bad "--shard 3/3"

if [ -z "$MPIEXEC" ]; then
  "$CALIB8" calibrate "$DEMO" "${DEMO_DATA[@]}" --quiet --mpi -o "$T/nompi.cache" >/dev/null 2>"$T/err"
  [ $? -ne 0 ] && grep -q "built without MPI" "$T/err" && ok "--mpi in a build without MPI: $(head -c 100 "$T/err")" || bad "--mpi without MPI"
else
  for n in 1 2 3; do
    mpi_run $n "$T/demo_mpi$n" "$DEMO" "${DEMO_DATA[@]}" --save-stats "$T/demo_mpi$n/stats.json" \
      && same "$T/demo1" "$T/demo_mpi$n" && cmp -s "$T/demo1/stats.json" "$T/demo_mpi$n/stats.json" \
      && ok "demo: mpiexec -n $n: table, sidecar and statistics byte-identical ($(grep -o 'pass-1.*' "$T/demo_mpi$n/log"))" \
      || bad "demo: mpiexec -n $n"
  done
  # Every method (the default above), 3 ranks against one process; and batches of 16 (120 samples:
  # 8 batches, the last one short, cut 3/3/2 between the ranks).
  for m in entropy2 entropy minmax percentile mse; do
    mkdir -p "$T/m1_$m"
    "$CALIB8" calibrate "$DEMO" "${DEMO_DATA[@]}" "${TH[@]}" --method $m -o "$T/m1_$m/t.cache" >/dev/null 2>"$T/err" \
      && mpi_run 3 "$T/m3_$m" "$DEMO" "${DEMO_DATA[@]}" --method $m && same "$T/m1_$m" "$T/m3_$m" \
      && ok "demo: --method $m, mpiexec -n 3: byte-identical" || bad "demo: --method $m, mpiexec -n 3"
  done
  mkdir -p "$T/b1"
  "$CALIB8" calibrate "$DEMO" "${DEMO_DATA[@]}" "${TH[@]}" --batch 16 -o "$T/b1/t.cache" >/dev/null 2>"$T/err" \
    && mpi_run 3 "$T/b3" "$DEMO" "${DEMO_DATA[@]}" --batch 16 && same "$T/b1" "$T/b3" \
    && grep -q "rank 0 read samples 0-31" "$T/b3/log" \
    && ok "demo: --batch 16, mpiexec -n 3: whole batches per rank, byte-identical" || bad "demo: --batch 16, mpiexec -n 3"

  # A failing rank: sample 100 (rank 2 of 3: samples 80-119) has a NaN. Every rank exits non-zero
  # with rank 2's message, within the timeout, and no table, sidecar or statistics appear.
  $PY -c "
import gzip, numpy as np, sys
raw = gzip.open('$FM/train-images-idx3-ubyte.gz').read()
x = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 1, 28, 28)[:120].astype(np.float32) / 255
x[100, 0, 5, 5] = np.nan
np.save(sys.argv[1], x)" "$T/nan.npy"
  mkdir -p "$T/fail"
  start=$SECONDS
  timeout 120 "$MPIEXEC" -n 3 "$CALIB8" calibrate "$DEMO" --data "$T/nan.npy" "${TH[@]}" --mpi \
    --save-stats "$T/fail/stats.json" -o "$T/fail/t.cache" >"$T/fail/log" 2>"$T/err"
  rc=$?
  ranks=$(grep -c "calib8: error: .*rank 2 of 3: .*sample 100: NaN" "$T/err")
  [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ "$ranks" -eq 3 ] && [ -z "$(ls -A "$T/fail" | grep -v '^log$')" ] \
    && ok "a rank failing (NaN in sample 100): all 3 ranks exit non-zero with its message in $((SECONDS - start)) s, nothing written" \
    || { bad "failing rank (rc $rc, $ranks ranks reported)"; cat "$T/err" | head -8; }
  # A file that one rank alone cannot read: a corrupt PNG in rank 1's block of an image directory.
  $PY -c "
import gzip, numpy as np, os, sys
from PIL import Image
raw = gzip.open('$FM/train-images-idx3-ubyte.gz').read()
x = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28)[:9]
d = sys.argv[1]; os.makedirs(d)
for i, im in enumerate(x): Image.fromarray(im).save(f'{d}/{i:02d}.png')
open(f'{d}/04.png', 'r+b').truncate(60)" "$T/img"
  mkdir -p "$T/fail2"
  timeout 120 "$MPIEXEC" -n 3 "$CALIB8" calibrate "$DEMO" --data "images:$T/img@order=gray" "${TH[@]}" --mpi \
    -o "$T/fail2/t.cache" >/dev/null 2>"$T/err"
  rc=$?
  ranks=$(grep -c "calib8: error: .*rank 1 of 3: .*04.png" "$T/err")
  [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ "$ranks" -eq 3 ] && [ -z "$(ls -A "$T/fail2")" ] \
    && ok "a rank failing on a corrupt image: all 3 ranks report '$(grep -m1 -o 'rank 1 of 3: .\{0,70\}' "$T/err")'" \
    || { bad "corrupt image on one rank (rc $rc, $ranks ranks reported)"; head -8 "$T/err"; }
  "$MPIEXEC" -n 2 "$CALIB8" calibrate "$DEMO" "${DEMO_DATA[@]}" --quiet --mpi --shard 0/2 --save-stats "$T/x.json" >/dev/null 2>"$T/err"
  [ $? -ne 0 ] && grep -q "mpi cannot be combined with --shard" "$T/err" && ok "--mpi with --shard is refused" || bad "--mpi --shard"
fi

# --- ResNet-18 (models/generated), 9 seeded N(0,1) images [3,224,224] -----------------------------
if [ -f "$R18" ]; then
  $PY -c "import numpy as np, sys; np.save(sys.argv[1], np.random.RandomState(18).standard_normal((9, 3, 224, 224)).astype(np.float32))" "$T/r18.npy"
  # The default searches (the table's scales, then the asymmetric ranges, at the output) on 2 of
  # the 9 samples: the same paths as on 9, at a fraction of the time (each candidate runs the INT8
  # model on every search sample).
  R18_DATA=(--data "$T/r18.npy" --sym-search 2 --asym-search 2)
  mkdir -p "$T/r1" "$T/r1m"
  "$CALIB8" calibrate "$R18" "${R18_DATA[@]}" "${TH[@]}" --save-stats "$T/r1/stats.json" -o "$T/r1/t.cache" >/dev/null 2>"$T/err" \
    && ok "resnet18: single-process reference" || bad "resnet18: single-process reference"
  FROM=(--method minmax)
  shard_flow "$R18" 3 "$T/r18_shard3m" "${R18_DATA[@]}" \
    && "$CALIB8" calibrate "$R18" "${R18_DATA[@]}" --quiet --from-stats "$T/r1/stats.json" --method minmax -o "$T/r1m/t.cache" >/dev/null 2>"$T/err" \
    && same "$T/r1m" "$T/r18_shard3m" && ok "resnet18: --shard N=3, minmax: byte-identical" || bad "resnet18: --shard N=3 minmax"
  FROM=()
  for n in 1 2 3; do
    shard_flow "$R18" $n "$T/r18_shard$n" "${R18_DATA[@]}" && same "$T/r1" "$T/r18_shard$n" \
      && ok "resnet18: --shard with N=$n: table and sidecar byte-identical" || bad "resnet18: --shard N=$n"
  done
  if [ -n "$MPIEXEC" ]; then
    for n in 1 2 3; do
      mpi_run $n "$T/r18_mpi$n" "$R18" "${R18_DATA[@]}" --save-stats "$T/r18_mpi$n/stats.json" \
        && same "$T/r1" "$T/r18_mpi$n" && cmp -s "$T/r1/stats.json" "$T/r18_mpi$n/stats.json" \
        && ok "resnet18: mpiexec -n $n: table, sidecar, statistics byte-identical ($(grep -o 'pass-1.*' "$T/r18_mpi$n/log"))" \
        || bad "resnet18: mpiexec -n $n"
    done
    mkdir -p "$T/r18_mpi3m"
    "$CALIB8" calibrate "$R18" "${R18_DATA[@]}" --quiet --from-stats "$T/r18_mpi3/stats.json" --method minmax -o "$T/r18_mpi3m/t.cache" >/dev/null 2>"$T/err" \
      && same "$T/r1m" "$T/r18_mpi3m" && ok "resnet18: minmax from the mpiexec -n 3 statistics: byte-identical" || bad "resnet18: mpi minmax"
  fi
else
  echo "skip resnet18: $R18 missing (scripts/gen_torchvision_models.py)"
fi

echo "distributed_cli: $pass passed, $fail failed"
[ $fail -eq 0 ]
