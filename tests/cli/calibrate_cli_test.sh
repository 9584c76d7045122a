#!/usr/bin/env bash
# tests/cli/calibrate_cli_test.sh CALIB8 SOURCE_DIR — `calib8 calibrate` end to end on the bundled
# Fashion-MNIST model: determinism (sample order, batch size, threads), reuse and invalidation by
# fingerprints, shards merged == one run, and bad inputs (clear message, exit 1, no partial table).
set -uo pipefail
CALIB8="$1"; SRC="$2"
PY=/usr/bin/python3
MODEL="$SRC/models/fashion_mnist_cnn.onnx"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok() { pass=$((pass+1)); echo "ok   $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; [ -f "$T/err" ] && head -5 "$T/err"; }

# 96 real Fashion-MNIST training images, and the same images in another order.
$PY - "$T" <<'PYEOF'
import gzip, struct, sys, numpy as np
d = sys.argv[1]
raw = gzip.open("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").read()
x = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 1, 28, 28)[:96].astype(np.float32) / 255
np.save(f"{d}/x.npy", x)
np.save(f"{d}/x_shuffled.npy", x[np.random.RandomState(3).permutation(96)])
np.save(f"{d}/x_a.npy", x[:40]); np.save(f"{d}/x_b.npy", x[40:])
np.save(f"{d}/wrong_shape.npy", np.zeros((4, 3, 28, 28), np.float32))
n = x[:8].copy(); n[5, 0, 3, 3] = np.nan; np.save(f"{d}/nan.npy", n)
np.save(f"{d}/empty.npy", np.zeros((0, 1, 28, 28), np.float32))
PYEOF

cal() { "$CALIB8" calibrate "$MODEL" --quiet "$@" >"$T/out" 2>"$T/err"; }

# amax values within one histogram bin (absmax/2048 from the sidecar) of each other; a third
# argument sets another limit in bins.
within_bin() {
  $PY - "$1" "$2" "${3:-1.0}" <<'PYEOF'
import json, struct, sys
def load(p):
    lines = open(p).read().splitlines()[1:]
    return {l.rsplit(": ", 1)[0]: 127 * struct.unpack(">f", bytes.fromhex(l.rsplit(": ", 1)[1].zfill(8)))[0] for l in lines}
a, b = load(sys.argv[1]), load(sys.argv[2])
side = json.load(open(sys.argv[1] + ".calib8.json"))
absmax = {t["name"]: t["absmax"] for t in side["tensors"]}
assert a.keys() == b.keys(), "different tensors"
worst = max(abs(a[k] - b[k]) / (absmax[k] / 2048) for k in a if absmax[k] > 0)
print(f"max difference {worst:.3f} bins")
sys.exit(0 if worst <= float(sys.argv[3]) else 1)
PYEOF
}

cal --data "$T/x.npy" -o "$T/a.cache" && cal --data "$T/x_shuffled.npy" -o "$T/b.cache" \
  && cmp -s "$T/a.cache" "$T/b.cache" && ok "sample order does not change the table bytes" || bad "order invariance"
cal --data "$T/x.npy" --batch 7 -o "$T/c.cache" && within_bin "$T/a.cache" "$T/c.cache" >"$T/err" \
  && ok "batch 1 vs 7: $(cat "$T/err")" || bad "batch invariance"
cal --data "$T/x.npy" --threads 1 -o "$T/d1.cache" && cal --data "$T/x.npy" --threads 2 -o "$T/d2.cache" \
  && within_bin "$T/d1.cache" "$T/d2.cache" >"$T/err" && ok "1 vs 2 threads: $(cat "$T/err")" || bad "thread invariance"
head -1 "$T/a.cache" | grep -qx "TRT-8601-EntropyCalibration2" && ok "entropy2 header" || bad "entropy2 header"
cal --data "$T/x.npy" --method minmax -o "$T/m.cache" && head -1 "$T/m.cache" | grep -qx "TRT-8601-MinMaxCalibration" \
  && ok "minmax header" || bad "minmax header"

