#!/usr/bin/env bash
# bench/calibrate_cost.sh [BUILD_DIR] [REPS] — calibration cost against one FP32 inference pass
# over the same samples (issue 15 item 7: <= 2.0x), in one run, 1 and 2 threads:
#   demo       models/fashion_mnist_cnn.onnx, 500 Fashion-MNIST training images (idx: .gz,
#              streamed), batch 50 — what scripts/demo.sh calibrates
#   resnet18   models/generated/resnet18.onnx, 32 Fashion-MNIST test images upscaled to
#              3x224x224 (.npy), batch 1 — as in RESULTS.md's earlier calibration-cost runs
# Each calib8_calibrate_bench line: min/median seconds of each and the per-repetition ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
B="${1:-build}"
REPS="${2:-7}"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
echo "date: $(date -u '+%a %b %d %H:%M UTC %Y')  load: $(cut -d' ' -f1-3 /proc/loadavg)"
lscpu | head -n 20 | grep -E '^(Architecture|CPU\(s\)|Model name|Thread|Core|Socket)' | sed 's/^/  /'
echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo '+dirty')"
for t in 1 2; do
  "$B/calib8_calibrate_bench" models/fashion_mnist_cnn.onnx \
    idx:/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz \
    --samples 500 --batch 50 --threads $t --reps "$REPS"
done
if [ -f models/generated/resnet18.onnx ]; then
  /usr/bin/python3 - "$T/fm224.npy" <<'PYEOF'
import gzip, sys, numpy as np
raw = gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz").read()
x = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28)[:32].astype(np.float32) / 255
x = x.repeat(8, 1).repeat(8, 2)[:, None].repeat(3, 1)
np.save(sys.argv[1], ((x - 0.45) / 0.226).astype(np.float32))
PYEOF
  for t in 1 2; do
    "$B/calib8_calibrate_bench" models/generated/resnet18.onnx "$T/fm224.npy" \
      --samples 32 --batch 1 --threads $t --reps "$REPS"
  done
else
  echo "resnet18: models/generated/resnet18.onnx missing (scripts/gen_torchvision_models.py)"
fi
