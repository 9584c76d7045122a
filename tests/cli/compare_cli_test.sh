#!/usr/bin/env bash
# tests/cli/compare_cli_test.sh CALIB8 SOURCE_DIR — `calib8 compare` and `calib8 sensitivity` end
# to end on the bundled Fashion-MNIST model: an entropy2 and a minmax table calibrated on 300
# training images, compared on 500 test images with labels (accuracy, agreement, finite and
# ordered SQNR, JSON, HTML report), a sensitivity plan that compare confirms, and bad input.
set -uo pipefail
CALIB8="$1"; SRC="$2"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
FM=/usr/share/datasets/fashion-mnist
[ -f "$FM/t10k-images-idx3-ubyte.gz" ] || { echo "skip: no $FM"; exit 77; }
W="$(mktemp -d)"; trap 'rm -rf "$W"' EXIT
M="$SRC/models/fashion_mnist_cnn.onnx"
TRAIN="idx:$FM/train-images-idx3-ubyte.gz"
TEST="idx:$FM/t10k-images-idx3-ubyte.gz"; LABELS="idx:$FM/t10k-labels-idx1-ubyte.gz"
fail=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi; }
json() { "$PY" -c "import json,sys; j=json.load(open('$1')); o=j['outputs'][0]; t=j['tensors']; sys.exit(0 if ($2) else 1)"; }

# The methods' own scales (--sym-search 0): the entropy2 table must clip the first ReLU, the
# failure the sensitivity plan below repairs (the default search would already have fixed it).
"$CALIB8" calibrate "$M" --data "$TRAIN" --max-samples 300 --method entropy2 --sym-search 0 -o "$W/T.cache" -q >/dev/null 2>&1
"$CALIB8" calibrate "$M" --data "$TRAIN" --max-samples 300 --method minmax --sym-search 0 -o "$W/M.cache" -q \
  >/dev/null 2>&1
check "calibrated entropy2 and minmax" "[ -s '$W/T.cache' ] && [ -s '$W/M.cache' ]"

# Sections 1-2 test the symmetric s8 path (--symmetric: TensorRT mode, the tables' own scales);
# the asymmetric default (the sidecars' ranges) is checked after them.
for t in M T; do
  "$CALIB8" compare "$M" --table "$W/$t.cache" --data "$TEST" --labels "$LABELS" --max-samples 500 \
    --symmetric --json > "$W/$t.json" 2> "$W/$t.err"
  check "compare $t --json exit 0" "[ $? -eq 0 ]"
  check "compare $t: 500 samples, classifier output" "json '$W/$t.json' \"j['samples']==500 and o['classifier'] and o['labelled']==500\""
  check "compare $t: SQNR finite and sorted worst first" "json '$W/$t.json' \"len(t)>=8 and all(isinstance(x['sqnr_db'],float) for x in t) and all(a['sqnr_db']<=b['sqnr_db'] for a,b in zip(t,t[1:]))\""
  check "compare $t: 8-bit tensors dequantized" "json '$W/$t.json' \"any(x['held']=='s8' for x in t) and all(0<=x['saturation_rate']<=1 for x in t if x['held']=='s8')\""
  "$PY" -c "import json; o=json.load(open('$W/$t.json'))['outputs'][0]; print('$t: agreement %.2f%%, accuracy fp32 %.2f%% int8 %.2f%%, logits SQNR %.2f dB' % (100*o['top1_agreement'], 100*o['fp32_accuracy'], 100*o['int8_accuracy'], o['sqnr_db']))"
done
check "minmax: INT8 accuracy within 1 point of FP32" "json '$W/M.json' \"abs(o['fp32_accuracy']-o['int8_accuracy'])<=0.01\""
check "minmax: top-1 agreement > 98%" "json '$W/M.json' \"o['top1_agreement']>0.98\""
check "entropy2 agrees less than minmax (clips the first ReLU)" "\"$PY\" -c \"import json,sys; a=json.load(open('$W/T.json'))['outputs'][0]['top1_agreement']; b=json.load(open('$W/M.json'))['outputs'][0]['top1_agreement']; sys.exit(0 if a<b else 1)\""

