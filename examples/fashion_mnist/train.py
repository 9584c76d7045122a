#!/usr/bin/python3
"""Trains the bundled default model: a small CNN on Fashion-MNIST (Debian's dataset-fashion-mnist).

Deterministic (fixed seed, one thread). Writes models/fashion_mnist_cnn.onnx (opset 13, input
"image" float32 [N,1,28,28] in [0,1], output "logits" [N,10]) and models/fashion_mnist_cnn.json
with the FP32 test accuracy. Uses Debian's python3-torch, python3-onnx and python3-numpy only.

    /usr/bin/python3 examples/fashion_mnist/train.py [--epochs 4] [--out models]
"""
import argparse
import gzip
import json
import os
import struct

import numpy as np
import torch
import torch.nn as nn

DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


class SmallCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(),
                                        nn.Linear(128, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--out", default="models")
    args = ap.parse_args()
    torch.manual_seed(0)
    np.random.seed(0)
    torch.set_num_threads(1)
    xtr = read_idx(f"{DATA}/train-images-idx3-ubyte.gz").astype(np.float32)[:, None] / 255.0
    ytr = read_idx(f"{DATA}/train-labels-idx1-ubyte.gz").astype(np.int64)
    xte = read_idx(f"{DATA}/t10k-images-idx3-ubyte.gz").astype(np.float32)[:, None] / 255.0
    yte = read_idx(f"{DATA}/t10k-labels-idx1-ubyte.gz").astype(np.int64)
    model = SmallCnn()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    loss_fn = nn.CrossEntropyLoss()
    xtr_t, ytr_t = torch.from_numpy(xtr), torch.from_numpy(ytr)
    g = torch.Generator().manual_seed(0)
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(xtr_t), generator=g)
        for i in range(0, len(perm), 128):
            idx = perm[i:i + 128]
            opt.zero_grad()
            loss = loss_fn(model(xtr_t[idx]), ytr_t[idx])
            loss.backward()
            opt.step()
        print(f"epoch {epoch + 1}: last batch loss {loss.item():.4f}", flush=True)
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(torch.from_numpy(xte[i:i + 1000])).argmax(1) for i in range(0, len(xte), 1000)])
    acc = float((pred.numpy() == yte).mean())
    print(f"FP32 test accuracy: {acc * 100:.2f}%")
    os.makedirs(args.out, exist_ok=True)
    onnx_path = os.path.join(args.out, "fashion_mnist_cnn.onnx")
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), onnx_path, opset_version=13,
                      input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}})
    with open(os.path.join(args.out, "fashion_mnist_cnn.json"), "w") as f:
        json.dump({"model": "fashion_mnist_cnn.onnx", "dataset": "Debian dataset-fashion-mnist",
                   "train_images": int(len(xtr)), "test_images": int(len(xte)), "epochs": args.epochs,
                   "seed": 0, "fp32_test_top1": round(acc * 100, 2),
                   "torch": torch.__version__}, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
