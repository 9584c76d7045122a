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

# --- issue 16: every size read from a file is checked before anything is allocated ---------------
$PY - "$T" <<'PYEOF'
import sys, struct, zlib, gzip, json, onnx, numpy as np
from onnx import helper, TensorProto, numpy_helper
d = sys.argv[1]
def npy(path, shape_text):
    h = "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }" % shape_text
    h = h + ' ' * (118 - len(h)) + '\n'
    open(path, 'wb').write(b'\x93NUMPY\x01\x00' + len(h).to_bytes(2, 'little') + h.encode() + bytes(64))
npy(f"{d}/digits.npy", "(123456789012345678901234, 1)")          # past int64
npy(f"{d}/overflow.npy", "(4294967296, 4294967296, 4)")          # product past 2^62
npy(f"{d}/badshape.npy", "[1, 2]")
# A TensorProto claiming 10^12 floats with 8 bytes of raw data; one whose dims overflow.
t = TensorProto(); t.name = "x"; t.data_type = TensorProto.FLOAT; t.dims.extend([1000000, 1000000]); t.raw_data = bytes(8)
open(f"{d}/bomb.pb", "wb").write(t.SerializeToString())
t.ClearField("dims"); t.dims.extend([2**40, 2**40, 2**40])
open(f"{d}/overflow.pb", "wb").write(t.SerializeToString())
# IDX: 2^31 images of 28x28 in a 28-byte file; the same header gzip-compressed; dims that overflow.
hdr = lambda dims: bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", x) for x in dims)
open(f"{d}/bomb-idx", "wb").write(hdr([2**31, 28, 28]) + bytes(12))
open(f"{d}/bomb-idx.gz", "wb").write(gzip.compress(hdr([2**31, 28, 28]) + bytes(12)))
open(f"{d}/overflow-idx", "wb").write(hdr([0xffffffff] * 5))
# Statistics with a num_bins no calibrator uses (a 10^9-bin reservation).
json.dump({"format": "calib8-stats", "version": 2, "num_bins": 1000000000, "samples": 1, "tensors": {}},
          open(f"{d}/bins.stats.json", "w"))
# ONNX: an initializer claiming 10^12 floats over 16 bytes; one with dims that overflow;
# external data that claims more than its file holds, and one whose location leaves the directory.
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
def model(path, w):
    g = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], name="conv_big")], "g", [x], [y], [w])
    open(path, "wb").write(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString())
w = TensorProto(); w.name = "w_big"; w.data_type = TensorProto.FLOAT; w.dims.extend([1000000, 1000000, 1, 1]); w.raw_data = bytes(16)
model(f"{d}/init-bomb.onnx", w)
w.ClearField("dims"); w.dims.extend([2**40, 2**40, 2**40, 1])
model(f"{d}/init-overflow.onnx", w)
w = TensorProto(); w.name = "w_ext"; w.data_type = TensorProto.FLOAT; w.dims.extend([1000000, 1000000, 1, 1])
w.data_location = TensorProto.EXTERNAL
e = w.external_data.add(); e.key = "location"; e.value = "ext.bin"
open(f"{d}/ext.bin", "wb").write(bytes(64))
model(f"{d}/ext-bomb.onnx", w)
w.external_data[0].value = "../escape.bin"
model(f"{d}/ext-escape.onnx", w)
# A PNG whose header says 12000 x 12000 pixels (432 MB decoded, 1.7 GB as floats) in 60 bytes:
# within stb_image's own limit (1 GiB), above calib8's (2^26 pixels).
def chunk(t, b): return struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b) & 0xffffffff)
import os; os.makedirs(f"{d}/bigimg", exist_ok=True)
open(f"{d}/bigimg/a.png", "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 12000, 12000, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))
# NaN images: calibrate refuses them.
np.save(f"{d}/nan.npy", np.full((2, 2, 4, 4), np.nan, np.float32))
PYEOF
expect npy-dim-digits "digits.npy" "19 or more digits" -- "$CALIB8" run "$T/relu.onnx" --input "$T/digits.npy"
expect npy-dim-digits-calibrate "digits.npy" "19 or more digits" -- "$CALIB8" calibrate "$T/relu.onnx" --data "$T/digits.npy" -o "$T/t.cache"
expect npy-shape-overflow "overflow.npy" "'shape'" "overflows" -- "$CALIB8" run "$T/relu.onnx" --input "$T/overflow.npy"
expect npy-shape-overflow-calibrate "overflow.npy" "overflows" -- "$CALIB8" calibrate "$T/relu.onnx" --data "$T/overflow.npy" -o "$T/t.cache"
expect npy-shape-not-tuple "badshape.npy" "'shape'" -- "$CALIB8" run "$T/relu.onnx" --input "$T/badshape.npy"
expect npy-size-bomb-calibrate "bomb.npy" "truncated" -- "$CALIB8" calibrate "$T/relu.onnx" --data "$T/bomb.npy" -o "$T/t.cache"
expect pb-size-bomb "bomb.pb" "tensor 'x'" "[1000000,1000000]" "holds 8 bytes" -- "$CALIB8" run "$T/relu.onnx" --input "$T/bomb.pb"
expect pb-size-bomb-calibrate "bomb.pb" "tensor 'x'" -- "$CALIB8" calibrate "$T/relu.onnx" --data "$T/bomb.pb" -o "$T/t.cache"
expect pb-dims-overflow "overflow.pb" "tensor 'x'" "overflows" -- "$CALIB8" run "$T/relu.onnx" --input "$T/overflow.pb"
expect idx-size-bomb "bomb-idx" "truncated" "the file has 28" -- "$CALIB8" calibrate "$T/relu.onnx" --data "idx:$T/bomb-idx" -o "$T/t.cache"
expect idx-gz-size-bomb "bomb-idx.gz" "deflate expands at most 1032:1" -- "$CALIB8" calibrate "$T/relu.onnx" --data "idx:$T/bomb-idx.gz" -o "$T/t.cache"
expect idx-dims-overflow "overflow-idx" "overflow" -- "$CALIB8" calibrate "$T/relu.onnx" --data "idx:$T/overflow-idx" -o "$T/t.cache"
expect stats-num-bins "bins.stats.json" "num_bins" -- "$CALIB8" merge-stats "$T/bins.stats.json" "$T/bins.stats.json" -o "$T/m.json"
expect initializer-size-bomb "init-bomb.onnx" "w_big" "holds 16 bytes" -- "$CALIB8" info "$T/init-bomb.onnx"
expect initializer-overflow "init-overflow.onnx" "w_big" "overflows" -- "$CALIB8" info "$T/init-overflow.onnx"
expect external-data-size-bomb "ext-bomb.onnx" "w_ext" "has 64 bytes" -- "$CALIB8" info "$T/ext-bomb.onnx"
expect external-data-escape "ext-escape.onnx" "w_ext" "leaves the model's directory" -- "$CALIB8" info "$T/ext-escape.onnx"
expect image-pixel-bomb "a.png" "12000 x 12000" "limit" -- "$CALIB8" calibrate "$T/relu.onnx" --data "images:$T/bigimg@resize=4" -o "$T/t.cache"
expect nan-images "tensor 'x'" "NaN found" -- "$CALIB8" calibrate "$T/relu.onnx" --data "$T/nan.npy" -o "$T/t.cache"
[ ! -e "$T/t.cache" ] && [ ! -e "$T/m.json" ] || { echo "FAIL: a refused run wrote its output"; fail=$((fail+1)); }

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
