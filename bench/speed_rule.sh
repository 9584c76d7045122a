#!/usr/bin/env bash
# bench/speed_rule.sh [BENCH_BINARY] [extra Google Benchmark flags] — runs
# calib8_speed_rule_bench (bench/speed_rule_bench.cc) and prints, per layer, its MACs per element
# crossing an FP32 border, FP32 and INT8-island CPU time per run (µs) and their ratio, sorted by
# MACs per element: the table behind the "no speed benefit" rule (bench/RESULTS.md, docs/int8.md).
# Build: cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCALIB8_BUILD_BENCH=ON &&
#        cmake --build build --target calib8_speed_rule_bench   (needs libbenchmark-dev)
set -euo pipefail
BIN="${1:-build/calib8_speed_rule_bench}"; shift || true
OUT="$(mktemp)"; trap 'rm -f "$OUT"' EXIT
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
"$BIN" --benchmark_min_time=0.3 --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
  --benchmark_out="$OUT" --benchmark_out_format=json "$@" >/dev/null
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$OUT" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
r = {}
for b in j["benchmarks"]:
    if b.get("aggregate_name", "median") != "median" or b.get("error_occurred"):
        continue
    kind, name = b["name"].split("/", 1)
    r.setdefault(name.split("/")[0], {})[kind] = b
rows = sorted((d["fp32"]["mpe"], n, d["fp32"]["macs"], d["fp32"]["cpu_time"], d["int8"]["cpu_time"])
              for n, d in r.items() if "fp32" in d and "int8" in d)
print("| MACs/element | layer | MACs | FP32 µs | INT8 island µs | INT8/FP32 |")
print("|---:|---|---:|---:|---:|---:|")
for mpe, n, macs, f, i in rows:
    print(f"| {mpe:.1f} | {n} | {macs/1e6:.3g} M | {f:.1f} | {i:.1f} | {i/f:.2f} |")
PY
