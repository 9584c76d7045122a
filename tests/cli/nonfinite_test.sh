#!/usr/bin/env bash
# tests/cli/nonfinite_test.sh CALIB8 SOURCE_DIR — numbers that are not numbers (issue 16 item 5),
# in every subcommand that reads them: run --int8, plan, compare, sensitivity, export-qdq.
#  - table scales: NaN and negative are refused by the table reader, inf by the INT8 lowering and
#    the Q/DQ export (exit 1, naming the table file and the tensor); 0 and denormal scales leave
#    that tensor FP32 (plan: reason 'amax 0'; export-qdq: a warning, no Q/DQ pair) (docs/int8.md);
#  - statistics files with a bin count other than num_bins, or NaN/negative counts: refused by
#    compare --stats, calibrate --from-stats and merge-stats (exit 1, naming the file and tensor);
#  - models whose Conv/Gemm weights hold NaN or inf: refused by every INT8 subcommand (exit 1,
#    naming the node and the weight); the FP32 run executes the model as written.
set -uo pipefail
CALIB8="$1"; SRC="$2"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
W="$(mktemp -d)"; trap 'rm -rf "$W"' EXIT
M="$SRC/models/fashion_mnist_cnn.onnx"; X="$SRC/models/fashion_mnist_test8.npy"
pass=0; fail=0

# expect NAME RC SUBSTRING... -- COMMAND...: exit code RC, stderr+stdout hold every SUBSTRING.
expect() {
  local name="$1" want="$2"; shift 2
  local subs=()
  while [ "$1" != "--" ]; do subs+=("$1"); shift; done; shift
  "$@" >"$W/out" 2>&1; local rc=$?
  local ok=1
  [ $rc -eq "$want" ] || { echo "FAIL $name: exit code $rc, expected $want"; ok=0; }
  for s in "${subs[@]}"; do grep -qF -- "$s" "$W/out" || { echo "FAIL $name: output lacks '$s'"; ok=0; }; done
  if grep -qE "terminate called|Segmentation|AddressSanitizer|runtime error" "$W/out"; then echo "FAIL $name: crashed"; ok=0; fi
  if [ $ok -eq 1 ]; then pass=$((pass+1)); echo "ok   $name"; else fail=$((fail+1)); head -5 "$W/out"; fi
}

"$CALIB8" calibrate "$M" --data "$X" -o "$W/fm.cache" -q --save-stats "$W/stats.json" >/dev/null 2>&1 \
  || { echo "FAIL: calibrate"; exit 1; }
# The commands that read a table, on a bare cache (no sidecar: the table's scales are used).
table_cmds() {  # table_cmds TABLE: prints one command per line, tab-separated args
  echo "run	$M	--int8	--table	$1	--input	$X	--output-dir	$W/o"
  echo "plan	$M	--table	$1"
  echo "compare	$M	--table	$1	--data	$X	-q"
  echo "sensitivity	$M	--table	$1	--data	$X	-q	-o	$W/keep.txt"
  echo "export-qdq	$M	--table	$1	-o	$W/q.onnx"
}
run_each() {  # run_each TABLE RC SUBSTRING...
  local table="$1" rc="$2"; shift 2
  while IFS=$'\t' read -r -a args; do
    expect "${args[0]} on $(basename "$table")" "$rc" "$@" -- "$CALIB8" "${args[@]}"
  done < <(table_cmds "$table")
}
for kind in nan:7fc00000 neg:bf800000 inf:7f800000 zero:0 denormal:1; do
  name=${kind%%:*}; bits=${kind#*:}
  sed "s/^image: .*/image: $bits/" "$W/fm.cache" > "$W/$name.cache"
done
run_each "$W/nan.cache" 1 "nan.cache" "'image'" "NaN"
run_each "$W/neg.cache" 1 "neg.cache" "'image'" "negative"
run_each "$W/inf.cache" 1 "inf.cache" "'image'" "inf"
for name in zero denormal; do
  while IFS=$'\t' read -r -a args; do
    case "${args[0]}" in
      plan) expect "plan on $name.cache: 'image' stays FP32" 0 "amax 0 for input 'image'" -- "$CALIB8" "${args[@]}" ;;
      export-qdq) expect "export-qdq on $name.cache: no pair, a warning" 0 "tensor 'image': scale is" -- "$CALIB8" "${args[@]}" ;;
      *) expect "${args[0]} on $name.cache" 0 -- "$CALIB8" "${args[@]}" ;;
    esac
  done < <(table_cmds "$W/$name.cache")
