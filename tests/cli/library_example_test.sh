#!/usr/bin/env bash
# tests/cli/library_example_test.sh CALIB8 EXAMPLE SOURCE_DIR — the library API (include/calib8/)
# against the CLI, its independent twin: examples/library/calibrate_and_run must write the very
# table and sidecar `calib8 calibrate` writes for the same model, data and options, its INT8
# output must equal `calib8 run --int8`'s bit for bit, a second call must reuse the table, and bad
# input must fail with a message naming it and write nothing.
set -uo pipefail
CALIB8="$1"; EXAMPLE="$2"; SRC="$3"
PY=/usr/bin/python3
MODEL="$SRC/models/fashion_mnist_cnn.onnx"
TRAIN=idx:/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok() { pass=$((pass+1)); echo "ok   $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; [ -f "$T/err" ] && head -5 "$T/err"; }

# 16 real Fashion-MNIST test images as one batch (not among the 300 calibration images).
$PY - "$T" <<'PYEOF'
import gzip, sys, numpy as np
raw = gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz").read()
x = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 1, 28, 28)[:16].astype(np.float32) / 255
np.save(sys.argv[1] + "/x.npy", x)
PYEOF

mkdir -p "$T/cli" "$T/lib" "$T/run"
"$CALIB8" calibrate "$MODEL" --data "$TRAIN" --max-samples 300 -o "$T/cli/net.cache" --quiet >/dev/null 2>"$T/err" \
  || bad "calib8 calibrate"
if "$EXAMPLE" "$MODEL" "$TRAIN" 300 "$T/lib/net.cache" "$T/x.npy" "$T/lib_int8.npy" >"$T/out" 2>"$T/err"; then
  ok "the example runs"
else
  bad "the example runs"
fi
grep -q "^calibrated .*net.cache: [0-9]* tensors" "$T/out" && ok "it calibrated" || bad "it calibrated: $(head -3 "$T/out")"
cmp -s "$T/cli/net.cache" "$T/lib/net.cache" && ok "library table == calib8 calibrate table (bytes)" \
  || bad "library table differs from the CLI's"
# The sidecars record the same file names; everything but the timing must agree.
$PY - "$T/cli/net.cache.calib8.json" "$T/lib/net.cache.calib8.json" >"$T/err" 2>&1 <<'PYEOF' \
  && ok "library sidecar == CLI sidecar (ranges, fingerprints, method)" || bad "sidecars differ"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
def strip(d):
    if isinstance(d, dict):
        return {k: strip(v) for k, v in d.items() if "time" not in k and "seconds" not in k and k != "created"}
    if isinstance(d, list):
        return [strip(v) for v in d]
    return d
assert a.get("tensors"), "no tensors in the CLI sidecar"
sa, sb = strip(a), strip(b)
diff = [k for k in set(sa) | set(sb) if sa.get(k) != sb.get(k)]
assert not diff, "differing keys: %s" % diff
PYEOF

"$CALIB8" run "$MODEL" --int8 --table "$T/lib/net.cache" --input "$T/x.npy" -o "$T/run" >/dev/null 2>"$T/err" \
  || bad "calib8 run --int8"
$PY - "$T/run" "$T/lib_int8.npy" >"$T/err" 2>&1 <<'PYEOF' \
  && ok "library INT8 output == calib8 run --int8 output (bit for bit)" || bad "INT8 outputs differ"
import glob, sys, numpy as np
files = glob.glob(sys.argv[1] + "/*.npy")
assert len(files) == 1, files
a, b = np.load(files[0]), np.load(sys.argv[2])
assert a.shape == b.shape == (16, 10), (a.shape, b.shape)
assert a.tobytes() == b.tobytes(), "max abs diff %g" % float(np.abs(a - b).max())
PYEOF
grep -q "INT8 vs FP32 SQNR [0-9]" "$T/out" && ok "it reports the INT8 output's SQNR" || bad "no SQNR line"
grep -q "int8: asymmetric" "$T/out" && ok "the sidecar's asymmetric ranges are used" \
  || bad "not asymmetric: $(grep int8: "$T/out")"

# A second call finds the table current and reuses it.
before=$(stat -c %Y.%s "$T/lib/net.cache")
"$EXAMPLE" "$MODEL" "$TRAIN" 300 "$T/lib/net.cache" "$T/x.npy" "$T/lib_int8b.npy" >"$T/out" 2>"$T/err" \
  && grep -q "^reused" "$T/out" && [ "$before" = "$(stat -c %Y.%s "$T/lib/net.cache")" ] \
  && ok "second call reuses the table" || bad "second call: $(head -2 "$T/out")"
# Other data (fewer samples): the sidecar's data fingerprint no longer matches, so it recalibrates.
"$EXAMPLE" "$MODEL" "$TRAIN" 200 "$T/lib/net.cache" "$T/x.npy" "$T/lib_int8c.npy" >"$T/out" 2>"$T/err" \
  && grep -q "^calibrated" "$T/out" && ok "other data: recalibrated" || bad "other data: $(head -2 "$T/out")"

# Bad input: a missing model, then missing data; exit 1, the file named, no table written.
"$EXAMPLE" "$T/nope.onnx" "$TRAIN" 10 "$T/bad.cache" "$T/x.npy" "$T/o.npy" >/dev/null 2>"$T/err"
rc=$?
[ $rc -eq 1 ] && grep -q "nope.onnx" "$T/err" && [ ! -e "$T/bad.cache" ] && ok "missing model: exit 1, named" \
  || bad "missing model (rc $rc)"
"$EXAMPLE" "$MODEL" "idx:$T/missing.gz" 10 "$T/bad.cache" "$T/x.npy" "$T/o.npy" >/dev/null 2>"$T/err"
rc=$?
[ $rc -eq 1 ] && grep -q "missing.gz" "$T/err" && [ ! -e "$T/bad.cache" ] && [ ! -e "$T/bad.cache.calib8.json" ] \
  && ok "missing data: exit 1, named, nothing written" || bad "missing data (rc $rc)"

"$EXAMPLE" "$MODEL" "$TRAIN" lots "$T/bad.cache" "$T/x.npy" "$T/o.npy" >/dev/null 2>"$T/err"
rc=$?
[ $rc -eq 1 ] && grep -q "MAX_SAMPLES 'lots'" "$T/err" && [ ! -e "$T/bad.cache" ] \
  && ok "bad sample count: exit 1, named" || bad "bad sample count (rc $rc)"

echo "library_example: $pass passed, $fail failed"
[ $fail -eq 0 ]
