#!/usr/bin/env bash
# tests/cli/partial_cli_test.sh CALIB8 SOURCE_DIR — partial calibration (issue 12, docs/custom-layers.md).
#  1. On the bundled Fashion-MNIST model (no custom op): for every method and every split tensor T,
#     `calibrate --until T` + `run --dump T` + `calibrate --from T=dump` + `merge` is the full
#     table, and each part's sidecar ranges are the full sidecar's: byte for byte, or within
#     rounding where the CPU's kernels sum in another order (see close() below).
#  2. A model with a custom-domain op (com.example::Mish, made here with the onnx package): `info`
#     lists it with its node and tensors, `calibrate` fails naming it and the cut, and the two
#     parts around it (Mish's output computed with numpy as the user's runtime would) merge into a
#     table that covers every tensor.
set -uo pipefail
CALIB8="$1"; SRC="$2"
PY=/usr/bin/python3
MODEL="$SRC/models/fashion_mnist_cnn.onnx"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok() { pass=$((pass+1)); echo "ok   $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; [ -f "$T/err" ] && head -5 "$T/err"; }

$PY - "$T" <<'PYEOF'
import gzip, sys, numpy as np
d = sys.argv[1]
raw = gzip.open("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").read()
x = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 1, 28, 28)[:48].astype(np.float32) / 255
np.save(f"{d}/x.npy", x)
PYEOF

# Every float tensor the full table holds, minus the input and the final output: the split points.
"$CALIB8" calibrate "$MODEL" --data "$T/x.npy" -o "$T/full.cache" --quiet >/dev/null 2>"$T/err" \
  || { bad "full calibration"; exit 1; }
mapfile -t SPLITS < <(tail -n +2 "$T/full.cache" | sed 's/: [0-9a-f]*$//' | sed '1d;$d')
[ "${#SPLITS[@]}" -ge 5 ] && ok "split points: ${#SPLITS[@]}" || bad "split points: ${#SPLITS[@]}"

