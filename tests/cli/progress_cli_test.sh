#!/usr/bin/env bash
# tests/cli/progress_cli_test.sh CALIB8 SOURCE_DIR — progress output of calibrate, compare and
# sensitivity (core/progress.h) when stderr is not a terminal: nothing for work under 2 s, then at
# most one line every 5 s (plus a final line), so the number of lines is bounded by the wall time
# T of the command: lines <= 2 + T/5 (the issue's case printed 20 lines for 500 samples); with
# --quiet stderr stays empty. Long work (compare on 10,000 images) must show progress at all.
set -uo pipefail
CALIB8="$1"; SRC="$2"
MODEL="$SRC/models/fashion_mnist_cnn.onnx"
FM=/usr/share/datasets/fashion-mnist
[ -f "$FM/train-images-idx3-ubyte.gz" ] || { echo "SKIP: $FM missing (dataset-fashion-mnist)"; exit 77; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok() { pass=$((pass+1)); echo "ok   $1"; }
bad() { fail=$((fail+1)); echo "FAIL $1"; [ -f "$T/err" ] && head -5 "$T/err"; }
check() { local what="$1"; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

# Runs a command with stdout to $T/out and stderr to $T/err; sets SECS (wall, integer ms / 1000).
timed() {
  local t0 t1
  t0=$(date +%s%N)
  "$@" >"$T/out" 2>"$T/err"
  RC=$?
  t1=$(date +%s%N)
  MS=$(( (t1 - t0) / 1000000 ))
}
# Progress lines allowed for a command that ran MS milliseconds.
allowed() { echo $(( MS < 2000 ? 0 : 2 + MS / 5000 )); }
lines() { grep -c "$1" "$T/err"; }

# calibrate: 500 samples in batches of 10, two passes: 100 progress updates.
timed "$CALIB8" calibrate "$MODEL" --data "idx:$FM/train-images-idx3-ubyte.gz" --max-samples 500 \
  --batch 10 -o "$T/a.cache" --force
n=$(lines "calibrate pass"); a=$(allowed)
check "calibrate exits 0" test "$RC" -eq 0
check "calibrate: $n progress line(s) in ${MS} ms (at most $a)" test "$n" -le "$a"
check "calibrate: no carriage returns when stderr is a file" test "$(tr -cd '\r' <"$T/err" | wc -c)" -eq 0
timed "$CALIB8" calibrate "$MODEL" --data "idx:$FM/train-images-idx3-ubyte.gz" --max-samples 500 \
  --batch 10 -o "$T/a.cache" --force --quiet
check "calibrate --quiet: stderr empty" test ! -s "$T/err"
check "calibrate --quiet: summary still on stdout" grep -q "^calibrated 11 tensors" "$T/out"

# compare on the full test set: long enough (seconds) that progress must appear, rate-limited.
timed "$CALIB8" compare "$MODEL" --table "$T/a.cache" --data "idx:$FM/t10k-images-idx3-ubyte.gz" \
  --batch 100 --threads 1
n=$(lines "^compare FP32 vs INT8: "); a=$(allowed)
check "compare exits 0" test "$RC" -eq 0
check "compare: $n progress line(s) in ${MS} ms (at most $a)" test "$n" -le "$a"
if [ "$MS" -ge 3000 ]; then
  check "compare: progress shown for ${MS} ms of work" test "$n" -ge 1
  check "compare: lines carry samples/s" grep -q "samples (.*%), .* samples/s" "$T/err"
  check "compare: last line is the whole set" grep -q "10000/10000 samples (100%)" "$T/err"
else
  echo "note: compare took ${MS} ms (< 3 s): presence of progress not checked"
fi
timed "$CALIB8" compare "$MODEL" --table "$T/a.cache" --data "idx:$FM/t10k-images-idx3-ubyte.gz" \
  --max-samples 2000 --quiet
check "compare --quiet exits 0" test "$RC" -eq 0
check "compare --quiet: stderr empty" test ! -s "$T/err"

# sensitivity: FP32 reference, then 1 + 2 x layers INT8 runs (+ plan search).
timed "$CALIB8" sensitivity "$MODEL" --table "$T/a.cache" --data "idx:$FM/t10k-images-idx3-ubyte.gz" \
  --max-samples 300 --max-drop 100
n=$(lines "^sensitivity "); a=$(allowed)
check "sensitivity exits 0" test "$RC" -eq 0
check "sensitivity: $n progress line(s) in ${MS} ms (at most $a)" test "$n" -le "$a"
timed "$CALIB8" sensitivity "$MODEL" --table "$T/a.cache" --data "idx:$FM/t10k-images-idx3-ubyte.gz" \
  --max-samples 300 --max-drop 100 --quiet
check "sensitivity --quiet: stderr empty" test ! -s "$T/err"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
