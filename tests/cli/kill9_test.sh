#!/usr/bin/env bash
# tests/cli/kill9_test.sh CALIB8 SOURCE_DIR — kill -9 at random points while calibrate, convert,
# merge, export-qdq and merge-stats write (issue 16 item 4). After each kill the destination must
# be byte-identical to the old file or to the complete new output (from an uninterrupted run),
# never anything else; calibrate's table must never be newer than its sidecar. Then one
# uninterrupted run must leave no temporary file behind (core::WriteFileAtomic removes the ones
# a killed writer left, and keeps those of a writer still running).
set -uo pipefail
CALIB8="$1"; SRC="$2"
W="$(mktemp -d)"; trap 'rm -rf "$W"' EXIT
M="$SRC/models/fashion_mnist_cnn.onnx"; X="$SRC/models/fashion_mnist_test8.npy"
KILLS="${CALIB8_KILL9_ROUNDS:-8}"
RANDOM=16  # reproducible kill points
fail=0; n_ok=0
bad() { echo "FAIL: $*"; fail=1; }
ms() { date +%s%N | cut -c1-13; }

# Inputs, and each command's old destination (made with other settings) and new reference.
"$CALIB8" calibrate "$M" --data "$X" --method minmax -o "$W/a.cache" -q --save-stats "$W/s1.json" >/dev/null 2>&1 || bad "setup a"
"$CALIB8" calibrate "$M" --data "$X" --method percentile -o "$W/b.cache" -q --save-stats "$W/s2.json" >/dev/null 2>&1 || bad "setup b"

# run_case NAME DEST OLD_FILE -- COMMAND...: DEST starts as OLD_FILE each round.
run_case() {
  local name="$1" dest="$2" old="$3"; shift 4
  local ref="$W/ref.$name"
  cp "$old" "$dest"; rm -f "$dest.calib8.json"
  [ -f "$old.calib8.json" ] && cp "$old.calib8.json" "$dest.calib8.json"
  local t0; t0=$(ms); "$@" >/dev/null 2>&1 || { bad "$name: uninterrupted run failed: $*"; return; }
  local dur=$(( $(ms) - t0 + 20 ))
  cp "$dest" "$ref"; [ -f "$dest.calib8.json" ] && cp "$dest.calib8.json" "$ref.calib8.json"
  cmp -s "$ref" "$old" && { bad "$name: the new output equals the old one (test is void)"; return; }
  local r hit_old=0 hit_new=0
  for r in $(seq 1 "$KILLS"); do
    cp "$old" "$dest"; rm -f "$dest.calib8.json"
    [ -f "$old.calib8.json" ] && cp "$old.calib8.json" "$dest.calib8.json"
    "$@" >/dev/null 2>&1 &
    local pid=$!
    local delay=$(( RANDOM % (dur + 1) ))
    sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
    kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    if cmp -s "$dest" "$old"; then hit_old=$((hit_old + 1))
    elif cmp -s "$dest" "$ref"; then hit_new=$((hit_new + 1))
    else bad "$name: round $r (kill after ${delay} ms): destination is neither the old nor the new file"; fi
    if [ -f "$ref.calib8.json" ] && cmp -s "$dest" "$ref" && ! cmp -s "$dest.calib8.json" "$ref.calib8.json"; then
      bad "$name: round $r: the new table sits beside the old sidecar"
    fi
  done
  local stale; stale=$(find "$W" -name '.*.tmp.*' | wc -l)
  # The next uninterrupted run (from the old file, so that calibrate does not reuse) cleans up
  # what the killed runs left.
  # Kills rarely land inside the write itself (it takes microseconds), so a temporary file as a
  # killed writer leaves it is planted too: one of a process that has exited (must go) and one of
  # this live shell (a writer still running: must stay).
  cp "$old" "$dest"; [ -f "$old.calib8.json" ] && cp "$old.calib8.json" "$dest.calib8.json"
  true & local dead=$!; wait "$dead"
  local base; base=$(basename "$dest")
  echo partial > "$(dirname "$dest")/.$base.tmp.$dead"
  echo partial > "$(dirname "$dest")/.$base.tmp.$$"
  "$@" >/dev/null 2>&1 || bad "$name: run after the kills failed"
  cmp -s "$dest" "$ref" || bad "$name: run after the kills wrote something else"
  [ -e "$(dirname "$dest")/.$base.tmp.$$" ] || bad "$name: a live writer's temporary file was removed"
  rm -f "$(dirname "$dest")/.$base.tmp.$$"
  local left; left=$(find "$W" -name '.*.tmp.*' | wc -l)
  [ "$left" -eq 0 ] || { bad "$name: $left temporary files left: $(find "$W" -name '.*.tmp.*' | head -3)"; find "$W" -name '.*.tmp.*' -delete; }
  echo "ok   $name: $KILLS kills within ${dur} ms: $hit_old left the old file, $hit_new the new one; $stale temporary files left by the kills (+1 planted), removed by the next run"
  n_ok=$((n_ok + 1))
}

cp "$W/a.cache" "$W/old.cache"; cp "$W/a.cache.calib8.json" "$W/old.cache.calib8.json"
run_case calibrate "$W/t.cache" "$W/old.cache" -- "$CALIB8" calibrate "$M" --data "$X" -o "$W/t.cache" -q
"$CALIB8" convert "$W/b.cache" --to json -o "$W/old.json" >/dev/null 2>&1
run_case convert "$W/t.json" "$W/old.json" -- "$CALIB8" convert "$W/a.cache" --to json -o "$W/t.json"
run_case merge "$W/m.cache" "$W/b.cache" -- "$CALIB8" merge "$W/a.cache" "$W/b.cache" --on-conflict max -o "$W/m.cache"
"$CALIB8" export-qdq "$M" --table "$W/b.cache" --symmetric -o "$W/old.onnx" >/dev/null 2>&1
run_case export-qdq "$W/q.onnx" "$W/old.onnx" -- "$CALIB8" export-qdq "$M" --table "$W/a.cache" -o "$W/q.onnx"
run_case merge-stats "$W/s.json" "$W/s1.json" -- "$CALIB8" merge-stats "$W/s1.json" "$W/s2.json" -o "$W/s.json"

echo "$n_ok of 5 commands passed"
[ $fail -eq 0 ] && [ "$n_ok" -eq 5 ]
