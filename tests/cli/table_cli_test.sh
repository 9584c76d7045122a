#!/usr/bin/env bash
# tests/cli/table_cli_test.sh — CTest script test for `calib8 inspect|convert|diff|merge|validate`
# on the real corpus and on bad inputs: exit codes, byte-exact round trips, atomic outputs (no
# partial file after a failure) and --model cross-checks on a tiny ONNX model made with
# python3-onnx. Usage: table_cli_test.sh CALIB8_BINARY SOURCE_DIR [PYTHON3]
set -u
CALIB8="$1"
SRC="$2"
PY="${3:-python3}"
CORPUS="$SRC/tests/data/calibration-tables"  # provenance: tests/data/README.md
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
FAILS=0
CHECKS=0

fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
# expect CODE CMD...: runs CMD, checks its exit code; output kept in $TMP/out, $TMP/err.
expect() {
  local want="$1"; shift
  CHECKS=$((CHECKS + 1))
  "$@" >"$TMP/out" 2>"$TMP/err"
  local got=$?
  if [ "$got" != "$want" ]; then
    fail "exit $got (wanted $want): $*"; sed 's/^/  | /' "$TMP/err" | head -5
  fi
}
contains() {  # contains FILE TEXT
  CHECKS=$((CHECKS + 1))
  grep -qF -- "$2" "$1" || { fail "'$2' not in $1:"; sed 's/^/  | /' "$1" | head -5; }
}
no_temp_files() {
  CHECKS=$((CHECKS + 1))
  if ls -A "$1" | grep -q '\.tmp\.'; then fail "temporary file left in $1"; fi
}

[ -d "$CORPUS" ] || { echo "corpus not found: $CORPUS"; exit 1; }

