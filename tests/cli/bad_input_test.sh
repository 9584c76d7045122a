#!/usr/bin/env bash
# tests/cli/bad_input_test.sh CALIB8 — bad models and inputs through the CLI: each must give one
# clear message naming the file (and node/tensor where it applies), exit code 1, no crash.
set -uo pipefail
CALIB8="$1"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
PY=/usr/bin/python3
pass=0; fail=0
NODE=/usr/share/libonnx-testdata/data/node

# expect NAME EXPECTED_SUBSTRING... -- COMMAND...
expect() {
  local name="$1"; shift
  local subs=()
  while [ "$1" != "--" ]; do subs+=("$1"); shift; done; shift
  "$@" >"$T/out" 2>"$T/err"; local rc=$?
  local ok=1
  [ $rc -eq 1 ] || { echo "FAIL $name: exit code $rc, expected 1"; ok=0; }
  grep -q "calib8: error:" "$T/err" || { echo "FAIL $name: no 'calib8: error:' line"; ok=0; }
  for s in "${subs[@]}"; do
    grep -qF -- "$s" "$T/err" || { echo "FAIL $name: message lacks '$s'"; ok=0; }
  done
  if grep -qE "terminate called|Segmentation|AddressSanitizer|runtime error" "$T/err"; then echo "FAIL $name: crashed"; ok=0; fi
  if [ $ok -eq 1 ]; then pass=$((pass+1)); echo "ok   $name: $(head -c 200 "$T/err" | head -1)"; else fail=$((fail+1)); cat "$T/err"; fi
}

head -c 120 "$NODE/test_conv_with_strides_padding/model.onnx" > "$T/truncated.onnx"
expect truncated-model "truncated.onnx" "not a valid ONNX model" -- "$CALIB8" info "$T/truncated.onnx"
head -c 4096 /dev/urandom > "$T/garbage.onnx"
expect garbage-model "garbage.onnx" -- "$CALIB8" info "$T/garbage.onnx"
: > "$T/empty.onnx"
expect empty-model "empty.onnx" "empty" -- "$CALIB8" info "$T/empty.onnx"
expect missing-file "no-such.onnx" "no such file" -- "$CALIB8" info "$T/no-such.onnx"
expect directory "is a directory" -- "$CALIB8" info "$T"

$PY - "$T" <<'PYEOF'
import sys, onnx, numpy as np
from onnx import helper, TensorProto, numpy_helper
d = sys.argv[1]
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
# A Conv whose weight initializer is missing.
g = helper.make_graph([helper.make_node("Conv", ["x", "w_missing"], ["y"], name="conv_a")], "g", [x], [y])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), f"{d}/missing_init.onnx")
# An op calib8 does not know.
g = helper.make_graph([helper.make_node("FrobnicateX", ["x"], ["t"], name="frob", domain="my.ops"),
                       helper.make_node("Relu", ["t"], ["y"], name="relu")], "g", [x], [y])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("my.ops", 1)]), f"{d}/unsupported.onnx")
# External data whose file is absent.
w = numpy_helper.from_array(np.ones((2, 2, 1, 1), np.float32), "w")
w.data_location = TensorProto.EXTERNAL
del w.external_data[:]
e = w.external_data.add(); e.key = "location"; e.value = "weights.bin"
w.ClearField("raw_data")
g = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], name="conv_b")], "g", [x], [y], [w])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), f"{d}/external.onnx")
# A good model for input errors.
g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="relu")], "g", [x], [y])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), f"{d}/relu.onnx")
np.save(f"{d}/wrong_shape.npy", np.zeros((1, 3, 4, 4), np.float32))
np.save(f"{d}/good.npy", np.zeros((1, 2, 4, 4), np.float32))
PYEOF
expect missing-initializer "missing_init.onnx" "conv_a" "w_missing" -- "$CALIB8" info "$T/missing_init.onnx"
expect unsupported-op "unsupported.onnx" "my.ops::FrobnicateX" -- "$CALIB8" run "$T/unsupported.onnx" --input "$T/good.npy"
expect external-data-missing "external.onnx" "weights.bin" -- "$CALIB8" info "$T/external.onnx"
expect wrong-input-shape "input 'x'" "[1,2,4,4]" "[1,3,4,4]" -- "$CALIB8" run "$T/relu.onnx" --input "$T/wrong_shape.npy"
head -c 100 "$T/good.npy" > "$T/trunc.npy"
expect truncated-npy "trunc.npy" "truncated" -- "$CALIB8" run "$T/relu.onnx" --input "$T/trunc.npy"
expect unknown-input-name "'nope' is not an input" -- "$CALIB8" run "$T/relu.onnx" --input "nope=$T/good.npy" --input "x=$T/good.npy"
expect missing-input-file "missing.npy" "no such file" -- "$CALIB8" run "$T/relu.onnx" --input "$T/missing.npy"
# A header that claims 313 GB over a 64-byte payload: refused before any allocation (was a
# std::bad_alloc abort, issue 16).
/usr/bin/python3 -c "
h = \"{'descr': '<f4', 'fortran_order': False, 'shape': (100000000, 1, 28, 28), }\"
h = h + ' ' * (118 - len(h)) + '\\n'
open('$T/bomb.npy', 'wb').write(b'\\x93NUMPY\\x01\\x00' + len(h).to_bytes(2, 'little') + h.encode() + bytes(64))"
expect npy-size-bomb "bomb.npy" "the header (float32[100000000,1,28,28]) needs" -- "$CALIB8" run "$T/relu.onnx" --input "$T/bomb.npy"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
