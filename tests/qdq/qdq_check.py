#!/usr/bin/python3
# tests/qdq/qdq_check.py — the Python half of tests/qdq/qdq_test.sh: checks an exported Q/DQ model
# with Debian's python3-onnx (onnx.checker, structure: int8 zero points of 0, opset >= 13, per-axis
# weight scales = max|W_c| / 127, activation scales = the table's bits), and compares it with the
# FP32 model in onnxruntime-node (tests/models/ort_run.js) on Fashion-MNIST test images.
#
#   qdq_check.py structure FP32.onnx QDQ.onnx TABLE.cache
#   qdq_check.py structure-ort FP32.onnx QDQ.onnx TABLE.cache   (a --target ort export)
#   qdq_check.py kernels ORT_PROFILE.json MIN_QLINEAR               (ORT kernels that ran)
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


def ort_sources(model, asym=None):
    """calib8.qdq_sources of a --target ort export: Q input -> table entry, and carried scales;
    `asym` (a dict) receives Q input -> scale bits of the asymmetric pairs ("@asym" lines)."""
    own, carried = {}, {}
    for kv in model.metadata_props:
        if kv.key == "calib8.qdq_sources":
            for line in kv.value.splitlines():
                q, entry, last = line.split("\t")
                if entry == "-":
                    carried[q] = last
                elif entry == "@asym":
                    if asym is not None:
                        asym[q] = int(last, 16)
                else:
                    own[q] = (entry, int(last, 16))
    return own, carried


