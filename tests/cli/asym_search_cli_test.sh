#!/usr/bin/env bash
# tests/cli/asym_search_cli_test.sh CALIB8 SOURCE_DIR — the asymmetric range search (issue 10
# item 4; the default is `--asym-search 32 --asym-search-at output`) on the bundled Fashion-MNIST
# model: every searched range is exactly one of the four candidate ranges that `--asym-search 0
# --asym-percentile 99.9 / 99.99 / 99.999 / 100` give on their own (independent runs), in both
# modes; the default searches at the output and beats the fixed ranges on held-out images; the
# search is recorded in the sidecar's method (so reuse sees it), it is deterministic and
# independent of the order of the data and of --batch, --from-stats with the data gives what one
# run gives (without data: no search, and the sidecar says so), and bad values are refused.
set -uo pipefail
CALIB8="$1"; SRC="$2"
PY=/usr/bin/python3
W="$(mktemp -d)"; trap 'rm -rf "$W"' EXIT
. "$SRC/tests/cli/search_test_lib.sh"
M="$SRC/models/fashion_mnist_cnn.onnx"
DATA="idx:/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
fail=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi; }
cal() { "$CALIB8" calibrate "$M" --data "$DATA" --max-samples 128 --batch 32 -q --force "$@"; }

for p in 99.9 99.99 99.999 100; do
  cal --asym-search 0 --asym-percentile "$p" -o "$W/p$p.cache" >/dev/null 2>&1
done
cal --asym-search 32 --asym-search-at consumers -o "$W/s.cache" > "$W/s.out" 2>&1
check "--asym-search-at consumers runs and says what it chose" \
  "grep -q '^asymmetric range search on 32 sample(s) chosen by content:' '$W/s.out'"
same_ranges() {  # two sidecars with the same asymmetric ranges, tensor by tensor
  "$PY" - "$1" "$2" <<'PYEOF'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
ra = {t['name']: t.get('asym') for t in a['tensors']}
rb = {t['name']: t.get('asym') for t in b['tensors']}
sys.exit(0 if ra == rb and any(ra.values()) else 1)
PYEOF
}
cal -o "$W/d.cache" > "$W/d.out" 2>&1  # the default: 32 samples, scored at the model output
check "the default searches at the output and records it" \
  "grep -q '^asymmetric range search at the model output on 32 sample(s)' '$W/d.out' && grep -q '\"asym_search\": \"32\"' '$W/d.cache.calib8.json' && grep -q '\"asym_search_at\": \"output\"' '$W/d.cache.calib8.json'"
cal -o "$W/d2.cache" >/dev/null 2>&1
check "deterministic: same sidecar ranges twice" "same_ranges '$W/d.cache.calib8.json' '$W/d2.cache.calib8.json'"
# The same 128 images as .npy, in order and shuffled: the same choice, whatever the order and batch.
order_pair "$W" 5
"$CALIB8" calibrate "$M" --data "$W/in_order.npy" --batch 32 -q -o "$W/o1.cache" >/dev/null 2>&1
"$CALIB8" calibrate "$M" --data "$W/shuffled.npy" --batch 7 -q -o "$W/o2.cache" >/dev/null 2>&1
check "shuffled data, another --batch: the same searched ranges" \
  "same_ranges '$W/o1.cache.calib8.json' '$W/o2.cache.calib8.json'"
# Statistics saved, then --from-stats: with the data it searches as one run does; without, not.
cal --save-stats "$W/st.json" -o "$W/st.cache" >/dev/null 2>&1
"$CALIB8" calibrate "$M" --from-stats "$W/st.json" --data "$DATA" --max-samples 128 -q \
  -o "$W/fs.cache" >/dev/null 2>&1
check "--from-stats with the data: the ranges of one run" \
  "same_ranges '$W/d.cache.calib8.json' '$W/fs.cache.calib8.json'"
"$CALIB8" calibrate "$M" --from-stats "$W/st.json" -o "$W/fs0.cache" > "$W/fs0.out" 2>&1
check "--from-stats without data: no search, said, not in the sidecar, p99.99 ranges" \
  "grep -q 'no asymmetric range search' '$W/fs0.out' && ! grep -q asym_search '$W/fs0.cache.calib8.json' && same_ranges '$W/p99.99.cache.calib8.json' '$W/fs0.cache.calib8.json'"