# 1. Every corpus file: inspect works; TensorRT-format files convert trt -> trt byte-identically,
#    and through calib8 JSON and back.
for f in "$CORPUS"/*; do
  name="$(basename "$f")"
  [ "$name" = PROVENANCE.md ] && continue
  expect 0 "$CALIB8" inspect "$f"
  case "$name" in ncnn-*|ort-*) continue ;; esac
  expect 0 "$CALIB8" convert "$f" --to trt -o "$TMP/rt.cache"
  CHECKS=$((CHECKS + 1)); cmp -s "$f" "$TMP/rt.cache" || fail "trt round trip changed $name"
  expect 0 "$CALIB8" convert "$f" --to json -o "$TMP/rt.json"
  expect 0 "$CALIB8" convert "$TMP/rt.json" --to trt -o "$TMP/rt2.cache"
  CHECKS=$((CHECKS + 1)); cmp -s "$f" "$TMP/rt2.cache" || fail "trt->json->trt changed $name"
done

# 2. inspect explains the hex and the internal names.
expect 0 "$CALIB8" inspect "$CORPUS/trt7000-entropy2-unnamed-layer-yolov3-deepstream-sdk.table"
contains "$TMP/out" "TensorRT 7.0.0"
contains "$TMP/out" "(Unnamed Layer* N) [Type]_output"
expect 0 "$CALIB8" inspect "$CORPUS/trt101000-entropy2-bert-inf-values.cache" --json
contains "$TMP/out" '"inf"'
"$PY" -c "import json,sys; json.load(open(sys.argv[1]))" "$TMP/out" || fail "inspect --json is not JSON"

# 3. ncnn and ORT to TensorRT and back, within the source precision.
N="$CORPUS/ncnn-caffeint8tool-2018-squeezenet_v1_1.table"
expect 0 "$CALIB8" convert "$N" --to json -o "$TMP/n.json"
expect 0 "$CALIB8" convert "$TMP/n.json" --to ncnn -o "$TMP/n.table"
CHECKS=$((CHECKS + 1)); cmp -s "$N" "$TMP/n.table" || fail "ncnn -> json -> ncnn changed the bytes"
expect 0 "$CALIB8" convert "$N" --to trt -o "$TMP/n.cache"
contains "$TMP/err" "weight entries left out"
expect 0 "$CALIB8" convert "$TMP/n.cache" --to ncnn -o "$TMP/n2.table"
"$PY" - "$N" "$TMP/n2.table" <<'PY' || fail "ncnn -> trt -> ncnn lost precision"
import sys
def load(p):
    return {l.split()[0]: [float(v) for v in l.split()[1:]] for l in open(p) if l.strip()}
a, b = load(sys.argv[1]), load(sys.argv[2])
for k, v in b.items():
    assert abs(v[0] - a[k][0]) <= 2e-7 * abs(a[k][0]), (k, v, a[k])
assert len(b) == len([k for k in a if not k.endswith("_param_0")])
PY
O="$CORPUS/ort-writecaltable-resnet50v2-calibration.cache"
expect 0 "$CALIB8" convert "$O" --to trt -o "$TMP/o.cache" --trt-version 101200
contains "$TMP/o.cache" "TRT-101200-EntropyCalibration2"
expect 0 "$CALIB8" convert "$TMP/o.cache" --to range -o "$TMP/o.range"
"$PY" - "$O" "$TMP/o.range" <<'PY' || fail "ort -> trt -> range lost precision"
import sys
a = {l.split()[0]: float(l.split()[1]) for l in open(sys.argv[1])}
b = {l.rsplit(":", 1)[0]: float(l.rsplit(":", 1)[1]) for l in open(sys.argv[2])}
assert a.keys() == b.keys()
for k in a:
    assert abs(a[k] - b[k]) <= 2e-7 * abs(a[k]), (k, a[k], b[k])
PY
expect 0 "$CALIB8" convert "$TMP/o.range" --to range -o "$TMP/o2.range"
CHECKS=$((CHECKS + 1)); cmp -s "$TMP/o.range" "$TMP/o2.range" || fail "range round trip changed bytes"

# 4. Bad inputs: exit 1, file:line and the offending text; no output, no temp file left.
bad() {  # bad NAME CONTENT EXPECTED-TEXT...
  local name="$1" content="$2"; shift 2
  printf '%b' "$content" >"$TMP/$name"
  echo OLD >"$TMP/keep.out"
  expect 1 "$CALIB8" convert "$TMP/$name" --to trt -o "$TMP/keep.out"
  for t in "$@"; do contains "$TMP/err" "$t"; done
  CHECKS=$((CHECKS + 1)); [ "$(cat "$TMP/keep.out")" = OLD ] || fail "$name: output overwritten"
  no_temp_files "$TMP"
}
bad header.cache 'TRT8601-Entropy\nx: 1\n' "header.cache': line 1" "wrong header" "'TRT8601-Entropy'"
bad nosep.cache 'TRT-8601-EntropyCalibration2\nconv1 3c010a14\n' "line 2" "'conv1 3c010a14'"
bad hex.cache 'TRT-8601-EntropyCalibration2\nconv1_out: 3c01zz\n' "line 2" "tensor 'conv1_out'" "'3c01zz'"
bad long.cache 'TRT-8601-EntropyCalibration2\nc: 123456789\n' "line 2" "9 digits"
bad nan.cache 'TRT-8601-EntropyCalibration2\nc: 7fc00000\n' "line 2" "NaN"
bad neg.cache 'TRT-8601-EntropyCalibration2\nc: bf800000\n' "line 2" "negative"
bad dup.cache 'TRT-8601-EntropyCalibration2\nc: 1\nc: 2\n' "line 3" "duplicate"
bad empty.cache '' "empty.cache'" "empty"
bad garbage.bin '\x7fELF\x02\x01\x01\x00\x00\x00\x00' "garbage.bin': line 1" "binary data"
# --lenient goes on past duplicates and NaN and counts warnings.
printf 'TRT-8601-EntropyCalibration2\nc: 1\nc: 2\nn: 7fc00000\n' >"$TMP/len.cache"
expect 0 "$CALIB8" convert "$TMP/len.cache" --to trt -o "$TMP/len.out" --lenient
contains "$TMP/out" "2 warnings"
# A write that fails late (ncnn cannot hold names with spaces) leaves nothing behind.
expect 1 "$CALIB8" convert "$CORPUS/trt7000-entropy2-unnamed-layer-yolov3-deepstream-sdk.table" --to ncnn -o "$TMP/sp.table"
CHECKS=$((CHECKS + 1)); [ ! -e "$TMP/sp.table" ] || fail "partial ncnn output left"
no_temp_files "$TMP"
expect 1 "$CALIB8" convert "$N" --to trt -o "$TMP/no/such/dir/x.cache"
expect 1 "$CALIB8" convert "$N" --to ort-json -o "$TMP/x.json"
expect 1 "$CALIB8" inspect "$TMP/does-not-exist.cache"

# 5. diff and merge.
A="$CORPUS/trt8001-entropy2-resnet-pytorch-onnx.cache"
expect 0 "$CALIB8" diff "$A" "$A"
contains "$TMP/out" "identical"
head -5 "$A" >"$TMP/backbone.cache"
{ head -1 "$A"; tail -n +6 "$A"; } >"$TMP/head.cache"
expect 0 "$CALIB8" merge "$TMP/backbone.cache" "$TMP/head.cache" -o "$TMP/merged.cache"
CHECKS=$((CHECKS + 1)); cmp -s "$A" "$TMP/merged.cache" || fail "merge of split table differs"
expect 0 "$CALIB8" diff "$TMP/backbone.cache" "$A"
contains "$TMP/out" "only in B"
{ head -2 "$A"; echo "$(sed -n 2p "$A" | sed 's/: .*$//'): 3f800000"; } >"$TMP/c1.cache"
sed -i '3d' "$TMP/c1.cache"; { head -1 "$A"; echo "$(sed -n 2p "$A" | sed 's/: .*$//'): 3f800000"; } >"$TMP/c2.cache"
expect 1 "$CALIB8" merge "$A" "$TMP/c2.cache" -o "$TMP/m.cache"
contains "$TMP/err" "--on-conflict"
CHECKS=$((CHECKS + 1)); [ ! -e "$TMP/m.cache" ] || fail "failed merge wrote output"
expect 0 "$CALIB8" merge "$A" "$TMP/c2.cache" -o "$TMP/m.cache" --on-conflict max
contains "$TMP/m.cache" ": 3f800000"
expect 0 "$CALIB8" merge "$A" "$TMP/c2.cache" -o "$TMP/m.cache" --on-conflict first
CHECKS=$((CHECKS + 1)); cmp -s "$A" "$TMP/m.cache" || fail "--on-conflict first changed the table"

# 6. validate --model: coverage and stale fingerprints (model made with python3-onnx).
if "$PY" -c "import onnx" 2>/dev/null; then
  "$PY" - "$TMP/m.onnx" <<'PY'
import sys, onnx
from onnx import helper, TensorProto
w = helper.make_tensor("w", TensorProto.FLOAT, [4], [1.0, 2.0, 3.0, 4.0])
g = helper.make_graph(
    [helper.make_node("Mul", ["x", "w"], ["y"], name="mul"),
     helper.make_node("Relu", ["y"], ["z"], name="relu")],
    "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
    [helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 4])], [w],
    value_info=[helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), sys.argv[1])
PY
  printf 'TRT-8601-EntropyCalibration2\nx: 3c010a14\ny: 3c3604b4\nz: 3c3604b4\nghost: 1\n' >"$TMP/v.cache"
  expect 0 "$CALIB8" inspect "$TMP/v.cache" --model "$TMP/m.onnx"
  contains "$TMP/out" "Mul 'mul'"
  contains "$TMP/out" "100.0%"
  contains "$TMP/out" "ghost"
  expect 0 "$CALIB8" validate "$TMP/v.cache" --model "$TMP/m.onnx" --min-coverage 100
  contains "$TMP/err" "no sidecar"
  printf 'TRT-8601-EntropyCalibration2\nx: 3c010a14\n' >"$TMP/v1.cache"
  expect 1 "$CALIB8" validate "$TMP/v1.cache" --model "$TMP/m.onnx" --min-coverage 50
  contains "$TMP/err" "below --min-coverage 50"
  "$CALIB8" inspect "$TMP/v.cache" --model "$TMP/m.onnx" --json >"$TMP/insp.json"
  mk_sidecar() {  # mk_sidecar FINGERPRINT
    "$PY" - "$TMP/insp.json" "$TMP/v.cache.calib8.json" "$1" <<'PY'
import json, sys
fp = sys.argv[3] or json.load(open(sys.argv[1]))["model"]["fingerprint"]
json.dump({"format": "calib8.sidecar", "format_version": 1, "calib8_version": "0.1.0",
           "method": {"name": "entropy2", "parameters": {}},
           "model": {"file": "m.onnx", "fingerprint": fp}}, open(sys.argv[2], "w"))
PY
  }
  mk_sidecar ""
  expect 0 "$CALIB8" validate "$TMP/v.cache" --model "$TMP/m.onnx"
  contains "$TMP/out" "fingerprints match"
  # Re-saving the same model keeps the fingerprint.
  "$PY" -c "import onnx,sys; m=onnx.load(sys.argv[1]); m.producer_name='resaved'; m.graph.node[0].name='renamed'; onnx.save(m, sys.argv[2])" "$TMP/m.onnx" "$TMP/m2.onnx"
  expect 0 "$CALIB8" validate "$TMP/v.cache" --model "$TMP/m2.onnx"
  # Another weight is another model.
  "$PY" -c "import onnx,sys; from onnx import numpy_helper as nh; m=onnx.load(sys.argv[1]); m.graph.initializer[0].CopyFrom(nh.from_array(nh.to_array(m.graph.initializer[0])*2, 'w')); onnx.save(m, sys.argv[2])" "$TMP/m.onnx" "$TMP/m3.onnx"
  expect 1 "$CALIB8" validate "$TMP/v.cache" --model "$TMP/m3.onnx"
  contains "$TMP/err" "stale: model changed"
else
  echo "python3-onnx missing: validate --model checks skipped"
fi

echo "$CHECKS checks, $FAILS failures"
[ "$FAILS" = 0 ]
