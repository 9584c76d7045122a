#!/usr/bin/python3
# tests/qdq/qdq_check.py — the Python half of tests/qdq/qdq_test.sh: checks an exported Q/DQ model
# with Debian's python3-onnx (onnx.checker, structure: int8 zero points of 0, opset >= 13, per-axis
# weight scales = max|W_c| / 127, activation scales = the table's bits), and compares it with the
# FP32 model in onnxruntime-node (tests/models/ort_run.js) on Fashion-MNIST test images.
#
#   qdq_check.py structure FP32.onnx QDQ.onnx TABLE.cache
#   qdq_check.py accuracy FP32.onnx QDQ.onnx ORT_RUN.js WORKDIR N [--min-agree F]
#   qdq_check.py agree A_LOGITS.npy B_LOGITS.npy N MIN_PERCENT    (top-1 agreement of two runs)
import gzip
import json
import os
import struct
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper

DATASET = "/usr/share/datasets/fashion-mnist"


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def read_table(path):
    entries = {}
    with open(path) as f:
        lines = f.read().splitlines()
    for line in lines[1:]:
        name, _, hexbits = line.rpartition(": ")
        entries[name] = int(hexbits, 16)
    return entries


def structure(fp32_path, qdq_path, table_path):
    model = onnx.load(qdq_path)
    onnx.checker.check_model(model)  # raises on failure
    opset = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")][0]
    if opset < 13:
        fail("opset %d < 13" % opset)
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    consts = {}
    for n in model.graph.node:
        if n.op_type == "Constant":
            consts[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    inits.update(consts)
    fp32 = onnx.load(fp32_path)
    orig_names = [n.name for n in fp32.graph.node]
    names = [n.name for n in model.graph.node]
    missing = [n for n in orig_names if n not in names]
    if missing:
        fail("original nodes missing: %s" % missing)
    for i in fp32.graph.initializer:
        if i.name not in inits or not np.array_equal(inits[i.name], numpy_helper.to_array(i)):
            fail("initializer %s changed or missing" % i.name)
    table = read_table(table_path)
    acts = weights = 0
    for n in model.graph.node:
        if n.op_type not in ("QuantizeLinear", "DequantizeLinear"):
            continue
        zp = inits[n.input[2]]
        if zp.dtype != np.int8 or np.any(zp != 0):
            fail("%s: zero point must be int8 0, got %s %s" % (n.name, zp.dtype, zp))
        scale = inits[n.input[1]]
        if n.op_type != "QuantizeLinear":
            continue
        x = n.input[0]
        if x in inits:  # weight: per-channel max|W_c| / 127
            axis = [a.i for a in n.attribute if a.name == "axis"]
            w = inits[x]
            ax = axis[0] if axis else 1
            red = tuple(d for d in range(w.ndim) if d != ax)
            want = (np.abs(w).max(axis=red) / np.float32(127)).astype(np.float32)
            want[want == 0] = 1
            if not np.array_equal(want, scale):
                fail("weight %s: scales differ from max|W_c|/127 along axis %d" % (x, ax))
            weights += 1
        else:
            bits = struct.unpack("<I", np.float32(scale).tobytes())[0]
            if table.get(x) != bits:
                fail("activation %s: scale bits %08x != table %s" % (x, bits, table.get(x)))
            acts += 1
    print("python3-onnx %s: onnx.checker.check_model OK; opset %d; %d activation and %d weight "
          "Q/DQ pairs; original nodes and initializers kept" % (onnx.__version__, opset, acts, weights))


def read_idx(name, n):
    with gzip.open(os.path.join(DATASET, name), "rb") as f:
        data = f.read()
    magic, count = struct.unpack(">II", data[:8])
    if magic == 2049:
        return np.frombuffer(data, np.uint8, n, 8)
    rows, cols = struct.unpack(">II", data[8:16])
    imgs = np.frombuffer(data, np.uint8, n * rows * cols, 16).reshape(n, 1, rows, cols)
    return imgs.astype(np.float32) / np.float32(255)


def run_ort(ort_run, model, npy, outdir):
    os.makedirs(outdir, exist_ok=True)
    subprocess.run(["node", ort_run, model, "--input", npy, "--output-dir", outdir], check=True,
                   stdout=subprocess.DEVNULL)
    return np.load(os.path.join(outdir, "logits.npy"))


def accuracy(fp32_path, qdq_path, ort_run, work, n, min_agree):
    images = read_idx("t10k-images-idx3-ubyte.gz", n)
    labels = read_idx("t10k-labels-idx1-ubyte.gz", n)
    os.makedirs(work, exist_ok=True)
    npy = os.path.join(work, "test_images.npy")
    np.save(npy, images)
    fp = run_ort(ort_run, fp32_path, npy, os.path.join(work, "out_fp32")).argmax(1)
    q = run_ort(ort_run, qdq_path, npy, os.path.join(work, "out_qdq")).argmax(1)
    res = {"images": n, "fp32_top1": float((fp == labels).mean() * 100),
           "qdq_ort_top1": float((q == labels).mean() * 100),
           "top1_agreement": float((fp == q).mean() * 100)}
    print("ORT on %d Fashion-MNIST test images: FP32 top-1 %.2f%%, Q/DQ top-1 %.2f%%, "
          "FP32/Q-DQ top-1 agreement %.2f%%" % (n, res["fp32_top1"], res["qdq_ort_top1"],
                                                 res["top1_agreement"]))
    print(json.dumps(res))
    if res["top1_agreement"] < min_agree:
        fail("top-1 agreement %.2f%% < %.2f%%" % (res["top1_agreement"], min_agree))


def main():
    if len(sys.argv) >= 5 and sys.argv[1] == "structure":
        structure(sys.argv[2], sys.argv[3], sys.argv[4])
    elif len(sys.argv) >= 7 and sys.argv[1] == "accuracy":
        min_agree = 97.0
        if "--min-agree" in sys.argv:
            min_agree = float(sys.argv[sys.argv.index("--min-agree") + 1])
        accuracy(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]), min_agree)
    elif len(sys.argv) >= 6 and sys.argv[1] == "agree":
        a, b = np.load(sys.argv[2]).argmax(1), np.load(sys.argv[3]).argmax(1)
        labels = read_idx("t10k-labels-idx1-ubyte.gz", int(sys.argv[4]))
        agree = float((a == b).mean() * 100)
        print("top-1: %.2f%% vs %.2f%%, agreement %.2f%%" % ((a == labels).mean() * 100,
                                                          (b == labels).mean() * 100, agree))
        if agree < float(sys.argv[5]):
            fail("agreement %.2f%% < %s%%" % (agree, sys.argv[5]))
    else:
        print(__doc__ if __doc__ else "usage: see the header of this file")
        sys.exit(2)


if __name__ == "__main__":
    main()
