"""calib8_torch: fine-tune a PyTorch model in 8 bits with the scales of a calib8/TensorRT table.

Pure Python (torch and numpy; onnx only for load_onnx_weights). The input is the file
`calib8 convert TABLE --to pytorch --model MODEL.onnx -o scales.json` writes; the output a Q/DQ
ONNX model (opset 13) that `calib8 import-qdq` turns back into a table. docs/fine-tuning.md
explains the numbers; in short, for a table entry with float32 scale bits h:

    scale = float32 from the 8 hex digits h            (exact: never re-derived from amax)
    amax  = 127 * scale
    x_fq  = clamp(round_half_even(x / scale), -128, 127) * scale     zero point 0

which is ONNX QuantizeLinear/DequantizeLinear with an int8 zero point 0 and calib8's symmetric
INT8 run. Weights: per output channel, scale_c = max|W_c| / 127, zero point 0, recomputed from
the current weights at every step (so the exported scales are the ones calib8's lowering computes).

    import calib8_torch as c8
    scales = c8.load_scales("scales.json")
    c8.attach(model, scales)                 # fake quantizers on every weighted module
    ... train ...
    c8.export_qdq(model, torch.zeros(1, 1, 28, 28), "model.qdq.onnx",
                  input_names=["image"], output_names=["logits"])
"""
import json
import math
import struct
import types

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["load_scales", "scale_from_hex", "attach", "detach", "export_qdq", "quantizers",
           "load_onnx_weights", "TensorQuantizer", "WeightQuantizer", "QUANT_MIN", "QUANT_MAX"]

# torch's ONNX export accepts (quant_min, quant_max) = (-128, 127), (0, 127), (0, 255) only; the
# first is ONNX's int8 QuantizeLinear and calib8's contract. TensorRT's scale is amax / 127, so the
# value -128 * scale lies one step beyond -amax (pytorch-quantization's narrow range drops it).
QUANT_MIN, QUANT_MAX = -128, 127


def scale_from_hex(bits):
    """The float32 a TensorRT cache line's hex stands for ('3c010a14' -> 0.0078759...)."""
    return struct.unpack(">f", bytes.fromhex(bits.rjust(8, "0")))[0]


def load_scales(path):
    """Reads scales.json; checks that every decimal scale agrees with its bits."""
    with open(path) as f:
        doc = json.load(f)
    if doc.get("format") != "calib8.pytorch_scales":
        raise ValueError(f"{path}: not a calib8 --to pytorch file (format {doc.get('format')!r})")
    for t in doc["tensors"]:
        s = scale_from_hex(t["bits"])
        if t.get("scale") is not None and torch.tensor(t["scale"], dtype=torch.float32).item() != s:
            raise ValueError(f"{path}: tensor {t['name']!r}: scale {t['scale']} disagrees with "
                             f"bits {t['bits']}")
    return doc


def _scale_tensor(bits):
    # float32 from the bits: the Python float is the float32 value exactly, so this is exact.
    return torch.tensor(scale_from_hex(bits), dtype=torch.float32)


class TensorQuantizer(nn.Module):
    """Per-tensor symmetric fake quantizer, zero point 0, range [-128, 127].

    Fixed (buffer `_scale`, the table's float32 bits) or, with learnable=True, LSQ-style: the scale
    is a parameter initialised from the table and trained with the network
    (torch._fake_quantize_learnable_per_tensor_affine, gradient scale 1/sqrt(numel * 127)).
    Straight-through gradient for x inside the range, zero outside (torch's fake quantization).
    """

    def __init__(self, bits, tensor_name, learnable=False):
        super().__init__()
        self.tensor_name = tensor_name
        self.bits = bits
        self.learnable = learnable
        s = _scale_tensor(bits)
        if learnable:
            self._scale = nn.Parameter(s.clone())
        else:
            self.register_buffer("_scale", s.clone())
        self.register_buffer("_zero_point", torch.tensor(0, dtype=torch.int32))
        self.enabled = True

    @property
    def amax(self):
        return float(self._scale.detach()) * 127.0

    def scale_bits(self):
        return struct.pack(">f", float(self._scale.detach())).hex()

    def forward(self, x):
        if not self.enabled:
            return x
        if self.learnable and self.training:
            # Keep the scale positive; the exported scale is whatever the parameter holds.
            with torch.no_grad():
                self._scale.clamp_(min=1e-8)
            grad = 1.0 / math.sqrt(x.numel() * QUANT_MAX)
            return torch._fake_quantize_learnable_per_tensor_affine(
                x, self._scale.reshape(1), self._zero_point.float().reshape(1), QUANT_MIN,
                QUANT_MAX, grad)
        return torch.fake_quantize_per_tensor_affine(
            x, self._scale.detach(), self._zero_point, QUANT_MIN, QUANT_MAX)

    def extra_repr(self):
        return (f"tensor={self.tensor_name!r}, bits={self.scale_bits()}, amax={self.amax:.6g}"
                f"{', learnable' if self.learnable else ''}")


