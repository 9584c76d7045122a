#!/usr/bin/env bash
# bench/int8_vs_ort.sh — calib8 INT8 vs onnxruntime-node running calib8's own Q/DQ export of the
# same model and table (issue 5 item 8), side by side in one run.
#
#   bench/int8_vs_ort.sh [--calib8 PATH] [--iters N] [--threads "1 2"] [--work DIR]
#                        [--models "convnet8 resnet18 det rec"] [--ort-activations u8|mixed|s8]
#
# For each model: calibrate a table once (entropy2, random inputs; reused from --work), then
# `calib8 export-qdq --target ort --placement units` (ONNX Runtime's node units: its most integer
# kernels, the fair speed peer; the accuracy-first default placement follows calib8's plan and
# leaves ORT some FP32 convolutions, docs/qdq.md). For each thread count, one after the other (never at the same
# time): `calib8 run --int8 --table T --bench N` (s8 activations), the same with
# --unsigned-activations (u8: the numerics of the ORT export), and `node tests/models/ort_run.js
# QDQ.onnx --bench N` (intra-op threads T, graph optimisations all). Prints min and median ms and
# the calib8/ORT ratios, then the kernels ORT ran (its profiler, one run) per model.
# On a shared machine run it as `OMP_WAIT_POLICY=passive bench/int8_vs_ort.sh`: with another
# process on a core, calib8's spinning OpenMP threads at --threads 2 lose whole time slices at
# every barrier (measured 61 ms instead of 1.7 ms for the conv net).
# Models: the 8-layer 3x3 conv net (bench/make_convnet.py), ResNet-18, PaddleOCR v4 det
# (1x3x640x640) and rec (1x3x48x320), converted to opset 13 by bench/to_opset13.py (export-qdq
# needs it; calib8 and ORT then both run the converted model).
set -euo pipefail
NAME=int8_vs_ort.sh
HELP_LINES=2,21
MODELS="convnet8 resnet18 det rec"
ORT_ACTS=u8
extra_option() { case "$1" in --ort-activations) ORT_ACTS="$2"; SHIFT=2 ;; *) return 1 ;; esac; }
. "$(dirname "$0")/bench_common.sh"
parse_common_args "$@"
need_ort
WORK="${WORK:-${TMPDIR:-/tmp}/calib8_int8_ort_bench}"
mkdir -p "$WORK"

make_bench_inputs

echo "## calib8 INT8 vs onnxruntime-node $(node -p "require('$ROOT/node_modules/onnxruntime-node/package.json').version") on calib8's Q/DQ export (--target ort, --ort-activations $ORT_ACTS)"
echo
echo "$(machine_line) (start) · repo HEAD $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "?")"
echo "batch 1, one warm-up run then $ITERS timed runs each; times in ms; ratio < 1: calib8 faster; OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-unset} (calib8's OpenMP; ORT has its own pool)"
echo
echo "| model | threads | calib8 s8 min / median | calib8 u8 min / median | ORT min / median | s8/ORT min, median | u8/ORT min, median |"
echo "|---|---:|---:|---:|---:|---:|---:|"
status=0
declare -A KERNELS
for m in $MODELS; do
  mp="$(model_path "$m")"
  [ -f "$mp" ] || { echo "| $m | model file missing: $mp | | | | | |"; status=1; continue; }
  # export-qdq needs opset >= 13: PaddleOCR's opset 9/11 models are converted first; all three runs
  # then use the converted model.
  opset="$("$PY" -c 'import onnx,sys; print([o.version for o in onnx.load(sys.argv[1], load_external_data=False).opset_import if o.domain in ("", "ai.onnx")][0])' "$mp")"
  if [ "$opset" -lt 13 ]; then
    [ -f "$WORK/${m}_op13.onnx" ] || "$PY" "$ROOT/bench/to_opset13.py" "$mp" "$WORK/${m}_op13.onnx" 2>"$WORK/err" || {
      echo "| $m | conversion to opset 13 failed: $(tail -n1 "$WORK/err" | tr '|' '/') | | | | | |"; status=1; continue; }
    mp="$WORK/${m}_op13.onnx"
  fi
  table="$WORK/$m.cache"; qdq="$WORK/$m.ort.qdq.onnx"
  if [ ! -f "$table" ]; then
    "$CALIB8" calibrate "$mp" --data "$WORK/${m}_calib.npy" -o "$table" -q --force >/dev/null 2>"$WORK/err" || {
      echo "| $m | calibrate failed: $(tail -n1 "$WORK/err" | tr '|' '/') | | | | | |"; status=1; continue; }
  fi
  "$CALIB8" export-qdq "$mp" --table "$table" -o "$qdq" --target ort --placement units --ort-activations "$ORT_ACTS" -q 2>"$WORK/err" || {
    echo "| $m | export-qdq failed: $(tail -n1 "$WORK/err" | tr '|' '/') | | | | | |"; status=1; continue; }
  for t in $THREADS; do
    c8() { "$CALIB8" run "$mp" --input "$WORK/${m}_input.npy" --threads "$t" --bench "$ITERS" --int8 --table "$table" "$@" 2>"$WORK/err" | grep '^bench:'; }
    s="$(c8)" || { echo "| $m | $t | calib8 failed: $(tail -n1 "$WORK/err" | tr '|' '/') | | | | |"; status=1; continue; }
    u="$(c8 --unsigned-activations)" || { echo "| $m | $t | | calib8 u8 failed: $(tail -n1 "$WORK/err" | tr '|' '/') | | | |"; status=1; continue; }
    o="$(node "$ORT_RUN" "$qdq" --input "$WORK/${m}_input.npy" --threads "$t" --bench "$ITERS" 2>"$WORK/err" | grep '^bench:')" || {
      echo "| $m | $t | | | ORT failed: $(tail -n1 "$WORK/err" | tr '|' '/') | | |"; status=1; continue; }
    sm=$(echo "$s" | bench_field min_ms); sd=$(echo "$s" | bench_field median_ms)
    um=$(echo "$u" | bench_field min_ms); ud=$(echo "$u" | bench_field median_ms)
    om=$(echo "$o" | bench_field min_ms); od=$(echo "$o" | bench_field median_ms)
    echo "| $m | $t | $sm / $sd | $um / $ud | $om / $od | $(ratio "$sm" "$om"), $(ratio "$sd" "$od") | $(ratio "$um" "$om"), $(ratio "$ud" "$od") |"
  done
  # Which kernels ORT ran: one profiled run (not timed).
  rm -f "$WORK/prof_${m}"_*.json
  KERNELS[$m]="(profile failed)"
  if node "$ORT_RUN" "$qdq" --input "$WORK/${m}_input.npy" --threads 1 --profile "$WORK/prof_$m" >/dev/null 2>&1; then
    KERNELS[$m]="$( ("$PY" "$ROOT/tests/qdq/qdq_check.py" kernels "$(ls "$WORK/prof_${m}"_*.json | head -n1)" 0 || true) | head -n1)"
  fi
done
echo
echo "load avg at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "ORT kernels per run (profiler, 1 thread):"
echo
for m in $MODELS; do [ -n "${KERNELS[$m]:-}" ] && echo "- $m: ${KERNELS[$m]}"; done
exit $status
