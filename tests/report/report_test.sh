#!/usr/bin/env bash
# tests/report/report_test.sh CALIB8 SOURCE_DIR — `calib8 calibrate --report` and
# `calib8 compare --report` end to end: calibrate the bundled Fashion-MNIST model, check the HTML
# (one plot per tensor, nothing external, no script), compare FP32 and INT8 with the table, then
# open both reports in headless Chromium and fail on any console error, page error, failed load or
# network request (tests/report/console_check.mjs over the DevTools protocol, plus the
# --enable-logging console lines). A deliberately broken page proves the checks can fail.
# REPORT_ARTIFACTS=DIR keeps the report and a screenshot there. Exit 77 (skip) without Chromium.
set -uo pipefail
CALIB8="$1"; SRC="$2"
HERE="$SRC/tests/report"
MODEL="$SRC/models/fashion_mnist_cnn.onnx"
DATA=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok() { pass=$((pass+1)); echo "ok   $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; }
check() { local what="$1"; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
fails() { ! "$@"; }

# --- calibrate with --report -------------------------------------------------------------------
if "$CALIB8" calibrate "$MODEL" --data "idx:$DATA" --max-samples 200 --quiet \
     --report "$T/R.html" --save-stats "$T/S.json" -o "$T/T.cache" >"$T/out" 2>"$T/err"; then
  ok "calibrate --report exits 0"
else
  bad "calibrate --report exits 0"; cat "$T/err"; echo "$pass passed, $fail failed"; exit 1
fi
check "report file written" test -s "$T/R.html"
check "summary names the report" grep -q "^report: .*R.html" "$T/out"
NT=$(/usr/bin/python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["tensors"]))' \
       "$T/T.cache.calib8.json")
NP=$(grep -o '<div class="plot"' "$T/R.html" | wc -l)
NR=$(grep -c '^<tr><td>[0-9]*</td><td class="l name">' "$T/R.html")
check "one plot per tensor ($NP plots, $NT tensors)" test "$NT" -gt 0 -a "$NP" -eq "$NT"
check "one table row per tensor ($NR rows)" test "$NR" -eq "$NT"
check "KL curves present (entropy2)" grep -q 'class="curve" d="M' "$T/R.html"
check "histograms present" grep -q 'class="hist" d="M' "$T/R.html"
check "summary has fingerprints" grep -q "data fingerprint" "$T/R.html"

# External references: src=/href= to a URL, CSS url()/@import, any script.
no_external() {
  ! grep -Eiq "(src|href)[[:space:]]*=[[:space:]]*[\"']?[[:space:]]*(https?:)?//|https?://|url\(|@import|<script|<iframe|<object|<embed" "$1"
}
check "report references nothing external" no_external "$T/R.html"
SIZE=$(stat -c %s "$T/R.html")
check "report is small ($SIZE bytes for $NT tensors)" test "$SIZE" -lt $((NT * 16384 + 65536))

# A second run with --report recalibrates rather than reusing the table (it needs histograms).
"$CALIB8" calibrate "$MODEL" --data "idx:$DATA" --max-samples 200 --quiet \
  --report "$T/R2.html" -o "$T/T.cache" >"$T/out2" 2>&1
check "--report does not reuse the table without histograms" test -s "$T/R2.html"
# Write failure: nothing half-written, exit 1.
"$CALIB8" calibrate "$MODEL" --data "idx:$DATA" --max-samples 20 --quiet --force \
  --report "$T/no/such/dir/R.html" -o "$T/T3.cache" >"$T/out3" 2>&1
check "unwritable --report path exits 1" test $? -eq 1

# --- headless Chromium -------------------------------------------------------------------------
if [ ! -x "$CHROMIUM" ]; then
  echo "SKIP browser checks: $CHROMIUM missing (scripts/setup.sh installs Debian's chromium)"
  echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ] && exit 77 || exit 1
fi
CHROME_FLAGS=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
              --disable-background-networking --disable-component-update --disable-sync)

# DevTools over --remote-debugging-pipe: any Node (Debian 12's 18.x has no WebSocket client).
console_check() { timeout 90 node "$HERE/console_check.mjs" "$CHROMIUM" "$1" >"$T/cc" 2>&1; }
# The --enable-logging route: every console message is logged as "...:CONSOLE..." on stderr.
log_check() {
  timeout 90 "$CHROMIUM" "${CHROME_FLAGS[@]}" --user-data-dir="$(mktemp -d -p "$T")" \
    --enable-logging=stderr --v=0 --dump-dom "file://$1" >"$T/dom" 2>"$T/log"
  ! grep -q ":CONSOLE" "$T/log"
}

