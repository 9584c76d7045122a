#!/usr/bin/env bash
# tests/cli/plugin_cli_test.sh CALIB8 SOURCE_DIR PLUGIN — custom layers through the plugin C ABI
# (include/calib8/plugin.h, issue 12 item 2) with the example plugin (examples/plugins/mish,
# com.example::Mish): a model with a Mish node between two convolutions (examples/plugins/mish/
# make_model.py) is calibrated, planned, run in FP32 and INT8, compared and exported, all with
# `--plugin`. Golden values: Mish computed with numpy (float64) on calib8's own conv output.
# Bad plugins (not a library, no entry point) give exit 1 naming the file.
set -uo pipefail
CALIB8="$1"; SRC="$2"; PLUGIN="$3"
PY=/usr/bin/python3
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok() { pass=$((pass+1)); echo "ok   $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; [ -f "$T/err" ] && head -5 "$T/err"; }

$PY "$SRC/examples/plugins/mish/make_model.py" "$T" >/dev/null || { echo "FAIL make_model.py"; exit 1; }
M="$T/mish.onnx"

# 1. Without the plugin calib8 refuses the model naming the op; with it, it runs the op.
"$CALIB8" run "$M" -i "$T/x.npy" -o "$T/nop" >/dev/null 2>"$T/err"; rc=$?
[ $rc -ne 0 ] && grep -q "com.example::Mish" "$T/err" && ok "without --plugin: refused naming com.example::Mish" \
  || bad "without --plugin (rc $rc)"
"$CALIB8" --plugin "$PLUGIN" info "$M" >"$T/info" 2>"$T/err" && ! grep -q "unknown" "$T/info" \
  && ok "info with the plugin: no unknown op" || bad "info with the plugin"

# 2. FP32: Mish's output equals numpy's Mish of calib8's own conv output.
"$CALIB8" run "$M" --plugin "$PLUGIN" --data "$T/x.npy" --dump "$T/dump" --tensors c1,m1 >/dev/null 2>"$T/err" \
  && $PY -c '
import numpy as np, sys
c = np.load(sys.argv[1]).astype(np.float64); m = np.load(sys.argv[2])
want = c * np.tanh(np.log1p(np.exp(c)))
err = np.abs(m - want).max(); assert err <= 1e-5 * max(1.0, np.abs(want).max()), err
print("max |calib8 - numpy| %.2g over %d values" % (err, m.size))' "$T/dump/c1.npy" "$T/dump/m1.npy" >"$T/out" 2>>"$T/err" \
  && ok "FP32 Mish through the plugin == numpy: $(cat "$T/out")" || bad "FP32 Mish vs numpy"

# 3. calibrate: the plugin's output gets a table entry like any other tensor.
"$CALIB8" calibrate "$M" --plugin "$PLUGIN" --data "$T/calib.npy" -o "$T/t.cache" -q >/dev/null 2>"$T/err" \
  && grep -q "^m1: " "$T/t.cache" && grep -q "^c1: " "$T/t.cache" \
  && ok "calibrate: entries for c1 and the plugin output m1" || bad "calibrate with the plugin"

# 3b. Coverage counts the tensors after the custom op: shape inference leaves them untyped, and a
#     table with only x, c1 and y covers 3 of the model's 7 float tensors (validate once said 3 of 3).
{ head -1 "$T/t.cache"; grep -E "^(x|c1|y): " "$T/t.cache"; } >"$T/part.cache"
"$CALIB8" validate "$T/part.cache" --model "$M" --min-coverage 100 >"$T/val" 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "coverage: 3 of 7 float tensors" "$T/val" && grep -q "counted as float: m1, c2, g, f" "$T/val" \
  && "$CALIB8" validate "$T/t.cache" --model "$M" --min-coverage 100 >/dev/null 2>&1 \
  && ok "validate: a table missing the tensors after the custom op covers 3 of 7 (exit 1), the full one passes" \
  || { bad "validate coverage after a custom op (rc $rc)"; cat "$T/val"; }

# 4. plan and run --int8: the example plugin has a compute_int8, so Mish runs in 8 bits between
#    the INT8 convolutions (s8 at its borders); with --keep-fp32 it is an FP32 island again.
"$CALIB8" plan "$M" --plugin "$PLUGIN" --table "$T/t.cache" >"$T/plan" 2>"$T/err" \
  && grep -q "INT8.*Mish.*mish1.*compute_int8" "$T/plan" && grep -q "INT8.*conv2.*s8 in" "$T/plan" \
  && ok "plan: mish1 INT8 (compute_int8), conv2 reads it s8: $(grep -c '^INT8' "$T/plan") INT8 node(s)" || { bad "plan with the plugin"; cat "$T/plan"; }
echo mish1 >"$T/keep"
"$CALIB8" plan "$M" --plugin "$PLUGIN" --table "$T/t.cache" --keep-fp32 "$T/keep" >"$T/plan2" 2>"$T/err" \
  && grep -q "FP32.*Mish.*mish1" "$T/plan2" && grep -q "INT8.*conv2" "$T/plan2" \
  && ok "plan --keep-fp32 mish1: FP32 island between INT8 convs" || { bad "plan --keep-fp32 with the plugin"; cat "$T/plan2"; }
"$CALIB8" run "$M" --plugin "$PLUGIN" -i "$T/x.npy" -o "$T/fp32" >/dev/null 2>"$T/err" \
  && "$CALIB8" run "$M" --plugin "$PLUGIN" -i "$T/x.npy" -o "$T/int8" --int8 --table "$T/t.cache" >/dev/null 2>"$T/err" \
  && $PY -c '
import numpy as np, sys
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
rel = np.abs(a - b).max() / np.abs(a).max(); assert rel < 0.1, rel
print("INT8 vs FP32 max rel diff %.3f" % rel)' "$T/fp32/y.npy" "$T/int8/y.npy" >"$T/out" 2>>"$T/err" \
  && ok "run --int8 with the plugin: $(cat "$T/out")" || bad "run --int8 with the plugin"
"$CALIB8" compare "$M" --plugin "$PLUGIN" --table "$T/t.cache" --data "$T/x.npy" >"$T/cmp" 2>"$T/err" \
  && grep -q "m1" "$T/cmp" && ok "compare with the plugin (m1 compared)" || bad "compare with the plugin"

# 4b. compute_int8 is what runs: a model x -> Mish -> y with a hand-written TensorRT cache
#     (s_x = 3/127, s_y = 2.5/127) gives, element for element, numpy's
#     clip(round_half_even(mish(q_x s_x) / s_y)) s_y with q_x = clip(round_half_even(x / s_x)).
$PY - "$T" <<'PYEOF'
import sys, struct, numpy as np, onnx
from onnx import helper, TensorProto
d = sys.argv[1]
g = helper.make_graph([helper.make_node("Mish", ["x"], ["y"], name="mish", domain="com.example")], "mish_only",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 64])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 64])])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.example", 1)])
m.ir_version = 7; onnx.save(m, d + "/mish_only.onnx")
hexf = lambda f: "%x" % struct.unpack(">I", struct.pack(">f", np.float32(f)))[0]
open(d + "/mish_only.cache", "w").write("TRT-8601-EntropyCalibration2\nx: %s\ny: %s\n" % (hexf(3 / 127), hexf(2.5 / 127)))
np.save(d + "/x2.npy", (np.random.RandomState(5).randn(16, 64) * 1.5).astype(np.float32))
PYEOF
"$CALIB8" run "$T/mish_only.onnx" --plugin "$PLUGIN" -i "$T/x2.npy" -o "$T/m8" --int8 --table "$T/mish_only.cache" >/dev/null 2>"$T/err" \
  && $PY -c '
