#!/usr/bin/env bash
# tests/cli/sym_search_cli_test.sh CALIB8 SOURCE_DIR — the symmetric scale search (`calibrate
# --sym-search N`: the table's own scales, what TensorRT runs, chosen at the model's outputs in
# TensorRT mode) on the bundled Fashion-MNIST model. Candidates come from independent runs: every
# searched scale is, bit for bit, the method's own or the one `--method percentile --percentile
# 99.9 / 99.99 / 99.999` or `--method minmax` writes on its own (a MaxPool's or Flatten's output
# takes its input's moved scale: calib8 runs it with that encoding), and some moved; the default
# searches on 64 samples; on 1,000 held-out
# test images the logits in TensorRT mode are closer to FP32 than with the method's scales; the
# search is recorded in the sidecar's method (so reuse sees it), deterministic and independent of
# the order of the data and of --batch; --from-stats with the data gives what one run gives, and
# without the data it does not search and says so; a bad value is refused.
set -uo pipefail
CALIB8="$1"; SRC="$2"
PY=/usr/bin/python3
W="$(mktemp -d)"; trap 'rm -rf "$W"' EXIT
. "$SRC/tests/cli/search_test_lib.sh"
M="$SRC/models/fashion_mnist_cnn.onnx"
DATA="idx:/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
TESTDATA="idx:/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
fail=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi; }
cal() { "$CALIB8" calibrate "$M" --data "$DATA" --max-samples 128 --batch 32 -q --force "$@"; }

cal --sym-search 0 -o "$W/m.cache" >/dev/null 2>&1  # the method's scales (no symmetric search)
for p in 99.9 99.99 99.999; do
  cal --method percentile --percentile "$p" --sym-search 0 -o "$W/p$p.cache" >/dev/null 2>&1
done
cal --method minmax --sym-search 0 -o "$W/max.cache" >/dev/null 2>&1
cal --sym-search 32 -o "$W/s.cache" > "$W/s.out" 2>&1
check "--sym-search 32 runs and says what it moved" \
  "grep -q '^symmetric scale search at the model output on 32 sample(s) chosen by content: moved' '$W/s.out'"
check "the sidecar's method records it" "grep -q '\"sym_search\": \"32\"' '$W/s.cache.calib8.json'"
"$PY" - "$W" "$M" <<'PYEOF' > "$W/cand.out"
import sys, onnx
w = sys.argv[1]
# The output of a MaxPool or Flatten runs in calib8 with its input's encoding (docs/int8.md): when
# that input's scale moved, the search writes the same scale for it (the table says what ran).
producer = {o: n for n in onnx.load(sys.argv[2]).graph.node for o in n.output}
def root(t):
    while t in producer and producer[t].op_type in ('MaxPool', 'Flatten'):
        t = producer[t].input[0]
    return t
def scales(name):
    out = {}
    for line in open('%s/%s.cache' % (w, name)).read().splitlines()[1:]:
        k, _, v = line.rpartition(': ')
        out[k] = v
    return out
s = scales('s')
cands = [scales(n) for n in ('m', 'p99.9', 'p99.99', 'p99.999', 'max')]
moved = [n for n, v in s.items() if v != cands[0].get(n)]
own = [n for n in moved if root(n) == n or root(n) not in moved]
bad = [n for n in own if all(c.get(n) != s[n] for c in cands)]
carried = [n for n in moved if n not in own]
bad += [n for n in carried if s[n] != s[root(n)]]
print('tensors', len(s), 'not a candidate (or its input\'s)', bad, 'moved', len(own),
      'carried', len(carried))
sys.exit(0 if s and not bad and own else 1)
PYEOF
rc=$?
cat "$W/cand.out"
check "each searched scale is one candidate, bit for bit, or its pool's input's; some moved" "[ $rc -eq 0 ]"
for t in m s; do
  "$CALIB8" compare "$M" --table "$W/$t.cache" --symmetric --data "$TESTDATA" --max-samples 1000 \
    --json > "$W/cmp_$t.json" 2>/dev/null
done
check "held out, TensorRT mode: logits SQNR above the method's scales'" "'$PY' - '$W' <<'PYEOF'
import json, sys
w = sys.argv[1]
q = [json.load(open(w + '/cmp_%s.json' % t))['outputs'][0]['sqnr_db'] for t in ('m', 's')]
print('logits SQNR dB: method %.2f, searched %.2f' % tuple(q))
sys.exit(0 if q[1] > q[0] else 1)
PYEOF"
cal --sym-search 32 -o "$W/s2.cache" >/dev/null 2>&1
check "deterministic: the same table twice" "cmp -s '$W/s.cache' '$W/s2.cache'"
order_pair "$W" 7
"$CALIB8" calibrate "$M" --data "$W/in_order.npy" --batch 32 --sym-search 32 -q -o "$W/o1.cache" >/dev/null 2>&1
"$CALIB8" calibrate "$M" --data "$W/shuffled.npy" --batch 5 --sym-search 32 -q -o "$W/o2.cache" >/dev/null 2>&1
check "shuffled data, another --batch: the same table" "[ -s '$W/o1.cache' ] && cmp -s '$W/o1.cache' '$W/o2.cache'"
cal --save-stats "$W/st.json" -o "$W/st.cache" >/dev/null 2>&1
"$CALIB8" calibrate "$M" --from-stats "$W/st.json" --data "$DATA" --max-samples 128 --sym-search 32 -q \
  -o "$W/fs.cache" >/dev/null 2>&1
check "--from-stats with the data: the table of one run" "cmp -s '$W/s.cache' '$W/fs.cache'"
"$CALIB8" calibrate "$M" --from-stats "$W/st.json" --sym-search 32 -o "$W/fs0.cache" > "$W/fs0.out" 2>&1
check "--from-stats without data: no search, said, not in the sidecar, the method's scales" \
  "grep -q 'no symmetric scale search' '$W/fs0.out' && ! grep -q sym_search '$W/fs0.cache.calib8.json' && cmp -s '$W/m.cache' '$W/fs0.cache'"
cal -o "$W/d.cache" > "$W/d.out" 2>&1
check "the default searches on 64 samples, recorded in the sidecar" \
  "grep -q '^symmetric scale search at the model output on 64 sample(s)' '$W/d.out' && grep -q '\"sym_search\": \"64\"' '$W/d.cache.calib8.json'"
"$CALIB8" calibrate "$M" --data "$DATA" --max-samples 128 --batch 32 -o "$W/m.cache" --sym-search 32 > "$W/noreuse.out" 2>&1
check "a table written without the search is not reused with it" "grep -q 'not reusing.*method changed' '$W/noreuse.out'"
cal --sym-search -2 -o "$W/bad.cache" > /dev/null 2> "$W/bad.err"
rc=$?
check "--sym-search -2: exit non-zero, nothing written, says what it expected" \
  "[ $rc -ne 0 ] && [ ! -e '$W/bad.cache' ] && grep -q -- \"--sym-search: expected 0 (off) or a number of samples, got '-2'\" '$W/bad.err'"
cal --sym-search abc -o "$W/bad.cache" > /dev/null 2> "$W/bad2.err"
rc=$?
check "--sym-search abc: the same" \
  "[ $rc -ne 0 ] && [ ! -e '$W/bad.cache' ] && grep -q -- \"got 'abc'\" '$W/bad2.err'"
exit $fail