"$CALIB8" compare "$M" --table "$W/M.cache" --data "$TEST" --labels "$LABELS" --max-samples 100 \
  --report "$W/r.html" > "$W/text.txt" 2>&1
check "compare text + --report exit 0" "[ $? -eq 0 ]"
check "text lists outputs and tensors" "grep -q 'top-1 agreement' '$W/text.txt' && grep -q 'worst SQNR first' '$W/text.txt'"
check "report written, self-contained" "[ -s '$W/r.html' ] && ! grep -q 'http://\|https://' '$W/r.html'"

# The asymmetric default on the same entropy2 table: u8 with zero points, within 0.3 point of FP32.
"$CALIB8" compare "$M" --table "$W/T.cache" --data "$TEST" --labels "$LABELS" --max-samples 500 \
  --json > "$W/A.json" 2> "$W/A.err"
check "compare (asymmetric default): says so, u8 tensors, accuracy within 0.3 point of FP32" \
  "grep -q 'asymmetric u8 activations' '$W/A.err' && json '$W/A.json' \"any(x['held']=='u8' for x in t) and abs(o['fp32_accuracy']-o['int8_accuracy'])<=0.003\""

# sensitivity on the entropy2 table (symmetric); compare confirms the plan.
"$CALIB8" sensitivity "$M" --table "$W/T.cache" --data "$TEST" --max-drop 0.5 --symmetric -o "$W/plan.txt" \
  > "$W/sens.txt" 2> "$W/sens.err"
check "sensitivity exit 0" "[ $? -eq 0 ]"
cat "$W/sens.txt"; cat "$W/plan.txt"
check "plan has tensor lines and comments" "grep -q '^#' '$W/plan.txt' && grep -qv '^#' '$W/plan.txt'"
"$CALIB8" plan "$M" --table "$W/T.cache" --keep-fp32 "$W/plan.txt" > /dev/null 2>&1
check "plan accepts the file" "[ $? -eq 0 ]"
"$CALIB8" run "$M" --int8 --table "$W/T.cache" --keep-fp32 "$W/plan.txt" --symmetric \
  --input "$SRC/models/fashion_mnist_test8.npy" > /dev/null 2>&1
check "run accepts the file" "[ $? -eq 0 ]"
"$CALIB8" compare "$M" --table "$W/T.cache" --data "$TEST" --max-samples 200 --keep-fp32 "$W/plan.txt" \
  --symmetric --json > "$W/K.json" 2>/dev/null
check "compare with the plan exit 0" "[ $? -eq 0 ]"
if grep -q 'cannot be met' "$W/sens.txt"; then
  echo "note: sensitivity says the bound cannot be met"
else
  check "compare confirms the bound (agreement >= 99.5% on the same 200 samples)" "json '$W/K.json' \"o['top1_agreement']>=0.995\""
fi

# Ranges before FP32 (--table-out): the entropy2 table clips the first ReLU (amax ~0.6, max ~7.3);
# sensitivity tries other ranges for each layer's activations before keeping the layer FP32 and
# writes the table with the ranges that helped. Its plan then keeps fewer layers FP32, compare on
# the new table confirms the bound, and only the entries it names changed.
"$CALIB8" sensitivity "$M" --table "$W/T.cache" --data "$TEST" --max-drop 0.5 --symmetric \
  -o "$W/plan2.txt" --table-out "$W/T2.cache" > "$W/sens2.txt" 2>/dev/null
check "sensitivity --table-out exit 0, wrote table + sidecar" "[ $? -eq 0 ] && [ -s '$W/T2.cache' ] && [ -s '$W/T2.cache.calib8.json' ]"
cat "$W/sens2.txt" | grep -E '^(range|plan):'
check "a range changed instead of an FP32 layer" "grep -q '^range: ' '$W/sens2.txt' && [ \$(grep -cv '^#' '$W/plan2.txt') -lt \$(grep -cv '^#' '$W/plan.txt') ]"
check "only the named entries changed" "diff '$W/T.cache' '$W/T2.cache' | grep '^>' | cut -d: -f1 | sed 's/^> //' | sort > '$W/chg.txt'; grep '^range: ' '$W/sens2.txt' | cut -d' ' -f2 | sort | diff - '$W/chg.txt'"
"$CALIB8" compare "$M" --table "$W/T2.cache" --data "$TEST" --max-samples 200 --keep-fp32 "$W/plan2.txt" \
  --symmetric --json > "$W/K2.json" 2>/dev/null
