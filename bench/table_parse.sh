#!/usr/bin/env bash
# bench/table_parse.sh [CALIB8] [ENTRIES...] — table parsing must be linear in the number of
# entries, 300,000 entries well under a second (issue 16: inspect took 14 s for 40,000 lines and
# over 60 s for 300,000). Writes a TensorRT cache of N entries (the bundled model's tensors first,
# then N synthetic names of the length real caches have) and times `convert --to trt` (read +
# write, output checked byte-identical), `inspect` (read + one printed line per entry) and
# `run --int8 --table` on the bundled Fashion-MNIST model with it.
# REPEAT=N (default 5) runs of each; prints min and median wall seconds. BASELINE=PATH times a
# second calib8 binary (an older build) in the same loop, interleaved, for a ratio on a noisy
# machine. Results in bench/RESULTS.md ("Table parsing").
set -euo pipefail
cd "$(dirname "$0")/.."
CALIB8="${1:-build/calib8}"
shift || true
SIZES="${*:-10000 40000 300000}"
REPEAT="${REPEAT:-5}"
BINS=("$CALIB8")
[ -n "${BASELINE:-}" ] && BINS+=("$BASELINE")
M=models/fashion_mnist_cnn.onnx
X=models/fashion_mnist_test1.npy
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
"$CALIB8" calibrate "$M" --data models/fashion_mnist_test8.npy -o "$W/base.cache" -q >/dev/null
wall() {  # wall seconds of one command (output discarded; must succeed)
  local s e
  s=$(date +%s.%N); "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }; e=$(date +%s.%N)
  awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f\n", e - s }'
}
min_median() { sort -n | awk '{ v[NR] = $1 } END { printf "%.2f / %.2f", v[1], (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "machine: $(nproc) cores, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%F)"
echo "wall seconds, min / median of $REPEAT runs"
echo "| entries | binary | convert --to trt | inspect | run --int8 --table |"
echo "|---:|---|---:|---:|---:|"
for n in $SIZES; do
  { cat "$W/base.cache"
    awk -v n="$n" 'BEGIN { for (i = 0; i < n; ++i) printf "/model/encoder/layers.%d/self_attn/MatMul_output_0: 3c%06x\n", i, i % 65536 }'
  } > "$W/big.cache"
  declare -A T=()
  for ((r = 0; r < REPEAT; ++r)); do
    for b in "${BINS[@]}"; do
      T[$b,c]+="$(wall "$b" convert "$W/big.cache" --to trt -o "$W/out.cache") "
      cmp -s "$W/big.cache" "$W/out.cache" || { echo "convert --to trt changed the bytes ($b)" >&2; exit 1; }
      T[$b,i]+="$(wall "$b" inspect "$W/big.cache") "
      T[$b,r]+="$(wall "$b" run "$M" --int8 --table "$W/big.cache" --input "$X" --output-dir "$W/out") "
    done
  done
  for b in "${BINS[@]}"; do
    row="| $n | $b"
    for k in c i r; do row+=" | $(echo "${T[$b,$k]}" | tr ' ' '\n' | grep . | min_median)"; done
    echo "$row |"
  done
  unset T
done