# The checks must be able to fail: a page with a console error, an exception, a missing file and
# a request to the network.
cat >"$T/broken.html" <<'HTML'
<!DOCTYPE html><html><head><meta charset="utf-8"><title>broken</title></head><body>
<script>console.error("deliberate console error");</script>
<script>undefined_function_call();</script>
<img src="missing.png" alt=""><img src="http://192.0.2.1/x.png" alt="">
</body></html>
HTML
console_check "$T/broken.html"; rc=$?
check "DevTools check fails on a broken page (rc $rc)" test "$rc" -eq 1
for what in "console.error: deliberate" "exception: ReferenceError" "ERR_FILE_NOT_FOUND" \
            "network request: http://192.0.2.1"; do
  check "  ... and reports '$what'" grep -q "$what" "$T/cc"
done
[ "$rc" -ne 1 ] && cat "$T/cc"
check "logging check fails on a broken page" fails log_check "$T/broken.html"
check "static check flags the broken page's URL" fails no_external "$T/broken.html"

# The real report.
console_check "$T/R.html"; rc=$?
check "report: no console errors, page errors or requests (DevTools, rc $rc)" test "$rc" -eq 0
[ "$rc" -ne 0 ] && cat "$T/cc"
check "report: Chromium renders $NT plots" grep -q "^plots rendered: $NT$" "$T/cc"
check "report: no console messages (--enable-logging)" log_check "$T/R.html"
check "report: DOM has $NT plots" test "$(grep -o '<div class="plot"' "$T/dom" | wc -l)" -eq "$NT"

timeout 90 "$CHROMIUM" "${CHROME_FLAGS[@]}" --user-data-dir="$(mktemp -d -p "$T")" \
  --hide-scrollbars --window-size=1280,2600 --screenshot="$T/report.png" "file://$T/R.html" \
  >/dev/null 2>&1
check "screenshot taken" test -s "$T/report.png"

# --- the compare report (calib8 compare --report): per-layer SQNR and the precision per node ---
# One node kept FP32 (the plan's first) so that the precision section has a row.
"$CALIB8" plan "$MODEL" --table "$T/T.cache" --json 2>/dev/null | /usr/bin/python3 -c \
  'import json,sys; print(json.load(sys.stdin)["nodes"][0]["node"])' >"$T/keep.txt"
"$CALIB8" compare "$MODEL" --table "$T/T.cache" --data "idx:$DATA" --max-samples 64 \
  --keep-fp32 "$T/keep.txt" --report "$T/C.html" >"$T/cmp_out" 2>"$T/cmp_err"
rc=$?
check "compare --report exits 0 (rc $rc)" test "$rc" -eq 0
[ "$rc" -ne 0 ] && cat "$T/cmp_err"
check "compare report written" test -s "$T/C.html"
check "compare report has the per-layer error section" grep -q '<section id="layers">' "$T/C.html"
check "compare report has the precision per node section" grep -q '<section id="fallbacks">' "$T/C.html"
check "compare report names the node kept FP32" grep -q "excluded by the user" "$T/C.html"
check "compare report references nothing external" no_external "$T/C.html"
# Every section filled from what exists: the sidecar's tensors, a note on how to get histograms.
rows() { grep -c '^<tr><td>[0-9]*</td><td class="l name">' "$1"; }
check "compare report: one tensor row per sidecar tensor ($(rows "$T/C.html") rows, $NT tensors)" \
  test "$(rows "$T/C.html")" -eq "$NT"
check "compare report: not 'Tensors (0)'" fails grep -q 'Tensors (0)' "$T/C.html"
check "compare report: a note says how to get histograms" grep -q 'class="note">No histograms.*--save-stats' "$T/C.html"
check "compare report: percentages with two decimals" grep -Eq 'top-1 agreement [0-9]+\.[0-9]{2}%' "$T/C.html"
check "compare report: no six-decimal percentages" fails grep -Eq '[0-9]\.[0-9]{6}%' "$T/C.html"
check "compare report: the data as one line, not JSON" \
  grep -Eq '<td>data</td><td>idx train-images-idx3-ubyte.gz \(gzip\): first 64 of 60000 samples' "$T/C.html"
