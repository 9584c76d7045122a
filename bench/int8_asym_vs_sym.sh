#!/usr/bin/env bash
# bench/int8_asym_vs_sym.sh — calib8's default INT8 (asymmetric u8 activations with zero points,
# from the table's sidecar) against the symmetric s8 path (`--symmetric`, TensorRT mode), side by
# side in one run (issue 10: "INT8 latency within 5% of today's symmetric path").
#
#   bench/int8_asym_vs_sym.sh [--calib8 PATH] [--iters N] [--threads "1 2"] [--work DIR]
#                             [--models "resnet18 det rec"]
#
# For each model: calibrate once with the default method on seeded inputs (reused from --work),
# then per thread count, alternating, `calib8 run --int8 --table T --bench N` with and without
# --symmetric. Prints min and median ms of both and the asym/sym ratios, and how many nodes run
# INT8 in each plan.
set -euo pipefail
NAME=int8_asym_vs_sym.sh
HELP_LINES=2,12
MODELS="resnet18 det rec"
. "$(dirname "$0")/bench_common.sh"
parse_common_args "$@"
WORK="${WORK:-${TMPDIR:-/tmp}/calib8_asym_bench}"
mkdir -p "$WORK"
make_bench_inputs
echo "## calib8 INT8: asymmetric u8 (default with a sidecar) vs symmetric s8 (--symmetric), git $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)"; machine_line
echo "| model | threads | symmetric s8 min / median ms | asymmetric u8 min / median ms | asym/sym (min, median) | INT8 nodes sym / asym |"
echo "|---|---|---|---|---|---|"
for m in $MODELS; do
  model=$(model_path "$m")
  [ -f "$WORK/$m.cache.calib8.json" ] || "$CALIB8" calibrate "$model" --data "$WORK/${m}_calib.npy" -o "$WORK/$m.cache" -q --force >/dev/null
  nodes() { "$CALIB8" plan "$model" --table "$WORK/$m.cache" "$@" 2>/dev/null | grep -c '^INT8' || true; }
  ns=$(nodes --symmetric); na=$(nodes)
  for t in $THREADS; do
    run() { "$CALIB8" run "$model" --input "$WORK/${m}_input.npy" --threads "$t" --bench "$ITERS" --int8 --table "$WORK/$m.cache" "$@" 2>/dev/null | grep '^bench:'; }
    s=$(run --symmetric); a=$(run); s2=$(run --symmetric); a2=$(run)
    pick() { echo "$1" | sed -n "s/.*$2=\([0-9.]*\).*/\1/p"; }
    mn() { awk -v a="$1" -v b="$2" 'BEGIN{print (a<b)?a:b}'; }
    sm=$(mn "$(pick "$s" min_ms)" "$(pick "$s2" min_ms)"); am=$(mn "$(pick "$a" min_ms)" "$(pick "$a2" min_ms)")
    sd=$(mn "$(pick "$s" median_ms)" "$(pick "$s2" median_ms)"); ad=$(mn "$(pick "$a" median_ms)" "$(pick "$a2" median_ms)")
    r() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", a/b}'; }
    echo "| $m | $t | $sm / $sd | $am / $ad | $(r "$am" "$sm"), $(r "$ad" "$sd") | $ns / $na |"
  done
done
