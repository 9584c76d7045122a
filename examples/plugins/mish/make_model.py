#!/usr/bin/env python3
"""Writes the example custom-layer model and its data into OUT_DIR (docs/custom-layers.md).

  mish.onnx   x[N,32,8,8] -> Conv conv1 -> c1 -> com.example::Mish mish1 -> m1 -> Conv conv2 -> c2
              -> GlobalAveragePool -> g -> Flatten -> f -> Gemm fc -> y[N,10]   (opset 13,
              random He-initialised weights, seed 3)
  calib.npy   32 calibration samples [32,32,8,8]
  x.npy       8 other samples [8,32,8,8]

calib8 cannot run mish.onnx alone: load the example plugin (examples/plugins/mish, built by CMake
as build/examples/plugins/mish/libcalib8_mish.so) with --plugin, or calibrate it in parts.
Needs numpy and onnx (Debian: python3-numpy, python3-onnx).

Usage: /usr/bin/python3 examples/plugins/mish/make_model.py OUT_DIR
"""
import sys, numpy as np, onnx
from onnx import helper, numpy_helper, TensorProto
if len(sys.argv) != 2:
    sys.exit(__doc__)
d = sys.argv[1]; r = np.random.RandomState(3)
W = lambda n, *s: numpy_helper.from_array((r.randn(*s) * np.sqrt(2.0 / np.prod(s[1:]))).astype(np.float32), n)
nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
         helper.make_node("Mish", ["c1"], ["m1"], name="mish1", domain="com.example"),
         helper.make_node("Conv", ["m1", "w2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
         helper.make_node("GlobalAveragePool", ["c2"], ["g"], name="gap"),
         helper.make_node("Flatten", ["g"], ["f"], name="flatten"),
         helper.make_node("Gemm", ["f", "wg"], ["y"], name="fc", transB=1)]
g = helper.make_graph(nodes, "mish", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 32, 8, 8])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])],
                      [W("w1", 64, 32, 3, 3), W("w2", 64, 64, 3, 3), W("wg", 10, 64)])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.example", 1)])
m.ir_version = 7
onnx.checker.check_model(m); onnx.save(m, d + "/mish.onnx")
np.save(d + "/calib.npy", r.randn(32, 32, 8, 8).astype(np.float32))
np.save(d + "/x.npy", r.randn(8, 32, 8, 8).astype(np.float32))
print("wrote %s/mish.onnx, calib.npy, x.npy" % d)
