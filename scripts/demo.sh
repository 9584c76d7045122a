#!/usr/bin/env bash
# scripts/demo.sh — README's first command: set up, build, and run calib8's whole path on the
# bundled default, a small CNN trained on Fashion-MNIST (models/fashion_mnist_cnn.onnx), with
# Debian's dataset-fashion-mnist:
#   calibrate (500 training images) -> inspect the table -> compare FP32 and INT8 on the 10,000
#   test images with their labels (+ the HTML report) -> export a Q/DQ model -> run it in
#   onnxruntime -> a summary table and the files written (all under out/).
# Numbers are whatever the tools report (nothing here is hard-coded). DEMO_OUT=DIR writes there.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
START=$(date +%s.%N)
C8=build/calib8
MODEL=models/fashion_mnist_cnn.onnx
FM=/usr/share/datasets/fashion-mnist
TEST_IMAGES=$FM/t10k-images-idx3-ubyte.gz
TEST_LABELS=$FM/t10k-labels-idx1-ubyte.gz
OUT=${DEMO_OUT:-out}
TABLE=$OUT/fashion_mnist_cnn.cache
STATS=$OUT/fashion_mnist_cnn.stats.json
REPORT=$OUT/fashion_mnist_cnn.report.html
QDQ=$OUT/fashion_mnist_cnn.qdq.onnx
mkdir -p "$OUT"
step() { printf '\n== %s\n   %s\n' "$1" "$2"; }

step "1/6 calibrate: $C8 calibrate $MODEL --data idx:$FM/train-images-idx3-ubyte.gz --max-samples 500" \
     "500 training images go through the FP32 model twice (pass 1: each tensor's range, pass 2: its |x| histogram); the default method picks a clipping threshold amax per tensor."
"$C8" calibrate "$MODEL" --data "idx:$FM/train-images-idx3-ubyte.gz" --max-samples 500 --batch 50 \
  -o "$TABLE" --save-stats "$STATS"

step "2/6 inspect: $C8 inspect $TABLE --model $MODEL" \
     "Each line of the TensorRT cache is a tensor name and a hex number: the float32 bits of its scale (amax/127); the sidecar tells how much of the observed range each amax clips."
"$C8" inspect "$TABLE" --model "$MODEL" --clipped 3

step "3/6 compare: $C8 compare $MODEL --table $TABLE --data idx:$TEST_IMAGES --labels idx:$TEST_LABELS" \
     "FP32 and INT8 run on the 10,000 test images; accuracy against the labels, then the layers whose INT8 output is furthest from FP32 (lowest SQNR first)."
"$C8" compare "$MODEL" --table "$TABLE" --data "idx:$TEST_IMAGES" --labels "idx:$TEST_LABELS" \
  --batch 100 --top 5 --report "$REPORT" --stats "$STATS" | tee "$OUT/compare.txt"

echo
echo "   The same table in TensorRT mode (--symmetric: a bare cache, symmetric s8, as TensorRT runs it):"
"$C8" compare "$MODEL" --table "$TABLE" --data "idx:$TEST_IMAGES" --labels "idx:$TEST_LABELS" \
  --batch 100 --symmetric --quiet 2>/dev/null | grep 'accuracy FP32' | tee "$OUT/compare_symmetric.txt"

step "4/6 report: $REPORT" \
     "One self-contained HTML file (no script, nothing fetched): summary, every tensor's range and amax, per-layer SQNR, and each tensor's histogram with its threshold."
printf '   %s (%s bytes): open it in a browser\n' "$REPORT" "$(stat -c %s "$REPORT")"

step "5/6 export-qdq: $C8 export-qdq $MODEL --table $TABLE --target ort -o $QDQ" \
     "The table becomes QuantizeLinear/DequantizeLinear pairs in an ordinary ONNX model that other runtimes (here ONNX Runtime) quantize from."
"$C8" export-qdq "$MODEL" --table "$TABLE" --target ort -o "$QDQ"

step "6/6 onnxruntime: node scripts/ort_accuracy.js $QDQ (10,000 test images)" \
     "The exported Q/DQ model and the original FP32 model run in onnxruntime-node on the same images: an independent check of what INT8 costs."
ORT_QDQ=$(node scripts/ort_accuracy.js "$QDQ" "$TEST_IMAGES" "$TEST_LABELS")
ORT_FP32=$(node scripts/ort_accuracy.js "$MODEL" "$TEST_IMAGES" "$TEST_LABELS")
echo "   Q/DQ model: $ORT_QDQ"
echo "   FP32 model: $ORT_FP32"

# Summary: the numbers the tools printed above.
field() { sed -n "s/.*$1 \([0-9.]*%\).*/\1/p" "$OUT/compare.txt" | head -1; }
FP32_ACC=$(field "accuracy FP32")
INT8_ACC=$(sed -n 's/.*accuracy FP32 [0-9.]*% INT8 \([0-9.]*%\).*/\1/p' "$OUT/compare.txt" | head -1)
SYM_ACC=$(sed -n 's/.*accuracy FP32 [0-9.]*% INT8 \([0-9.]*%\).*/\1/p' "$OUT/compare_symmetric.txt" | head -1)
AGREE=$(field "top-1 agreement")
WORST=$(awk '/^tensors \(worst SQNR first\)/ {getline; getline; print $NF " (SQNR " $1 " dB)"; exit}' "$OUT/compare.txt")
ort_acc() { sed -n 's/^accuracy=\([0-9.]*%\).*/\1/p' <<<"$1"; }
# "  (-4.55 points)": B - A for two percentages, nothing when either is missing.
drop() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="${1%\%}" -v b="${2%\%}" 'BEGIN { printf "  (%+.2f points)", b - a }'; true; }
END=$(date +%s.%N)
printf '\n== summary: 10,000 Fashion-MNIST test images, table from 500 training images\n'
printf '   %-42s %s\n' "FP32, calib8" "${FP32_ACC:-?}" \
  "INT8, calib8 (asymmetric u8, the default)" "${INT8_ACC:-?}$(drop "$FP32_ACC" "$INT8_ACC")" \
  "INT8, calib8 (symmetric, TensorRT mode)" "${SYM_ACC:-?}$(drop "$FP32_ACC" "$SYM_ACC")" \
  "top-1 agreement FP32 / INT8, calib8" "${AGREE:-?}" \
  "FP32, onnxruntime" "$(ort_acc "$ORT_FP32")" \
  "INT8 Q/DQ export, onnxruntime" "$(ort_acc "$ORT_QDQ")$(drop "$(ort_acc "$ORT_FP32")" "$(ort_acc "$ORT_QDQ")")" \
  "worst layer" "${WORST:-?}"
printf '\n   files written:\n'
for f in "$TABLE" "$TABLE.calib8.json" "$STATS" "$OUT/compare.txt" "$OUT/compare_symmetric.txt" "$REPORT" "$QDQ"; do
  printf '     %-44s %s\n' "$f" "$(stat -c %s "$f") bytes"
done
awk -v a="$START" -v b="$END" 'BEGIN { printf "\n   demo time after the build: %.1f s\n", b - a }'