check "compare report: no JSON dump" fails grep -q '{&quot;inputs&quot;' "$T/C.html"
check "compare report: calibration data and method from the sidecar" grep -q '<td>calibration data</td>' "$T/C.html"
# With the statistics of calibrate --save-stats: one histogram plot per tensor, curves, no note.
"$CALIB8" compare "$MODEL" --table "$T/T.cache" --data "idx:$DATA" --max-samples 64 --quiet \
  --report "$T/C2.html" --stats "$T/S.json" >/dev/null 2>"$T/cmp_err"
rc=$?
check "compare --report --stats exits 0 (rc $rc)" test "$rc" -eq 0
[ "$rc" -ne 0 ] && cat "$T/cmp_err"
NP2=$(grep -o '<div class="plot"' "$T/C2.html" | wc -l)
check "compare --stats report: one plot per tensor ($NP2 plots, $NT tensors)" test "$NP2" -eq "$NT"
check "compare --stats report: histograms present" grep -q 'class="hist" d="M' "$T/C2.html"
check "compare --stats report: method curves present" grep -q 'class="curve" d="M' "$T/C2.html"
check "compare --stats report: no 'no histograms' note" fails grep -q 'No histograms' "$T/C2.html"
check "compare --stats report: amax agrees with the table (no warning)" fails grep -q 'another calibration' "$T/C2.html"
# The default calibration searched the table's scales: the report says which amax it shows, and why.
check "compare --stats report: the searched scales are explained" \
  grep -q 'hold the amax the symmetric scale search chose (sidecar: sym_search=64)' "$T/C2.html"
check "compare --stats report: the precision section says every node runs INT8" \
  grep -q 'class="note">All [0-9]* nodes of the INT8 plan run INT8' "$T/C2.html"
# A table without its sidecar: tensors from the table, and a note that says why.
mkdir -p "$T/nosidecar" && cp "$T/T.cache" "$T/nosidecar/T.cache"
"$CALIB8" compare "$MODEL" --table "$T/nosidecar/T.cache" --data "idx:$DATA" --max-samples 64 --quiet \
  --report "$T/C3.html" >/dev/null 2>"$T/cmp_err"
check "compare report without sidecar: one row per table entry" test "$(rows "$T/C3.html")" -eq "$NT"
check "compare report without sidecar: a note says the sidecar is missing" \
  grep -q 'class="note">No sidecar next to the table' "$T/C3.html"
"$CALIB8" compare "$MODEL" --table "$T/T.cache" --data "idx:$DATA" --max-samples 8 --quiet \
  --stats "$T/S.json" >/dev/null 2>"$T/cmp_err"
check "--stats without --report exits 1" test $? -eq 1
echo '{"not": "stats"}' >"$T/bad_stats.json"
"$CALIB8" compare "$MODEL" --table "$T/T.cache" --data "idx:$DATA" --max-samples 8 --quiet \
  --report "$T/C4.html" --stats "$T/bad_stats.json" >/dev/null 2>"$T/cmp_err"
rc=$?
check "bad --stats file: exit 1, names the file, no report (rc $rc)" \
  test "$rc" -eq 1 -a ! -e "$T/C4.html" -a -n "$(grep 'bad_stats.json' "$T/cmp_err")"
console_check "$T/C.html"; rc=$?
check "compare report: no console errors, page errors or requests (DevTools, rc $rc)" test "$rc" -eq 0
[ "$rc" -ne 0 ] && cat "$T/cc"
check "compare report: no console messages (--enable-logging)" log_check "$T/C.html"
check "compare report: DOM has the per-layer section" grep -q 'id="layers"' "$T/dom"
console_check "$T/C2.html"; rc=$?
check "compare --stats report: no console errors, page errors or requests (DevTools, rc $rc)" test "$rc" -eq 0
[ "$rc" -ne 0 ] && cat "$T/cc"
check "compare --stats report: Chromium renders $NT plots" grep -q "^plots rendered: $NT$" "$T/cc"
timeout 90 "$CHROMIUM" "${CHROME_FLAGS[@]}" --user-data-dir="$(mktemp -d -p "$T")" \
  --hide-scrollbars --window-size=1200,3000 --screenshot="$T/compare.png" "file://$T/C2.html" \
  >/dev/null 2>&1
check "compare screenshot taken" test -s "$T/compare.png"

if [ -n "${REPORT_ARTIFACTS:-}" ]; then
  mkdir -p "$REPORT_ARTIFACTS" && cp "$T/R.html" "$T/C.html" "$T/C2.html" "$T/C3.html" \
    "$T/report.png" "$T/compare.png" "$REPORT_ARTIFACTS/"
  echo "kept $REPORT_ARTIFACTS/R.html, C.html, C2.html, C3.html, report.png and compare.png"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