import numpy as np, sys
x = np.load(sys.argv[1]); y = np.load(sys.argv[2])
sx, sy = np.float32(3 / 127), np.float32(2.5 / 127)
qx = np.clip(np.rint(x / sx), -128, 127).astype(np.float32)
v = (qx * sx).astype(np.float64); mish = (v * np.tanh(np.log1p(np.exp(v)))).astype(np.float32)
want = np.clip(np.rint(mish / sy), -128, 127).astype(np.float32) * sy
steps = np.abs(y - want) / sy
assert steps.max() <= 1.0 + 1e-6 and (steps > 1e-6).mean() <= 0.01, (steps.max(), (steps > 1e-6).mean())
print("%d of %d values equal numpy, max %.0f step" % ((steps <= 1e-6).sum(), y.size, steps.max()))' "$T/x2.npy" "$T/m8/y.npy" >"$T/out" 2>>"$T/err" \
  && ok "compute_int8 through the INT8 runtime == numpy: $(cat "$T/out")" || bad "compute_int8 vs numpy"

# 4c. compare reads the plugin output back with the plugin's own output scale: its per-tensor
#     SQNR for y equals numpy's on the FP32 and INT8 runs (it once used x's scale: 13.78 dB
#     instead of 14.10).
"$CALIB8" run "$T/mish_only.onnx" --plugin "$PLUGIN" -i "$T/x2.npy" -o "$T/m32" >/dev/null 2>"$T/err" \
  && "$CALIB8" compare "$T/mish_only.onnx" --plugin "$PLUGIN" --table "$T/mish_only.cache" --data "$T/x2.npy" --json >"$T/cmp.json" 2>"$T/err" \
  && $PY -c '