"$CALIB8" calibrate "$M" --from-stats "$W/st.json" --data "$DATA" --asym-search 0 --sym-search 0 -o "$W/fsd.cache" > "$W/fsd.out" 2>&1
check "--from-stats with data and both searches off: says the data were not read, p99.99 ranges" \
  "grep -q -- '--data not read' '$W/fsd.out' && same_ranges '$W/p99.99.cache.calib8.json' '$W/fsd.cache.calib8.json'"
"$CALIB8" calibrate "$M" --from-stats "$W/st.json" --data "$DATA" --max-samples 100 -q \
  -o "$W/fsbad.cache" >/dev/null 2> "$W/fsbad.err"
check "--from-stats with other data: refused, naming both fingerprints" \
  "grep -q 'statistics were collected from data with fingerprint' '$W/fsbad.err' && [ ! -e '$W/fsbad.cache' ]"
# FILE's searched ranges are each one of the four candidates, and some moved from p99.99.
candidates_only() {
  "$PY" - "$W" "$1" <<'PYEOF'
import json, sys
w, name = sys.argv[1:3]
def ranges(f):
    return {t['name']: (t['asym']['lo_bits'], t['asym']['hi_bits']) for t in json.load(open(f))['tensors'] if 'asym' in t}
s = ranges(w + '/%s.cache.calib8.json' % name)
cands = [ranges(w + '/p%s.cache.calib8.json' % p) for p in ('99.9', '99.99', '99.999', '100')]
bad = [n for n, r in s.items() if all(c.get(n) != r for c in cands)]
moved = [n for n, r in s.items() if r != cands[1].get(n)]
print('tensors', len(s), 'not a candidate', bad, 'moved from p99.99', len(moved))
sys.exit(0 if not bad and moved else 1)
PYEOF
}
check "at the consumers: each range is one candidate; some differ from p99.99" "candidates_only s"
check "at the output (the default): each range is one candidate; some differ from p99.99" "candidates_only d"
# Held out: on 1,000 test images (never calibrated on) the logits are closer to FP32 than with the
# fixed p99.99 ranges.
TESTDATA="idx:/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
for t in p99.99 d; do
  "$CALIB8" compare "$M" --table "$W/$t.cache" --data "$TESTDATA" --max-samples 1000 --json > "$W/cmp_$t.json" 2>/dev/null
done
check "the default: held-out logits SQNR above the fixed ranges'" "'$PY' - '$W' <<'PYEOF'
import json, sys
w = sys.argv[1]
q = [json.load(open(w + '/cmp_%s.json' % t))['outputs'][0]['sqnr_db'] for t in ('p99.99', 'd')]
print('logits SQNR dB: fixed p99.99 %.2f, default (searched at the output) %.2f' % tuple(q))
sys.exit(0 if q[1] > q[0] else 1)
PYEOF"
cal --asym-search 32 --asym-search-at elsewhere -o "$W/bad2.cache" > /dev/null 2> "$W/bad2.err"
rc=$?
check "--asym-search-at elsewhere: exit non-zero, nothing written" "[ $rc -ne 0 ] && [ ! -e '$W/bad2.cache' ]"
cal --asym-search 0 --asym-search-at output -o "$W/bad3.cache" > /dev/null 2> "$W/bad3.err"
rc=$?
check "--asym-search-at with --asym-search 0: refused, saying why, nothing written" \
  "[ $rc -ne 0 ] && grep -q 'needs --asym-search N' '$W/bad3.err' && [ ! -e '$W/bad3.cache' ]"
"$CALIB8" calibrate "$M" --data "$DATA" --max-samples 128 --batch 32 -o "$W/d.cache" > "$W/reuse.out" 2>&1
check "same options: the table is reused" "grep -qi 'reus' '$W/reuse.out' && ! grep -q 'not reusing' '$W/reuse.out'"
"$CALIB8" calibrate "$M" --data "$DATA" --max-samples 128 --batch 32 -o "$W/p99.99.cache" > "$W/noreuse.out" 2>&1
check "a table written with --asym-search 0 is not reused by the default (the search differs)" \
  "grep -q 'not reusing.*method changed' '$W/noreuse.out' && grep -q '\"asym_search_at\": \"output\"' '$W/p99.99.cache.calib8.json'"
"$CALIB8" calibrate "$M" --data "$DATA" --max-samples 128 -q --asym-search -3 -o "$W/bad.cache" > /dev/null 2> "$W/bad.err"
rc=$?
check "--asym-search -3: exit 1, nothing written" "[ $rc -ne 0 ] && [ ! -e '$W/bad.cache' ]"
exit $fail
