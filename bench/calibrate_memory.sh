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

# A heavier network, where the per-element statistics cost less relative to the convolutions:
# ResNet-18 (random weights, scripts/gen_torchvision_models.py) on 64 real Fashion-MNIST images
# upscaled to 3x224x224 (nearest, x8) and normalised.
if [ -f models/generated/resnet18.onnx ]; then
  /usr/bin/python3 - "$T/fm224.npy" <<'PYEOF'
import gzip, sys, numpy as np
raw = gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz").read()
x = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28)[:64].astype(np.float32) / 255
x = x.repeat(8, 1).repeat(8, 2)[:, None].repeat(3, 1)
np.save(sys.argv[1], ((x - 0.45) / 0.226).astype(np.float32))
PYEOF
  for t in 1 2; do "$B/calib8_calibrate_bench" models/generated/resnet18.onnx "$T/fm224.npy" --samples 32 --batch 1 --threads $t --reps 3; done
fi