# The sign-split statistics must not move any symmetric table: the goldens in tests/cli/golden
# were written by the calib8 binary before the split (main at 2fd9892, an AVX-512 machine,
# --threads 1) from the same 96 images. On a CPU whose oneDNN FP32 kernels take another code path
# (AVX2: another summation order) the activations differ in their last bits, and so may the
# scales: there each amax must be within 0.01 histogram bin of the golden (a real change of the
# statistics moves a threshold by whole bins; measured on an AVX2 AMD EPYC: 0.002 bins, relative
# 1e-6). Where the bytes are equal the line says so. CALIB8_REFERENCE=/path/to/old/calib8
# compares against that binary live instead. These are the methods' own scales: --sym-search 0
# (the goldens predate the symmetric scale search, which chooses among them afterwards).
for m in entropy2 entropy minmax percentile mse; do
  extra=(); [ $m = percentile ] && extra=(--percentile 99.99)
  want="$SRC/tests/cli/golden/fashion_mnist_cnn.train96.$m.cache"
  if [ -n "${CALIB8_REFERENCE:-}" ]; then
    "$CALIB8_REFERENCE" calibrate "$MODEL" --quiet --data "$T/x.npy" --method $m "${extra[@]}" --threads 1 \
      -o "$T/ref_$m.cache" >/dev/null 2>&1
    want="$T/ref_$m.cache"
  fi
  if ! cal --data "$T/x.npy" --method $m "${extra[@]}" --threads 1 --sym-search 0 -o "$T/golden_$m.cache"; then
    bad "$m calibrate for the golden comparison"
  elif cmp -s "$want" "$T/golden_$m.cache"; then
    ok "$m table bytes unchanged by the sign split"
  elif within_bin "$T/golden_$m.cache" "$want" 0.01 >"$T/err"; then
    ok "$m table within 0.01 bin of the golden ($(cat "$T/err"); bytes differ: other FP32 kernels)"
  else
    bad "$m table differs from $want by more than 0.01 bin"
  fi
done
grep -q '"asym"' "$T/golden_entropy2.cache.calib8.json" && grep -q '"asym_percentile": "99.99"' "$T/golden_entropy2.cache.calib8.json" \
  && ok "sidecar carries asym ranges and asym_percentile" || bad "sidecar asym"
cal --data "$T/x.npy" --method percentile --percentile 20 -o "$T/clip.cache" \
  && grep -q "warning: method percentile clips .* far below their p99.9.*'/features/features.0/Conv_output_0'" "$T/err" \
  && ok "clipping warning on stderr names the tensors: $(grep -o 'clips.*' "$T/err" | head -c 140)" || bad "clipping warning"
cal --data "$T/x.npy" --method entropy2 --trt-calibrator MinMaxCalibration -o "$T/h.cache" \
  && head -1 "$T/h.cache" | grep -qx "TRT-8601-MinMaxCalibration" && ok "--trt-calibrator sets the header" || bad "--trt-calibrator"
cal --data "$T/x.npy" --trt-calibrator Bogus -o "$T/h2.cache"; [ $? -eq 1 ] && grep -q "EntropyCalibration2" "$T/err" \
  && ok "unknown --trt-calibrator refused" || bad "--trt-calibrator Bogus"
# Statistics: v2 files carry hist_neg; a v1 file (hist_neg removed) still gives the same table.
cal --data "$T/x.npy" --method entropy2 --threads 1 --sym-search 0 --save-stats "$T/s2.json" -o "$T/s2.cache" && grep -q hist_neg "$T/s2.json" \
  && $PY -c "import json,sys; j=json.load(open(sys.argv[1])); j['version']=1; [t.pop('hist_neg',None) for t in j['tensors'].values()]; json.dump(j,open(sys.argv[2],'w'))" "$T/s2.json" "$T/s1.json" \
  && cal --from-stats "$T/s1.json" --method entropy2 -o "$T/s1.cache" && cmp -s "$T/s1.cache" "$T/s2.cache" \
  && grep -q "without the sign split" "$T/out" && ! grep -q '"asym"' "$T/s1.cache.calib8.json" \
  && ok "version-1 statistics file: same table, no asym ranges, says to re-collect" || bad "v1 statistics"

# Reuse and invalidation.
cal --data "$T/x.npy" -o "$T/a.cache" && grep -q "^reusing" "$T/out" && ok "matching fingerprints: table reused" || bad "reuse"
cal --data "$T/x_a.npy" -o "$T/a.cache" && grep -q "not reusing.*data" "$T/out" && ok "changed data: recalibrated ($(grep -o 'not reusing[^;]*' "$T/out" | head -c 120))" || bad "data invalidation"
cal --data "$T/x_a.npy" --method percentile -o "$T/a.cache" && grep -q "not reusing.*method" "$T/out" && ok "changed method: recalibrated" || bad "method invalidation"
# The recalibration above took the data fingerprint from the reuse check (the data are hashed once):
# it must be the one a fresh run computes, so the same command now reuses the table.
cal --data "$T/x_a.npy" --method percentile -o "$T/a.cache" && grep -q "^reusing" "$T/out" \
  && ok "fingerprint handed from the reuse check is the data's: reused on the next run" || bad "fingerprint handed over"
cal --data "$T/x_a.npy" --method percentile --asym-percentile 99.9 -o "$T/a.cache" && grep -q "not reusing.*method.*asym_percentile=99.9[,)]" "$T/out" \
  && ok "changed --asym-percentile: recalibrated" || bad "asym_percentile invalidation"

