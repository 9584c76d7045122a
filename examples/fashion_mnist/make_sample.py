#!/usr/bin/python3
"""Writes the first N Fashion-MNIST test images as a float32 .npy in [0,1], shape [N,1,28,28],
and their labels as text (one per line). The bundled demo runs calib8 on this file.

    /usr/bin/python3 examples/fashion_mnist/make_sample.py [--n 8] [--out models]
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train import DATA, read_idx  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--n", type=int, default=8)
ap.add_argument("--out", default="models")
a = ap.parse_args()
x = read_idx(f"{DATA}/t10k-images-idx3-ubyte.gz")[: a.n].astype(np.float32)[:, None] / 255.0
y = read_idx(f"{DATA}/t10k-labels-idx1-ubyte.gz")[: a.n]
np.save(os.path.join(a.out, f"fashion_mnist_test{a.n}.npy"), x)
with open(os.path.join(a.out, f"fashion_mnist_test{a.n}.labels.txt"), "w") as f:
    f.write("".join(f"{int(v)}\n" for v in y))