# The sidecar's per-tensor asymmetric ranges and amax bits, name -> "amax_bits lo_bits hi_bits".
ranges() { $PY -c '
import json, sys
for t in json.load(open(sys.argv[1]))["tensors"]:
    a = t.get("asym") or {}
    print(t["name"], t["amax_bits"], a.get("lo_bits"), a.get("hi_bits"))' "$1" | sort; }

# Not byte for byte but within rounding: the part runs compute the split tensors with other
# kernels (a graph output is NCHW, a tensor between convolutions NHWC), which on some CPUs (AVX2
# oneDNN) sum in another order, so activations differ in their last bits. Then every amax must be
# within 0.05 histogram bin (absmax/2048) of the full table's, and every asymmetric lo/hi within
# 1e-4 relative (of max(|lo|, |hi|)): a wrong cut or a lost sample moves them by far more.
close() { $PY - "$1" "$2" <<'PYEOF'
import json, struct, sys
def table(p):
    return {l.rsplit(": ", 1)[0]: 127 * struct.unpack(">f", bytes.fromhex(l.rsplit(": ", 1)[1].zfill(8)))[0]
            for l in open(p).read().splitlines()[1:]}
def side(p):
    return {t["name"]: t for t in json.load(open(p + ".calib8.json"))["tensors"]}
a, b, sa, sb = table(sys.argv[1]), table(sys.argv[2]), side(sys.argv[1]), side(sys.argv[2])
assert a.keys() == b.keys() and sa.keys() == sb.keys(), "different tensors"
bins = max(abs(a[k] - b[k]) / (sb[k]["absmax"] / 2048) for k in a if sb[k]["absmax"] > 0)
rel = 0.0
for k, t in sb.items():
    x, y = sa[k].get("asym"), t.get("asym")
    x, y = [{e: float(r[e]) for e in ("lo", "hi")} if r else None for r in (x, y)]
    if (x is None) != (y is None):
        sys.exit(f"{k}: asymmetric range in one sidecar only")
    if x:
        span = max(abs(y["lo"]), abs(y["hi"]), 1e-30)
        rel = max(rel, abs(x["lo"] - y["lo"]) / span, abs(x["hi"] - y["hi"]) / span)
print(f"max {bins:.4f} bin {rel:.1e} rel")
sys.exit(0 if bins <= 0.05 and rel <= 1e-4 else 1)
PYEOF
}

for i in "${!SPLITS[@]}"; do
  s="${SPLITS[$i]}"
  "$CALIB8" run "$MODEL" --data "$T/x.npy" --dump "$T/d$i" --tensors "$s" >"$T/out" 2>"$T/err" \
    || { bad "run --dump $s"; continue; }
done
for m in entropy2-floored entropy2 entropy minmax percentile mse; do
  # Parts do not search ranges or scales by default: the full table to match has no search.
  "$CALIB8" calibrate "$MODEL" --data "$T/x.npy" --method $m --asym-search 0 --sym-search 0 -o "$T/full_$m.cache" --quiet >/dev/null 2>"$T/err" \
    || { bad "full $m"; continue; }
  ranges "$T/full_$m.cache.calib8.json" > "$T/full_$m.ranges"
  same=0; near=0; : >"$T/close_$m"
  for i in "${!SPLITS[@]}"; do
    s="${SPLITS[$i]}"; f="$T/d$i/$(echo "$s" | sed 's/[^A-Za-z0-9._-]/_/g').npy"
    "$CALIB8" calibrate "$MODEL" --data "$T/x.npy" --method $m --until "$s" -o "$T/a.cache" --quiet >/dev/null 2>"$T/err" \
      || { bad "$m --until $s"; continue; }
    "$CALIB8" calibrate "$MODEL" --method $m --from "$s=$f" -o "$T/b.cache" --quiet >/dev/null 2>"$T/err" \
      || { bad "$m --from $s"; continue; }
    "$CALIB8" merge "$T/a.cache" "$T/b.cache" -o "$T/ab.cache" >/dev/null 2>"$T/err" \
      || { bad "$m merge at $s"; continue; }
    # merge writes the merged sidecar from the parts' (table::MergeSidecars).
    ranges "$T/ab.cache.calib8.json" > "$T/ab.ranges" 2>/dev/null
    if cmp -s "$T/ab.cache" "$T/full_$m.cache" && cmp -s "$T/ab.ranges" "$T/full_$m.ranges"; then
      same=$((same+1))
    elif close "$T/ab.cache" "$T/full_$m.cache" >>"$T/close_$m"; then
      near=$((near+1))
    else
      echo "  $m split at $s differs:"; diff "$T/ab.cache" "$T/full_$m.cache" | head -6
      diff "$T/ab.ranges" "$T/full_$m.ranges" | head -6; tail -1 "$T/close_$m"
    fi
  done
  if [ "$same" -eq "${#SPLITS[@]}" ]; then
    ok "$m: every split ($same) merges into the full table, and its sidecar into the full ranges"
  elif [ $((same + near)) -eq "${#SPLITS[@]}" ]; then
    ok "$m: $same split(s) byte for byte, $near within rounding ($(sort -t' ' -k3 -g "$T/close_$m" | tail -1))"
  else
    bad "$m: $same of ${#SPLITS[@]} splits give the full table, $near within rounding"
  fi
done

# The merged sidecar belongs to the merged bytes: run --int8 uses its asymmetric ranges; with
# --model it carries the whole model's fingerprint (validate: fingerprints match); a part without
# its sidecar means no merged sidecar, said in a note.
"$CALIB8" merge "$T/a.cache" "$T/b.cache" -o "$T/ab.cache" --model "$MODEL" >/dev/null 2>"$T/err" \
  && "$CALIB8" plan "$MODEL" --table "$T/ab.cache" >"$T/out" 2>&1 && grep -q "asymmetric u8 activations" "$T/out" \
  && "$CALIB8" validate "$T/ab.cache" --model "$MODEL" >"$T/out" 2>&1 && grep -q "fingerprints match" "$T/out" \
  && ok "merged sidecar: run --int8 reads its ranges; --model fingerprint validates" \
  || bad "merged sidecar in use ($(cat "$T/err"))"
rm -f "$T/b.cache.calib8.json"
"$CALIB8" merge "$T/a.cache" "$T/b.cache" -o "$T/ab.cache" >/dev/null 2>"$T/err" \
  && [ ! -e "$T/ab.cache.calib8.json" ] && grep -q "no sidecar for .*b.cache.*has no sidecar" "$T/err" \
  && ok "a part without its sidecar: no merged sidecar, a note says why" || bad "merge without a part's sidecar ($(cat "$T/err"))"

# --- a custom layer ----------------------------------------------------------------------------
$PY - "$T" <<'PYEOF'
import sys, numpy as np, onnx
from onnx import helper, TensorProto, numpy_helper
d = sys.argv[1]
rng = np.random.default_rng(0)
w1 = numpy_helper.from_array(rng.standard_normal((4, 1, 3, 3)).astype(np.float32), "w1")
w2 = numpy_helper.from_array(rng.standard_normal((2, 4, 3, 3)).astype(np.float32), "w2")
nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
         helper.make_node("Mish", ["c1"], ["m1"], name="mish1", domain="com.example"),
         helper.make_node("Conv", ["m1", "w2"], ["y"], name="conv2", pads=[1, 1, 1, 1])]
g = helper.make_graph(nodes, "mish", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 8, 8])], [w1, w2])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.example", 1)]),
          f"{d}/mish.onnx")
