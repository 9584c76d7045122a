#!/usr/bin/env bash
# bench/int8_vs_fp32.sh — calib8 INT8 vs calib8 FP32, side by side in one run (issue 5 item 8).
#
#   bench/int8_vs_fp32.sh [--calib8 PATH] [--iters N] [--threads "1 2"] [--work DIR]
#
# Models: the 8-layer 3x3 conv net (bench/make_convnet.py: 64-128 channels, 56x56) and ResNet-18
# (scripts/gen_torchvision_models.py -> models/generated/resnet18.onnx), batch 1, random weights,
# tables calibrated (entropy2) on 16 random inputs. For each model and thread count: FP32, INT8
# (s8 activations) and INT8 --unsigned-activations, each `calib8 run --bench N` (one warm-up, N
# timed runs); prints a markdown table of min and median ms and the FP32/INT8 ratios.
# FP32 is measured as `run --int8` with an empty table: every node FP32 with the same epilogue
# fusion (works around ir::FuseEpilogues fusing one residual Add into two convs on ResNet).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CALIB8="${CALIB8:-$ROOT/build/calib8}"
ITERS=30
THREADS="1 2"
WORK="${TMPDIR:-/tmp}/calib8_int8_bench"
while [ $# -gt 0 ]; do
  case "$1" in
    --calib8) CALIB8="$2"; shift 2 ;;
    --iters) ITERS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --work) WORK="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "int8_vs_fp32.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[ -x "$CALIB8" ] || { echo "int8_vs_fp32.sh: calib8 not found at $CALIB8 (--calib8 PATH)" >&2; exit 1; }
PY=/usr/bin/python3
mkdir -p "$WORK"
[ -f "$WORK/convnet8.onnx" ] || "$PY" "$ROOT/bench/make_convnet.py" "$WORK" >/dev/null
RESNET="$ROOT/models/generated/resnet18.onnx"
[ -f "$RESNET" ] || "$PY" "$ROOT/scripts/gen_torchvision_models.py" >/dev/null
echo "TRT-8601-EntropyCalibration2" > "$WORK/empty.cache"
for m in convnet8 resnet18; do
  model="$WORK/$m.onnx"; [ "$m" = resnet18 ] && model="$RESNET"
  [ -f "$WORK/$m.cache" ] || "$CALIB8" calibrate "$model" --data "$WORK/${m}_calib.npy" -o "$WORK/$m.cache" -q --force >/dev/null
done
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
echo "| model | threads | FP32 min / median ms | INT8 s8 min / median ms | INT8 u8 min / median ms | FP32/INT8 s8 (min, median) | FP32/INT8 u8 (min, median) |"
echo "|---|---|---|---|---|---|---|"
for m in convnet8 resnet18; do
  model="$WORK/$m.onnx"; [ "$m" = resnet18 ] && model="$RESNET"
  for t in $THREADS; do
    run() { "$CALIB8" run "$model" --input "$WORK/${m}_input.npy" --threads "$t" --bench "$ITERS" --int8 "$@" 2>/dev/null | grep '^bench:'; }
    f=$(run --table "$WORK/empty.cache"); s=$(run --table "$WORK/$m.cache"); u=$(run --table "$WORK/$m.cache" --unsigned-activations)
    fm=$(echo "$f" | field min_ms); fd=$(echo "$f" | field median_ms)
    sm=$(echo "$s" | field min_ms); sd=$(echo "$s" | field median_ms)
    um=$(echo "$u" | field min_ms); ud=$(echo "$u" | field median_ms)
    r() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1fx", a/b}'; }
    echo "| $m | $t | $fm / $fd | $sm / $sd | $um / $ud | $(r $fm $sm), $(r $fd $sd) | $(r $fm $um), $(r $fd $ud) |"
  done
done
