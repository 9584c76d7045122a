#!/usr/bin/env bash
# scripts/demo.sh — README's first command: set up, build, and run calib8's main job on the
# bundled default: calibrate the small CNN trained on Fashion-MNIST (models/fashion_mnist_cnn.onnx)
# on 500 training images of Debian's dataset-fashion-mnist, write the TensorRT cache and its
# sidecar under out/, and summarise them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
MODEL=models/fashion_mnist_cnn.onnx
echo
echo "== calib8 info $MODEL"
build/calib8 info "$MODEL"
mkdir -p out
echo
echo "== calib8 run $MODEL on 8 Fashion-MNIST test images (labels: $(tr '\n' ' ' < models/fashion_mnist_test8.labels.txt))"
build/calib8 run "$MODEL" --input models/fashion_mnist_test8.npy --output-dir out/demo --bench 30
echo
echo "== calib8 calibrate $MODEL on 500 Fashion-MNIST training images (entropy2, TensorRT-compatible)"
build/calib8 calibrate "$MODEL" --data idx:/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz \
  --max-samples 500 --batch 50 -o out/fashion_mnist_cnn.cache