def structure_ort(fp32_path, qdq_path, table_path):
    """A --target ort export: checker; every activation Q uses its table entry (int8 0, uint8 128:
    the table's scale bits; uint8 0: amax/255 computed in float32 as calib8 does) or a scale
    carried from another pair; weights per channel; int32 biases = round(b / (s_in * s_w))."""
    model = onnx.load(qdq_path)
    onnx.checker.check_model(model)
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    fp32 = onnx.load(fp32_path)
    fp32_inits = {i.name: numpy_helper.to_array(i) for i in fp32.graph.initializer}
    names = [n.name for n in model.graph.node]
    # BatchNormalization and per-channel Mul/Add after a Conv are folded into it (as calib8's
    # loader does); nothing else may go; constants may (replaced weights/biases).
    missing = [n.name for n in fp32.graph.node if n.name not in names and
               n.op_type not in ("BatchNormalization", "Mul", "Add", "Constant")]
    if missing:
        fail("original nodes missing: %s" % missing)
    folded = sum(1 for n in fp32.graph.node if n.name not in names and n.op_type != "Constant")
    table = read_table(table_path)
    asym = {}
    own, carried = ort_sources(model, asym)
    producers = {o: n for n in model.graph.node for o in n.output}
    counts = {"int8": 0, "uint8": 0, "carried": 0, "weights": 0, "biases": 0}
    scale_of = {}
    for n in model.graph.node:
        if n.op_type == "QuantizeLinear" and n.input[0] not in inits:
            scale_of[n.output[0]] = (inits[n.input[1]], inits[n.input[2]])
    for n in model.graph.node:
        if n.op_type == "DequantizeLinear" and n.input[0] in inits:  # int32 bias
            q, s, z = inits[n.input[0]], inits[n.input[1]], inits[n.input[2]]
            if q.dtype != np.int32 or z.dtype != np.int32 or np.any(z != 0):
                fail("%s: a constant DQ must be an int32 bias with zero point 0" % n.name)
            counts["biases"] += 1
            continue
        if n.op_type != "QuantizeLinear":
            continue
        x, scale, zp = n.input[0], inits[n.input[1]], inits[n.input[2]]
        if x in inits:  # weight
            axis = [a.i for a in n.attribute if a.name == "axis"]
            w, ax = inits[x], (axis[0] if axis else 1)
            red = tuple(d for d in range(w.ndim) if d != ax)
            want = (np.abs(w).max(axis=red) / np.float32(127)).astype(np.float32)
            want[want == 0] = 1
            if zp.dtype != np.int8 or np.any(zp != 0) or not np.array_equal(want, scale):
                fail("weight %s: expected int8 zero points and max|W_c|/127 along axis %d" % (x, ax))
            counts["weights"] += 1
            continue
        if x in asym:  # calib8's asymmetric pair: uint8, the recorded scale, the table entry kept
            if zp.dtype != np.uint8 or struct.unpack("<I", np.float32(scale).tobytes())[0] != asym[x] \
                    or own.get(x, (None,))[0] not in table:
                fail("asymmetric activation %s: zero point %s %s, scale %r, record %08x" %
                     (x, zp.dtype, zp, scale, asym[x]))
            counts["uint8"] += 1
            continue
        if zp.dtype == np.int8 and zp == 0 or zp.dtype == np.uint8 and zp in (0, 128):
            pass
        else:
            fail("%s: zero point %s %s" % (n.name, zp.dtype, zp))
        if x in carried:
            counts["carried"] += 1
            continue
        entry = own.get(x, (x, None))[0]
        if entry not in table:
            fail("activation %s (%s): not in the table" % (x, entry))
        s127 = np.frombuffer(struct.pack("<I", table[entry]), np.float32)[0]
        want = s127 if not (zp.dtype == np.uint8 and zp == 0) else \
            np.float32(np.float32(s127 * np.float32(127)) / np.float32(255))
        if np.float32(scale).tobytes() != np.float32(want).tobytes():
            fail("activation %s: scale %r, want %r (table %08x)" % (x, scale, want, table[entry]))
        counts["uint8" if zp.dtype == np.uint8 else "int8"] += 1
    # Biases: q = round(b / (s_in * s_w)) with the activation's and the weight's scales.
    for n in model.graph.node:
        if n.op_type not in ("Conv", "Gemm") or len(n.input) < 3 or n.input[2] not in producers:
            continue
        bdq = producers[n.input[2]]
        if bdq.op_type != "DequantizeLinear" or bdq.input[0] not in inits:
            continue
        xdq, wdq = producers[n.input[0]], producers[n.input[1]]
        s_in = scale_of[xdq.input[0]][0]
        s_w = inits[wdq.input[1]]
        orig = [x for x in fp32.graph.node if x.name == n.name][0]
        if len(orig.input) < 3 or orig.input[2] not in fp32_inits or \
                orig.input[1] != wdq.input[0]:
            continue  # folded: the bias is new; checked through the outputs instead
        b = fp32_inits[orig.input[2]].astype(np.float64)
        want = np.round(b / (np.float64(s_in) * s_w.astype(np.float64))).astype(np.int64)
        got = inits[bdq.input[0]].astype(np.int64)
        if np.abs(want - got).max() > 0:
            fail("bias of %s: int32 values differ from round(b / (s_in * s_w))" % n.name)
    print("python3-onnx %s: onnx.checker.check_model OK; %d int8 + %d uint8 activation pairs at "
          "their table scale, %d carried, %d weight pairs, %d int32 biases, %d node(s) folded" %
          (onnx.__version__, counts["int8"], counts["uint8"], counts["carried"], counts["weights"],
           counts["biases"], folded))


def kernels(profile, min_qlinear):
    """Counts the kernels ORT ran (one session.run) from its profiler JSON."""
    events = json.load(open(profile))
    ops = {}
    for e in events:
        if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time"):
            ops[e["args"]["op_name"]] = ops.get(e["args"]["op_name"], 0) + 1
    runs = max(1, sum(1 for e in events if e.get("name") == "model_run"))
    ops = {k: v // runs for k, v in sorted(ops.items())}
    print(" ".join("%s=%d" % kv for kv in ops.items()))
    qlinear = sum(v for k, v in ops.items() if k.startswith("QLinear") or k.startswith("QGemm"))
    fp32 = sum(ops.get(k, 0) for k in ("Conv", "Gemm", "MatMul", "FusedConv", "FusedGemm"))
    if qlinear < min_qlinear or fp32:
        fail("%d QLinear*/QGemm kernels (want >= %d), %d FP32 Conv/Gemm/MatMul" % (qlinear, min_qlinear, fp32))


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
    elif len(sys.argv) >= 5 and sys.argv[1] == "structure-ort":
        structure_ort(sys.argv[2], sys.argv[3], sys.argv[4])
    elif len(sys.argv) >= 4 and sys.argv[1] == "kernels":
        kernels(sys.argv[2], int(sys.argv[3]))
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