# Shards: ranges of both, merged; histograms of both on the merged ranges, merged; == one run.
# The last step reads the whole data again for the searches (docs/distributed.md).
cal --data "$T/x.npy" -o "$T/whole.cache" --force \
 && cal --data "$T/x_a.npy" --range-only --save-stats "$T/ra.json" && cal --data "$T/x_b.npy" --range-only --save-stats "$T/rb.json" \
 && "$CALIB8" merge-stats "$T/ra.json" "$T/rb.json" -o "$T/ranges.json" >/dev/null \
 && cal --data "$T/x_a.npy" --ranges "$T/ranges.json" --save-stats "$T/ha.json" -o "$T/ha.cache" \
 && cal --data "$T/x_b.npy" --ranges "$T/ranges.json" --save-stats "$T/hb.json" -o "$T/hb.cache" \
 && "$CALIB8" merge-stats "$T/ha.json" "$T/hb.json" -o "$T/all.json" >/dev/null \
 && cal --from-stats "$T/all.json" --data "$T/x.npy" -o "$T/shards.cache" && cmp -s "$T/whole.cache" "$T/shards.cache" \
 && ok "two shards merged give the same table bytes as one run" || bad "shard merge"

# --save-stats always recalibrates (the statistics come from this run), even when the table matches.
cal --data "$T/x.npy" -o "$T/whole.cache" --save-stats "$T/again.json" && ! grep -q "^reusing" "$T/out" \
  && test -s "$T/again.json" && ok "--save-stats recalibrates and writes the statistics" || bad "--save-stats with a matching table"

# inspect: the hex explained with one entry's numbers, and the most clipped tensors from the
# sidecar (amax / absmax, smallest first), computed here independently from the two files.
"$CALIB8" inspect "$T/whole.cache" --clipped 2 >"$T/insp" 2>"$T/err"
$PY - "$T/whole.cache" "$T/insp" <<'PYEOF' >"$T/err" 2>&1 && ok "inspect --clipped 2: the two smallest amax/absmax from the sidecar, and the hex example" || bad "inspect clipping"
import json, struct, sys
table, out = sys.argv[1], open(sys.argv[2]).read().splitlines()
amax = {}
for l in open(table).read().splitlines()[1:]:
    name, hexv = l.rsplit(": ", 1)
    amax[name] = 127 * struct.unpack(">f", bytes.fromhex(hexv.zfill(8)))[0]
side = json.load(open(table + ".calib8.json"))
ratios = sorted((amax[t["name"]] / t["absmax"], t["name"]) for t in side["tensors"] if t["absmax"] > 0)
i = next(k for k, l in enumerate(out) if l.startswith("most clipped"))
rows = [l.split() for l in out[i + 1:i + 3]]
assert len(rows) == 2 and (len(out) <= i + 3 or not out[i + 3].startswith("   ")), out[i:i + 4]
for (r, n), row in zip(ratios[:2], rows):
    # Equal ratios (a pool and the Flatten after it carry one amax) may come in either order.
    ties = {m for q, m in ratios if abs(q - r) < 1e-9}
    assert abs(float(row[0]) - r) < 1e-3 and row[1] in ties, (row, r, n)
ex = next(l for l in out if l.startswith("example: "))
name = ex.split("'")[1]
hexv = ex.split("hex ")[1].split()[0]
assert abs(127 * struct.unpack(">f", bytes.fromhex(hexv))[0] - amax[name]) < 1e-4 * amax[name], ex
PYEOF

# Bad input: exit 1, clear message, no table written.
expect_fail() {
  local name="$1" sub="$2"; shift 2
  rm -f "$T/bad.cache" "$T/bad.cache.calib8.json"
  cal "$@" -o "$T/bad.cache"; local rc=$?
  if [ $rc -eq 1 ] && grep -q "calib8: error:" "$T/err" && grep -qF -- "$sub" "$T/err" && [ ! -e "$T/bad.cache" ] \
     && [ ! -e "$T/bad.cache.calib8.json" ] && ! ls "$T"/.bad.cache* >/dev/null 2>&1; then
    ok "$name: $(head -c 160 "$T/err")"
  else bad "$name (exit $rc)"; fi
}
expect_fail "wrong data shape" "[N,1,28,28]" --data "$T/wrong_shape.npy"
expect_fail "NaN in data" "sample 5" --data "$T/nan.npy"
expect_fail "empty data set" "empty" --data "$T/empty.npy"
mkdir -p "$T/imgs"; head -c 300 /dev/urandom > "$T/imgs/broken.png"
expect_fail "corrupt image" "broken.png" --data "images:$T/imgs@order=gray,resize=28x28"
expect_fail "unknown method" "entropy2" --data "$T/x.npy" --method kl
expect_fail "missing data" "no-such" --data "$T/no-such.npy"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
