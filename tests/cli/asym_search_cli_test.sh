#!/usr/bin/env bash
# tests/cli/asym_search_cli_test.sh CALIB8 SOURCE_DIR — `calibrate --asym-search N` (issue 10 item
# 4) on the bundled Fashion-MNIST model: every searched range is exactly one of the four candidate
# ranges that `--asym-percentile 99.9 / 99.99 / 99.999 / 100` give on their own (independent runs),
# the search is recorded in the sidecar's method (so reuse sees it) and is deterministic, and a
# bad value is refused.
set -uo pipefail
CALIB8="$1"; SRC="$2"
PY=/usr/bin/python3
W="$(mktemp -d)"; trap 'rm -rf "$W"' EXIT
M="$SRC/models/fashion_mnist_cnn.onnx"
DATA="idx:/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
fail=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi; }
cal() { "$CALIB8" calibrate "$M" --data "$DATA" --max-samples 128 --batch 32 -q --force "$@"; }

for p in 99.9 99.99 99.999 100; do cal --asym-percentile "$p" -o "$W/p$p.cache" >/dev/null 2>&1; done
cal --asym-search 32 -o "$W/s.cache" > "$W/s.out" 2>&1
check "search runs and says what it chose" "grep -q '^asymmetric range search on 32 sample(s):' '$W/s.out'"
cal --asym-search 32 -o "$W/s2.cache" >/dev/null 2>&1
check "deterministic: same sidecar ranges twice" "'$PY' - '$W/s.cache.calib8.json' '$W/s2.cache.calib8.json' <<'PYEOF'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
sys.exit(0 if [t.get('asym') for t in a['tensors']] == [t.get('asym') for t in b['tensors']] else 1)
PYEOF"
check "each range is one candidate; some differ from the default p99.99" "'$PY' - '$W' <<'PYEOF'
import json, sys
w = sys.argv[1]
def ranges(f):
    return {t['name']: (t['asym']['lo_bits'], t['asym']['hi_bits']) for t in json.load(open(f))['tensors'] if 'asym' in t}
s = ranges(w + '/s.cache.calib8.json')
cands = [ranges(w + '/p%s.cache.calib8.json' % p) for p in ('99.9', '99.99', '99.999', '100')]
bad = [n for n, r in s.items() if all(c.get(n) != r for c in cands)]
moved = [n for n, r in s.items() if r != cands[1].get(n)]
print('tensors', len(s), 'not a candidate', bad, 'moved from p99.99', len(moved))
sys.exit(0 if not bad and moved else 1)
PYEOF"
check "the search is a method parameter in the sidecar" "grep -q '\"asym_search\": \"32\"' '$W/s.cache.calib8.json'"
"$CALIB8" calibrate "$M" --data "$DATA" --max-samples 128 --batch 32 -q --asym-search 32 -o "$W/s.cache" > "$W/reuse.out" 2>&1
check "same options: the table is reused" "grep -qi 'reus' '$W/reuse.out'"
"$CALIB8" calibrate "$M" --data "$DATA" --max-samples 128 -q --asym-search -3 -o "$W/bad.cache" > /dev/null 2> "$W/bad.err"
rc=$?
check "--asym-search -3: exit 1, nothing written" "[ $rc -ne 0 ] && [ ! -e '$W/bad.cache' ]"
exit $fail
