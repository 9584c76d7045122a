#!/usr/bin/python3
"""Export ResNet-18 and MobileNetV2 with random weights (fixed seed) to ONNX, opset 13.

    /usr/bin/python3 scripts/gen_torchvision_models.py [--out-dir models/generated] [--force]

Needs Debian's python3-torch (and python3-torchvision when installable; without it the two
architectures are built from this file's own definitions, which follow the published ones:
He et al. 2015 "Deep Residual Learning", Sandler et al. 2018 "MobileNetV2", laid out as in
torchvision so that state_dict keys and shapes match). Use /usr/bin/python3: a python3 earlier on
PATH (pyenv, venv) does not see Debian's packages.

Writes <out-dir>/resnet18.onnx and <out-dir>/mobilenet_v2.onnx, input 'input' of 1x3x224x224
float32, output 'logits' of 1x1000. Skips a model whose file already exists (idempotent), unless
--force. Weights: the architecture's own initialisation under torch.manual_seed(seed), plus
BatchNorm affine parameters and running statistics drawn at random so that BN is not an identity.
"""
import argparse
import os
import sys
import tempfile

import torch
from torch import nn

OPSET = 13
SEED = 20240607


# ---- own definitions (used only when torchvision is missing) ------------------------------------

class _BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class _ResNet18(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._layer(64, 2, 1)
        self.layer2 = self._layer(128, 2, 2)
        self.layer3 = self._layer(256, 2, 2)
        self.layer4 = self._layer(512, 2, 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def _layer(self, planes, blocks, stride):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes, 1, stride, bias=False),
                                       nn.BatchNorm2d(planes))
        layers = [_BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        layers += [_BasicBlock(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def _make_divisible(v, divisor=8):
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class _ConvBNReLU6(nn.Sequential):
    def __init__(self, inp, out, kernel=3, stride=1, groups=1):
        super().__init__(nn.Conv2d(inp, out, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(out), nn.ReLU6(inplace=True))


class _InvertedResidual(nn.Module):
    def __init__(self, inp, oup, stride, expand_ratio):
        super().__init__()
        hidden = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers = []
        if expand_ratio != 1:
            layers.append(_ConvBNReLU6(inp, hidden, kernel=1))
        layers += [_ConvBNReLU6(hidden, hidden, stride=stride, groups=hidden),
                   nn.Conv2d(hidden, oup, 1, 1, 0, bias=False), nn.BatchNorm2d(oup)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class _MobileNetV2(nn.Module):
    # (expansion t, output channels c, repeats n, first stride s), width multiplier 1.0
    SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]

    def __init__(self, num_classes=1000):
        super().__init__()
        inp = _make_divisible(32)
        last = _make_divisible(1280)
        features = [_ConvBNReLU6(3, inp, stride=2)]
        for t, c, n, s in self.SETTINGS:
            out = _make_divisible(c)
            for i in range(n):
                features.append(_InvertedResidual(inp, out, s if i == 0 else 1, t))
                inp = out
        features.append(_ConvBNReLU6(inp, last, kernel=1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = nn.functional.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))


def build(name):
    try:
        import torchvision.models as tvm
        return {"resnet18": tvm.resnet18, "mobilenet_v2": tvm.mobilenet_v2}[name](weights=None), "torchvision"
    except ImportError:
        return {"resnet18": _ResNet18, "mobilenet_v2": _MobileNetV2}[name](), "own definition"


def randomise_batchnorm(model, gen):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            with torch.no_grad():
                m.weight.copy_(torch.empty(c).uniform_(0.5, 1.5, generator=gen))
                m.bias.copy_(torch.randn(c, generator=gen) * 0.1)
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
                m.running_var.copy_(torch.empty(c).uniform_(0.5, 1.5, generator=gen))


def export(name, path, seed):
    torch.manual_seed(seed)
    model, origin = build(name)
    randomise_batchnorm(model, torch.Generator().manual_seed(seed + 1))
    model.eval()
    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(seed + 2))
    fd, tmp = tempfile.mkstemp(suffix=".onnx", dir=os.path.dirname(path))
    os.close(fd)
    try:
        with torch.no_grad():
            torch.onnx.export(model, x, tmp, opset_version=OPSET, input_names=["input"],
                              output_names=["logits"], do_constant_folding=True)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    print(f"wrote {path} ({name}, {origin}, seed {seed}, opset {OPSET})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--out-dir", default=os.path.join(root, "models", "generated"))
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--force", action="store_true", help="re-export even if the file exists")
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    for name in ("resnet18", "mobilenet_v2"):
        path = os.path.join(args.out_dir, name + ".onnx")
        if os.path.exists(path) and not args.force:
            print(f"{path} exists, skipped")
            continue
        export(name, path, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