np.save(f"{d}/mx.npy", rng.standard_normal((16, 1, 8, 8)).astype(np.float32))
PYEOF
M="$T/mish.onnx"
"$CALIB8" info "$M" >"$T/info" 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "com.example::Mish (domain 'com.example', op type 'Mish'): 1 node(s)" "$T/info" \
  && grep -q "node 'mish1': c1\[1,4,8,8\] -> m1" "$T/info" && grep -q -- "--until c1" "$T/info" \
  && ok "info lists the custom op, its node and tensors, and the cut" || { bad "info on a custom op (rc $rc)"; cat "$T/info"; }
"$CALIB8" info "$M" --json >"$T/info.json" 2>"$T/err"
$PY -c 'import json,sys; u=json.load(open(sys.argv[1]))["unknown_ops"]; assert u==[{"domain":"com.example","op_type":"Mish","nodes":[{"name":"mish1","inputs":["c1"],"outputs":["m1"]}]}], u' "$T/info.json" \
  && ok "info --json: unknown_ops" || bad "info --json: unknown_ops"
"$CALIB8" calibrate "$M" --data "$T/mx.npy" -o "$T/m.cache" --quiet >"$T/out" 2>"$T/err"; rc=$?
[ $rc -ne 0 ] && [ ! -e "$T/m.cache" ] && grep -q "node 'mish1': c1 -> m1" "$T/err" \
  && grep -q -- "--until c1" "$T/err" && grep -q -- "--from m1=SPEC" "$T/err" \
  && ok "calibrate refuses with the op, its node and the cut" || bad "calibrate on a custom op (rc $rc)"
"$CALIB8" calibrate "$M" --data "$T/mx.npy" --until c1 -o "$T/pa.cache" >"$T/out" 2>"$T/err" \
  && grep -q "left to the other part(s): m1, y" "$T/out" && ok "--until c1: coverage names m1, y" \
  || bad "--until c1 on the custom-op model"
"$CALIB8" run "$M" --data "$T/mx.npy" --dump "$T/md" --tensors c1 >"$T/out" 2>"$T/err" \
  && ok "run --dump c1 runs the part before the custom op" || bad "run --dump c1"
# The user's runtime: Mish(x) = x * tanh(softplus(x)) on the recorded c1.
$PY -c 'import numpy as np,sys; c=np.load(sys.argv[1]).astype(np.float64); np.save(sys.argv[2], (c*np.tanh(np.log1p(np.exp(c)))).astype(np.float32))' \
  "$T/md/c1.npy" "$T/m1.npy"
"$CALIB8" calibrate "$M" --from "m1=$T/m1.npy" -o "$T/pb.cache" >"$T/out" 2>"$T/err" \
  && grep -q "left to the other part(s): x, c1" "$T/out" && ok "--from m1=SPEC calibrates the part after" \
  || bad "--from m1"
"$CALIB8" merge "$T/pa.cache" "$T/pb.cache" -o "$T/pab.cache" >"$T/out" 2>"$T/err" \
  && [ "$(tail -n +2 "$T/pab.cache" | sed 's/:.*//' | tr '\n' ' ')" = "x c1 m1 y " ] \
  && ok "merge: x c1 m1 y" || bad "merged custom-op table: $(cat "$T/pab.cache" 2>/dev/null | tr '\n' ' ')"
# m1's amax from calib8 equals the amax of a calibration whose data are m1's values directly.
$PY -c 'import numpy as np,sys; np.save(sys.argv[2], np.load(sys.argv[1]))' "$T/m1.npy" "$T/m1b.npy"
"$CALIB8" calibrate "$M" --from "m1=$T/m1b.npy" --until m1 -o "$T/pm.cache" --quiet >"$T/out" 2>"$T/err"; rc=$?
[ $rc -ne 0 ] && grep -q "no node" "$T/err" && ok "--from T --until T: nothing to run, said so" || bad "--from m1 --until m1 (rc $rc)"

# Bad cuts: clear messages, exit 1, nothing written.
"$CALIB8" calibrate "$MODEL" --data "$T/x.npy" --until nope -o "$T/bad.cache" --quiet >"$T/out" 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q -- "--until 'nope'" "$T/err" && [ ! -e "$T/bad.cache" ] && ok "unknown --until tensor" || bad "unknown --until (rc $rc)"
"$CALIB8" calibrate "$MODEL" --from "${SPLITS[0]}" -o "$T/bad.cache" --quiet >"$T/out" 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "expected TENSOR=SPEC" "$T/err" && ok "--from without =SPEC" || bad "--from without SPEC (rc $rc)"
"$CALIB8" run "$MODEL" --data "$T/x.npy" --dump "$T/dd" --tensors logits_nope >"$T/out" 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "logits_nope" "$T/err" && ok "run --dump of an unknown tensor" || bad "run --dump unknown (rc $rc)"

echo "partial_cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