done

# Statistics files: a histogram with fewer bins than num_bins, a NaN count, a negative count.
"$PY" - "$W" <<'PYEOF'
import json, sys
d = sys.argv[1]
s = json.load(open(f"{d}/stats.json"))
name = next(n for n, t in s["tensors"].items() if t["hist"])
def save(tag, f):
    t = json.loads(json.dumps(s)); f(t["tensors"][name]); json.dump(t, open(f"{d}/{tag}.json", "w"))
    open(f"{d}/{tag}.name", "w").write(name)
save("bins", lambda t: t.update(hist=t["hist"][:-1], hist_neg=t["hist_neg"][:-1]))
def nan(t): t["hist"][3] = float("nan")
save("nancount", nan)
def neg(t): t["hist"][5] = -4
save("negcount", neg)
PYEOF
T="$(cat "$W/bins.name")"
expect "compare --stats: bin count" 1 "bins.json" "tensor '$T'" "hist has 2047 bins" -- \
  "$CALIB8" compare "$M" --table "$W/fm.cache" --data "$X" -q --stats "$W/bins.json" --report "$W/r.html"
expect "calibrate --from-stats: bin count" 1 "bins.json" "tensor '$T'" "hist has 2047 bins" -- \
  "$CALIB8" calibrate "$M" --data "$X" --from-stats "$W/bins.json" -o "$W/x.cache" -q
expect "merge-stats: bin count" 1 "bins.json" "tensor '$T'" -- \
  "$CALIB8" merge-stats "$W/stats.json" "$W/bins.json" -o "$W/m.json"
# JSON has no NaN: Python's NaN literal makes the file invalid JSON, refused as such.
expect "merge-stats: NaN count" 1 "nancount.json" "not valid JSON" -- \
  "$CALIB8" merge-stats "$W/stats.json" "$W/nancount.json" -o "$W/m.json"
expect "calibrate --from-stats: negative count" 1 "negcount.json" "hist[5]" -- \
  "$CALIB8" calibrate "$M" --data "$X" --from-stats "$W/negcount.json" -o "$W/x.cache" -q
[ ! -e "$W/m.json" ] && [ ! -e "$W/x.cache" ] && [ ! -e "$W/r.html" ] && pass=$((pass+1)) || { echo "FAIL: refused runs wrote output"; fail=$((fail+1)); }

# Models with NaN / inf weights.
"$PY" - "$M" "$W" <<'PYEOF'
import sys, numpy as np, onnx
from onnx import numpy_helper
m = onnx.load(sys.argv[1])
conv = next(n for n in m.graph.node if n.op_type == "Conv")
for tag, v in (("nanw", np.nan), ("infw", np.inf)):
    mm = onnx.ModelProto(); mm.CopyFrom(m)
    for i, t in enumerate(mm.graph.initializer):
        if t.name == conv.input[1]:
            a = numpy_helper.to_array(t).copy(); a.flat[7] = v
            mm.graph.initializer[i].CopyFrom(numpy_helper.from_array(a, t.name))
    onnx.save(mm, f"{sys.argv[2]}/{tag}.onnx")
open(f"{sys.argv[2]}/wname", "w").write(conv.input[1])
PYEOF
WN="$(cat "$W/wname")"
for tag in nanw infw; do
  MW="$W/$tag.onnx"
  expect "plan on $tag.onnx" 1 "$tag.onnx" "'$WN'" "value 7" -- "$CALIB8" plan "$MW" --table "$W/fm.cache"
  expect "run --int8 on $tag.onnx" 1 "$tag.onnx" "'$WN'" -- "$CALIB8" run "$MW" --int8 --table "$W/fm.cache" --input "$X" --output-dir "$W/o"
  expect "compare on $tag.onnx" 1 "'$WN'" -- "$CALIB8" compare "$MW" --table "$W/fm.cache" --data "$X" -q
  expect "sensitivity on $tag.onnx" 1 "'$WN'" -- "$CALIB8" sensitivity "$MW" --table "$W/fm.cache" --data "$X" -q -o "$W/keep.txt"
  expect "export-qdq on $tag.onnx" 1 "$WN" "value 7" -- "$CALIB8" export-qdq "$MW" --table "$W/fm.cache" -o "$W/q.onnx"
done
expect "FP32 run of nanw.onnx runs the model as written" 0 -- "$CALIB8" run "$W/nanw.onnx" --input "$X" --output-dir "$W/o"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