class WeightQuantizer(nn.Module):
    """Per-output-channel symmetric fake quantizer: scale_c = max|W_c| / 127 (float32), zero point 0.

    Recomputed from the weight at every call (it moves while training); an all-zero channel gets
    scale 1 (any positive scale keeps 0 exact). `freeze()` stores the current scales in a buffer,
    which is what the ONNX export writes as constants.
    """

    def __init__(self, axis=0):
        super().__init__()
        self.axis = axis
        self.register_buffer("_frozen_scale", torch.zeros(0))
        self._frozen = False
        self.enabled = True

    def scales(self, w):
        dims = [d for d in range(w.dim()) if d != self.axis]
        amax = w.detach().abs().amax(dim=dims) if dims else w.detach().abs()
        s = amax / 127.0
        return torch.where(amax > 0, s, torch.ones_like(s)).float()

    def freeze(self, w):
        self._frozen_scale = self.scales(w)
        self._frozen = True

    def unfreeze(self):
        self._frozen_scale = torch.zeros(0)
        self._frozen = False

    def forward(self, w):
        if not self.enabled:
            return w
        s = self._frozen_scale if self._frozen else self.scales(w)
        zp = torch.zeros(s.shape, dtype=torch.int32)
        return torch.fake_quantize_per_channel_affine(w, s, zp, self.axis, QUANT_MIN, QUANT_MAX)


def _quantized_forward(module):
    if isinstance(module, nn.modules.conv._ConvNd) and not isinstance(
            module, nn.modules.conv._ConvTransposeNd):
        def forward(self, x):
            return self._conv_forward(self._input_quantizer(x), self._weight_quantizer(self.weight),
                                      self.bias)
        return forward
    if isinstance(module, nn.Linear):
        def forward(self, x):
            return F.linear(self._input_quantizer(x), self._weight_quantizer(self.weight), self.bias)
        return forward
    return None


def attach(model, scales, learnable=False, skip=()):
    """Attaches `_input_quantizer` and `_weight_quantizer` to every weighted module of `model`
    (nn.Conv1d/2d/3d, nn.Linear) that scales.json maps to a table entry on its input.

    `scales`: load_scales() result. `learnable`: LSQ-style activation scales. `skip`: module
    names to leave FP32. Returns {module name: tensor name} for what was attached; raises when a
    module scales.json names is missing from `model` (a different model).
    """
    entries = {t["name"]: t for t in scales["tensors"]}
    named = dict(model.named_modules())
    attached = {}
    for wm in scales.get("weighted_modules", []):
        name = wm.get("module")
        if name is None or name in skip or not wm.get("input_in_table"):
            continue
        if name not in named:
            raise KeyError(f"scales.json maps node {wm['node']!r} to module {name!r}, which the "
                           f"model does not have (is this the model the table was made for?)")
        m = named[name]
        fwd = _quantized_forward(m)
        if fwd is None:
            raise TypeError(f"module {name!r} is {type(m).__name__}: calib8_torch quantizes "
                            f"Conv1d/2d/3d and Linear")
        if name in attached:
            continue
        t = entries[wm["input"]]
        m._input_quantizer = TensorQuantizer(t["bits"], t["name"], learnable=learnable)
        m._weight_quantizer = WeightQuantizer(axis=wm.get("weight_axis", 0))
        m.forward = types.MethodType(fwd, m)
        attached[name] = t["name"]
    if not attached:
        raise ValueError("no weighted module of the model has a table entry on its input")
    return attached


def detach(model):
    """Removes what attach() added (the model runs FP32 again)."""
    for m in model.modules():
        if hasattr(m, "_input_quantizer"):
            del m._input_quantizer
            del m._weight_quantizer
            del m.forward  # back to the class's forward


def quantizers(model):
    """[(module name, TensorQuantizer)] in model order."""
    return [(n, m._input_quantizer) for n, m in model.named_modules()
            if hasattr(m, "_input_quantizer")]


def export_qdq(model, example_input, path, **kwargs):
    """Exports the fake-quantized model as Q/DQ ONNX, opset 13 (per-axis Q/DQ needs it).

    Weight scales are frozen from the current weights for the export (constants in the graph,
    max|W_c| / 127), activation scales are the quantizers' float32 values exactly, zero points
    int8 0. kwargs go to torch.onnx.export (input_names, output_names, dynamic_axes...).
    """
    was_training = model.training
    model.eval()
    wqs = [m for m in model.modules() if hasattr(m, "_weight_quantizer")]
    for m in wqs:
        m._weight_quantizer.freeze(m.weight)
    kwargs.setdefault("opset_version", 13)
    kwargs.setdefault("do_constant_folding", True)  # folds the zero points' Cast into constants
    try:
        with torch.no_grad():
            torch.onnx.export(model, example_input, path, **kwargs)
    finally:
        for m in wqs:
            m._weight_quantizer.unfreeze()
        model.train(was_training)


def load_onnx_weights(model, onnx_path, scales):
    """Copies the weights of the ONNX model the table was calibrated on into `model`, module by
    module through scales.json's weighted_modules (node -> module, weight and bias initializers).
    For a model exported with BatchNorm folded into its convolutions, give `model` Identity in
    place of those BatchNorm modules. Needs the onnx package. Returns the modules loaded."""
    import onnx
    from onnx import numpy_helper
    m = onnx.load(onnx_path)
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    for n in m.graph.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    inits[n.output[0]] = numpy_helper.to_array(a.t)
    named = dict(model.named_modules())
    loaded = []
    for wm in scales.get("weighted_modules", []):
        name = wm.get("module")
        if name is None or name not in named:
            continue
        mod = named[name]
        w = torch.from_numpy(inits[wm["weight"]].copy())
        if wm["op"] == "Gemm" and wm["onnx_weight_axis"] == 1:
            w = w.t()
        with torch.no_grad():
            mod.weight.copy_(w.reshape(mod.weight.shape))
            if wm.get("bias") and mod.bias is not None:
                mod.bias.copy_(torch.from_numpy(inits[wm["bias"]].copy()))
        loaded.append(name)
    return loaded
