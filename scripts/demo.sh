#!/usr/bin/env bash
# scripts/demo.sh — README's first command: set up, build, and run calib8's main job on the
# bundled default (a small CNN trained on Fashion-MNIST, models/fashion_mnist_cnn.onnx, run on
# real Fashion-MNIST test images shipped beside it).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
MODEL=models/fashion_mnist_cnn.onnx
echo
echo "== calib8 info $MODEL"
build/calib8 info "$MODEL"
echo
echo "== calib8 run $MODEL on 8 Fashion-MNIST test images (labels: $(tr '\n' ' ' < models/fashion_mnist_test8.labels.txt))"
mkdir -p out
build/calib8 run "$MODEL" --input models/fashion_mnist_test8.npy --output-dir out/demo --bench 30
echo "outputs written to out/demo/"
