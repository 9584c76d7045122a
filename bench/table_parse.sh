#!/usr/bin/env bash
# bench/table_parse.sh [CALIB8] [ENTRIES...] — table parsing must be linear in the number of
# entries (issue 16: inspect took 14 s for 40,000 lines, over 60 s for 300,000). Writes a
# TensorRT cache of N entries (the bundled model's tensors first, then N synthetic names of the
# length real caches have) and times `inspect`, `convert --to json` and `run --int8 --table` on
# the bundled Fashion-MNIST model with it. Prints one markdown row per size; results in
# bench/RESULTS.md ("Table parsing").
set -euo pipefail
cd "$(dirname "$0")/.."
CALIB8="${1:-build/calib8}"
shift || true
SIZES="${*:-10000 40000 300000}"
M=models/fashion_mnist_cnn.onnx
X=models/fashion_mnist_test1.npy
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
"$CALIB8" calibrate "$M" --data models/fashion_mnist_test8.npy -o "$W/base.cache" -q >/dev/null
t() {  # seconds of wall time of one command (output discarded; must succeed)
  local s e
  s=$(date +%s.%N); "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }; e=$(date +%s.%N)
  awk -v s="$s" -v e="$e" 'BEGIN { printf "%.2f", e - s }'
}
echo "| entries | inspect s | convert --to json s | run --int8 --table s |"
echo "|---:|---:|---:|---:|"
for n in $SIZES; do
  { cat "$W/base.cache"
    awk -v n="$n" 'BEGIN { for (i = 0; i < n; ++i) printf "/model/encoder/layers.%d/self_attn/MatMul_output_0: 3c%06x\n", i, i % 65536 }'
  } > "$W/big.cache"
  a=$(t "$CALIB8" inspect "$W/big.cache")
  b=$(t "$CALIB8" convert "$W/big.cache" --to json -o "$W/big.json")
  c=$(t "$CALIB8" run "$M" --int8 --table "$W/big.cache" --input "$X" --output-dir "$W/out")
  echo "| $n | $a | $b | $c |"
done