check "compare confirms the plan with the new ranges (agreement >= 99.5%)" "json '$W/K2.json' \"o['top1_agreement']>=0.995\""
# Asymmetric: a sidecar range cut to a tenth (as a bad calibration would) is found and widened.
cp "$W/T.cache" "$W/C.cache"
cut=$("$PY" - "$W/T.cache.calib8.json" "$W/C.cache.calib8.json" <<'PYEOF'
import json, struct, sys
j = json.load(open(sys.argv[1]))
for t in j["tensors"]:
    if t["name"] == "/features/features.6/Relu_output_0":
        v = float(t["asym"]["hi"]) / 10
        t["asym"]["hi"] = repr(v)
        t["asym"]["hi_bits"] = "%08x" % struct.unpack("<I", struct.pack("<f", v))[0]
        print("%.4f" % v)
j["table_file"] = "C.cache"
json.dump(j, open(sys.argv[2], "w"), indent=1)
PYEOF
)
"$CALIB8" compare "$M" --table "$W/C.cache" --data "$TEST" --max-samples 200 --json > "$W/C.json" 2>/dev/null
"$CALIB8" sensitivity "$M" --table "$W/C.cache" --data "$TEST" --max-drop 0.5 -o "$W/plan3.txt" \
  --table-out "$W/C2.cache" > "$W/sens3.txt" 2>/dev/null
grep -E '^(range|plan):' "$W/sens3.txt"
check "asymmetric: the cut range ($cut) is widened, in the sidecar" "[ -n '$cut' ] && grep -q '^range: /features/features.6/Relu_output_0 \\[0.0000, $cut\\] -> ' '$W/sens3.txt' && cmp -s '$W/C.cache' '$W/C2.cache'"
"$CALIB8" compare "$M" --table "$W/C2.cache" --data "$TEST" --max-samples 200 --keep-fp32 "$W/plan3.txt" \
  --json > "$W/C2.json" 2> "$W/C2.err"
check "the new sidecar is this table's (asymmetric) and compare confirms the bound" "grep -q 'asymmetric u8' '$W/C2.err' && json '$W/C2.json' \"o['top1_agreement']>=0.995\" && json '$W/C.json' \"o['top1_agreement']<0.995\""

# bad input
printf 'TRT-8601-EntropyCalibration2\nconv_a: 3c010204\nrelu_b: 3c010204\n' > "$W/other.cache"
"$CALIB8" compare "$M" --table "$W/other.cache" --data "$TEST" --max-samples 10 > /dev/null 2> "$W/bad1.err"
check "table for another model: exit 1" "[ $? -eq 1 ]"
check "... says so" "grep -q 'another model' '$W/bad1.err'"
"$PY" -c "import numpy as np; np.save('$W/wrong.npy', np.zeros((4,3,32,32),np.float32))"
"$CALIB8" compare "$M" --table "$W/M.cache" --data "$W/wrong.npy" > /dev/null 2> "$W/bad2.err"
check "wrong data shape: exit 1" "[ $? -eq 1 ]"
check "... names the shapes" "grep -q 'expects' '$W/bad2.err'"
"$CALIB8" compare "$M" --table "$W/M.cache" --data "$TEST" --max-samples 10 --labels "$W/nope.txt" \
  > /dev/null 2> "$W/bad3.err"
check "missing labels file: exit 1" "[ $? -eq 1 ]"
"$CALIB8" sensitivity "$M" --table "$W/other.cache" --data "$TEST" --max-samples 10 > /dev/null 2>&1
check "sensitivity, table for another model: exit 1" "[ $? -eq 1 ]"
cat "$W/bad1.err" "$W/bad2.err" "$W/bad3.err"
exit $fail
