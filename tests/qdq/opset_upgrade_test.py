#!/usr/bin/python3
"""Opset raise in `calib8 export-qdq`: every rewritten operator keeps its meaning, by ONNX Runtime.

    /usr/bin/python3 tests/qdq/opset_upgrade_test.py CALIB8 SOURCE_DIR

For each case a one- or two-node model is written at an old opset (7, 9 or 11) with Debian's
python3-onnx, exported by `calib8 export-qdq` with a table whose one entry names the output (so the export only
raises the opset to 13 and rewrites the operators whose definition changed), and both models are run
in onnxruntime-node on the same random input. The outputs must agree to 1e-6 (relative to max|y|);
the export must pass the onnx checker at opset 13 and hold no node of the old form. The oracle is
ONNX Runtime's implementation of both opsets, not calib8. Exit 77 (skip) without node_modules.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

CALIB8, SRC = sys.argv[1], sys.argv[2]
ORT_RUN = os.path.join(SRC, "tests", "models", "ort_run.js")
if not os.path.isdir(os.path.join(SRC, "node_modules", "onnxruntime-node")):
    print("SKIP: node_modules/onnxruntime-node missing (npm install --ignore-scripts)")
    sys.exit(77)

F = TensorProto.FLOAT


def model(nodes, x_shape, opset, inits=(), y_shape=None, outputs=("y",)):
    g = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", F, x_shape)],
        [helper.make_tensor_value_info(o, F, y_shape if o == "y" else None) for o in outputs],
        [numpy_helper.from_array(np.asarray(v), n) for n, v in inits])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="opset_upgrade_test")
    m.ir_version = 7  # initializers need not be graph inputs; any opset up to 12
    # The checker wants typed outputs: take their types from ONNX's shape inference.
    inferred = onnx.shape_inference.infer_shapes(m, strict_mode=True)
    for out, inf in zip(m.graph.output, inferred.graph.output):
        if not out.type.tensor_type.HasField("shape"):
            out.type.CopyFrom(inf.type)
    onnx.checker.check_model(m)
    return m


N = helper.make_node
CASES = [
    # name, model, old op that must be gone (or a check on the new form)
    ("Clip-6 min/max", model([N("Clip", ["x"], ["y"], min=-0.5, max=0.75)], [2, 3, 4, 5], 9), None),
    ("Clip-6 max only", model([N("Clip", ["x"], ["y"], max=0.25)], [2, 3, 4, 5], 9), None),
    ("Slice-1 axes", model([N("Slice", ["x"], ["y"], starts=[1, -3], ends=[3, 1000], axes=[1, 3])],
                           [2, 4, 3, 6], 9), None),
    ("Slice-1 no axes", model([N("Slice", ["x"], ["y"], starts=[0, 1], ends=[1, 3])], [2, 4, 3], 9), None),
    ("Squeeze-1", model([N("Squeeze", ["x"], ["y"], axes=[0, 2])], [1, 3, 1, 5], 9), None),
    ("Squeeze-1 all", model([N("Squeeze", ["x"], ["y"])], [1, 3, 1, 5], 9, y_shape=[3, 5]), None),
    ("Unsqueeze-1", model([N("Unsqueeze", ["x"], ["y"], axes=[0, 3])], [3, 4], 9), None),
    ("ReduceSum-1", model([N("ReduceSum", ["x"], ["y"], axes=[1, 2], keepdims=0)], [2, 3, 4, 5], 9), None),
    ("ReduceSum-1 all", model([N("ReduceSum", ["x"], ["y"])], [2, 3, 4], 11), None),
    ("Split-2", model([N("Split", ["x"], ["y", "z"], axis=1, split=[1, 3])], [2, 4, 3], 9,
                      outputs=("y", "z")), None),
    ("Softmax-1 axis 1 of 3 (coerced 2-D)", model([N("Softmax", ["x"], ["y"])], [2, 3, 4], 9), "Flatten"),
    ("Softmax-1 last axis", model([N("Softmax", ["x"], ["y"], axis=2)], [2, 3, 4], 9), None),
    ("LogSoftmax-11 axis 2 of 4", model([N("LogSoftmax", ["x"], ["y"], axis=2)], [2, 3, 4, 2], 11), "Flatten"),
    ("Softmax-11 axis -1", model([N("Softmax", ["x"], ["y"], axis=-1)], [2, 3, 4], 11), None),
    ("Pad-2 constant 0.5", model([N("Pad", ["x"], ["y"], pads=[0, 1, 2, 0, 2, 1], value=0.5)], [2, 3, 4], 9), None),
    ("Pad-2 reflect", model([N("Pad", ["x"], ["y"], mode="reflect", pads=[0, 0, 1, 2, 0, 0, 2, 1])],
                            [1, 2, 4, 5], 9), None),
    ("Upsample-9 nearest", model([N("Upsample", ["x", "s"], ["y"], mode="nearest")], [1, 2, 3, 4], 9,
                                 inits=[("s", np.array([1, 1, 2, 3], np.float32))]), "Upsample"),
    ("Upsample-7 linear", model([N("Upsample", ["x"], ["y"], mode="linear", scales=[1.0, 1.0, 2.0, 2.0])],
                                [1, 2, 3, 4], 7), "Upsample"),
    ("BatchNormalization-7", model([N("BatchNormalization", ["x", "g", "b", "m", "v"], ["y"], epsilon=1e-3,
                                      spatial=1)], [2, 3, 4, 4], 7,
                                   inits=[("g", np.array([1.5, 0.5, 2.0], np.float32)),
                                          ("b", np.array([0.1, -0.2, 0.3], np.float32)),
                                          ("m", np.array([0.0, 0.5, -1.0], np.float32)),
                                          ("v", np.array([1.0, 2.0, 0.5], np.float32))]), None),
    ("Dropout-10 ratio", model([N("Dropout", ["x"], ["y"], ratio=0.2)], [2, 3, 4], 11), None),
    ("Dropout-7 no ratio", model([N("Dropout", ["x"], ["y"])], [2, 3, 4], 9), None),
    ("Relu + Clip-6 + Softmax-1 chain", model([N("Relu", ["x"], ["r"]), N("Clip", ["r"], ["c"], min=0.0, max=6.0),
                                              N("Softmax", ["c"], ["y"], axis=1)], [2, 3, 4], 9), None),
]


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def main():
    tmp = tempfile.mkdtemp(prefix="calib8_opset_")
    table = os.path.join(tmp, "empty.cache")
    with open(table, "w") as f:
        # One entry, on the model output: TensorRT placement puts no pair on outputs, so the export
        # changes nothing but the opset (export-qdq refuses a table that names no model tensor).
        f.write("TRT-8601-EntropyCalibration2\ny: 3c010204\n")
    rng = np.random.default_rng(5)
    passed = failed = 0
    for i, (name, m, gone) in enumerate(CASES):
        d = os.path.join(tmp, str(i))
        os.makedirs(d)
        old, new = os.path.join(d, "old.onnx"), os.path.join(d, "new.onnx")
        onnx.save(m, old)
        shape = [v.dim_value for v in m.graph.input[0].type.tensor_type.shape.dim]
        inp = os.path.join(d, "x.npy")
        np.save(inp, rng.standard_normal(shape).astype(np.float32) * 2)
        r = run([CALIB8, "export-qdq", old, "--table", table, "-o", new])
        if r.returncode != 0:
            print(f"FAIL {name}: export-qdq rc={r.returncode}: {r.stderr.strip()[-400:]}")
            failed += 1
            continue
        problems = []
        nm = onnx.load(new)
        try:
            onnx.checker.check_model(nm)
        except Exception as e:  # noqa: BLE001 - report whatever the checker says
            problems.append(f"checker: {e}")
        opset = [o.version for o in nm.opset_import if o.domain in ("", "ai.onnx")]
        if opset != [13]:
            problems.append(f"opset {opset}, expected [13]")
        ops = [n.op_type for n in nm.graph.node]
        if gone == "Upsample" and "Upsample" in ops:
            problems.append("Upsample still in the export")
        if gone == "Flatten" and "Flatten" not in ops:
            problems.append(f"expected the Flatten form of the coerced softmax, got {ops}")
        outs = {}
        for tag, path in (("old", old), ("new", new)):
            od = os.path.join(d, tag)
            r = run(["node", ORT_RUN, path, "--input", inp, "--output-dir", od, "--threads", "1"])
            if r.returncode != 0:
                problems.append(f"ORT on the {tag} model: {r.stderr.strip()[-300:]}")
                break
            outs[tag] = {f: np.load(os.path.join(od, f)) for f in sorted(os.listdir(od))}
        if len(outs) == 2:
            if sorted(outs["old"]) != sorted(outs["new"]):
                problems.append(f"outputs {sorted(outs['old'])} vs {sorted(outs['new'])}")
            for f, a in outs["old"].items():
                b = outs["new"].get(f)
                if b is None:
                    continue
                if a.shape != b.shape:
                    problems.append(f"{f}: shape {b.shape} != {a.shape}")
                    continue
                err = float(np.max(np.abs(a.astype(np.float64) - b))) / max(float(np.max(np.abs(a))), 1e-30)
                if not err <= 1e-6:
                    problems.append(f"{f}: max|new-old|/max|old| = {err:.3g}")
        if problems:
            print(f"FAIL {name}: " + "; ".join(problems))
            failed += 1
        else:
            print(f"ok   {name}: opset {m.opset_import[0].version} -> 13, {' '.join(ops)}; ORT outputs equal")
            passed += 1
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
