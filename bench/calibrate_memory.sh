#!/usr/bin/env bash
# bench/calibrate_memory.sh [BUILD_DIR] — peak RSS of `calib8 calibrate` for 100 and 2000 samples
# of the same model and data (issue 4: ratio <= 1.1: statistics must not grow with the data).
# Also runs calib8_calibrate_bench (calibration vs one FP32 inference pass, same run).
set -euo pipefail
cd "$(dirname "$0")/.."
B="${1:-build}"
MODEL=models/fashion_mnist_cnn.onnx
DATA=idx:/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  machine: $(lscpu | sed -n 's/Model name: *//p'), $(nproc) cores"
declare -A rss
for n in 100 2000; do
  /usr/bin/time -f "%M" -o "$T/rss$n" "$B/calib8" calibrate "$MODEL" --data "$DATA" --max-samples $n \
    --batch 50 --threads 1 -o "$T/t$n.cache" --quiet --force >/dev/null
  rss[$n]=$(cat "$T/rss$n")
  echo "samples=$n peak_rss_kib=${rss[$n]}"
done
awk -v a="${rss[100]}" -v b="${rss[2000]}" 'BEGIN { printf "peak_rss_ratio_2000_over_100=%.3f\n", b / a }'
for t in 1 2; do "$B/calib8_calibrate_bench" "$MODEL" "$DATA" --samples 2000 --batch 50 --threads $t --reps 3; done
