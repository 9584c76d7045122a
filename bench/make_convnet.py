#!/usr/bin/python3
"""bench/make_convnet.py — writes the 8-layer 3x3 conv net of issue 5 item 8 (64-128 channels,
56x56, batch 1, ReLU after every conv, random weights) as ONNX opset 13, plus random calibration
inputs for it and for ResNet-18, for bench/int8_vs_fp32.sh.

  /usr/bin/python3 bench/make_convnet.py OUT_DIR
writes OUT_DIR/convnet8.onnx, OUT_DIR/convnet8_input.npy [1,64,56,56],
OUT_DIR/convnet8_calib.npy [16,64,56,56], OUT_DIR/resnet18_input.npy [1,3,224,224] and
OUT_DIR/resnet18_calib.npy [16,3,224,224] (|N(0,1)| for the conv net: it stands for post-ReLU
features; N(0,1) for ResNet-18's normalised images).
"""
import os
import sys

import numpy as np
import torch
from torch import nn


class ConvNet8(nn.Module):
    def __init__(self):
        super().__init__()
        chans = [64, 64, 64, 64, 64, 128, 128, 128, 128]
        layers = []
        for cin, cout in zip(chans[:-1], chans[1:]):
            layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU()]
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "models/generated"
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = ConvNet8().eval()
    x = torch.randn(1, 64, 56, 56).abs()
    torch.onnx.export(model, x, os.path.join(out, "convnet8.onnx"), opset_version=13,
                      input_names=["input"], output_names=["features"])
    np.save(os.path.join(out, "convnet8_input.npy"), x.numpy())
    np.save(os.path.join(out, "convnet8_calib.npy"),
            np.abs(rng.standard_normal((16, 64, 56, 56))).astype(np.float32))
    np.save(os.path.join(out, "resnet18_input.npy"),
            rng.standard_normal((1, 3, 224, 224)).astype(np.float32))
    np.save(os.path.join(out, "resnet18_calib.npy"),
            rng.standard_normal((16, 3, 224, 224)).astype(np.float32))
    print("wrote", out)


if __name__ == "__main__":
    main()