import json, sys, numpy as np
r = json.load(open(sys.argv[1])); a = np.load(sys.argv[2]).astype(np.float64); b = np.load(sys.argv[3]).astype(np.float64)
want = 10 * np.log10((a * a).sum() / ((a - b) ** 2).sum())
got = [t["sqnr_db"] for t in r["tensors"] if t["name"] == "y"][0]
assert abs(got - want) < 0.01, (got, want)
print("%.2f dB, numpy %.2f dB" % (got, want))' "$T/cmp.json" "$T/m32/y.npy" "$T/m8/y.npy" >"$T/out" 2>>"$T/err" \
  && ok "compare: the INT8 plugin output's SQNR with its own scale: $(cat "$T/out")" || { bad "compare of the INT8 plugin output"; cat "$T/err"; }

# 5. export-qdq --target tensorrt keeps the custom node and writes input -> Q -> Mish -> DQ (the
#    form TensorRT accepts for an INT8 plugin; no Q -> DQ in front of it, no Q after it), and
#    import-qdq gives back the table's entries for c1 and m1.
"$CALIB8" export-qdq "$M" --plugin "$PLUGIN" --table "$T/t.cache" -o "$T/q.onnx" -q 2>"$T/err" \
  && $PY -c '
import onnx, sys
m = onnx.load(sys.argv[1]); prod = {o: n for n in m.graph.node for o in n.output}
mish = [n for n in m.graph.node if n.op_type == "Mish"]
assert len(mish) == 1 and mish[0].domain == "com.example", [n.op_type for n in m.graph.node]
src = prod[mish[0].input[0]]
assert src.op_type == "QuantizeLinear" and src.input[0] == "c1", (src.op_type, src.input)
users = [n for n in m.graph.node if mish[0].output[0] in n.input]
assert [n.op_type for n in users] == ["DequantizeLinear"] and users[0].output[0] == "m1", [n.op_type for n in users]
conv2 = [n for n in m.graph.node if n.name == "conv2"][0]
assert conv2.input[0] == "m1", conv2.input
outs = {o.name for o in m.graph.output}
dead = [n.name for n in m.graph.node if n.op_type == "DequantizeLinear" and n.output[0] not in outs
        and not any(n.output[0] in x.input for x in m.graph.node)]
assert not dead, dead  # c1 once kept a Q -> DQ whose DQ nothing read
print("c1 -> Q -> Mish -> DQ -> m1 -> conv2, no dead DQ")' "$T/q.onnx" >"$T/out" 2>>"$T/err" \
  && ok "export-qdq: $(cat "$T/out")" || bad "export-qdq with the plugin"
"$CALIB8" import-qdq "$T/q.onnx" -o "$T/back.cache" >/dev/null 2>"$T/err" \
  && for t in c1 m1; do grep "^$t: " "$T/t.cache"; done >"$T/want" && for t in c1 m1; do grep "^$t: " "$T/back.cache"; done >"$T/got" \
  && [ -s "$T/want" ] && cmp -s "$T/want" "$T/got" \
  && ok "import-qdq: c1 and m1 come back with the table's bits" || bad "import-qdq after the plugin export"

# 6. Bad plugins: exit 1 naming the file.
echo "not a library" >"$T/fake.so"
"$CALIB8" --plugin "$T/fake.so" info "$M" >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "plugin '$T/fake.so': cannot be loaded" "$T/err" && ok "not a library: exit 1 naming it" \
  || bad "not a library (rc $rc)"
LIBZ=$(ldconfig -p | sed -n 's/.*libz.so.1 .*=> //p' | head -1)
"$CALIB8" --plugin "$LIBZ" info "$M" >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "no function 'calib8_plugin_get'" "$T/err" && ok "a library without the entry point: exit 1" \
  || bad "library without entry point (rc $rc)"
"$CALIB8" --plugin "$PLUGIN" --plugin "$PLUGIN" info "$M" >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "already registered" "$T/err" && ok "the same op twice: exit 1, already registered" \
  || bad "loaded twice (rc $rc)"

echo "passed $pass, failed $fail"
[ $fail -eq 0 ]
