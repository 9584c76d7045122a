#!/usr/bin/python3
"""Q/DQ export of every ONNX backend node test calib8 can calibrate, run by ONNX Runtime.

    /usr/bin/python3 tests/qdq/node_export_test.py CALIB8 SOURCE_DIR [WORK_DIR]

"Q/DQ export must work for every model calib8 can run" (issue 11). The models are the ONNX
backend node tests (Debian's libonnx-testdata: one operator each, at the opset it was written
for, with inputs and expected outputs). For each one:
  1. `calib8 calibrate` on the test's own inputs (--batch = the first input's batch size, fixed
     ranges for speed). A model calib8 cannot calibrate (no kernel for the operator, non-float
     data only, inputs of different sample counts) is skipped and counted by reason; a table with
     no entry (integer-only graphs) is skipped too.
  2. `calib8 export-qdq` for --target tensorrt and --target ort. Each must exit 0.
  3. ONNX Runtime (onnxruntime-node, tests/models/ort_run.js --batch) loads and runs each export on
     the test's inputs; every output must have the shape of the test's expected output and, where
     the expected output is float and finite, be finite.
The oracle for 3 is ONNX Runtime and the ONNX test data, not calib8. A model ONNX Runtime cannot run
as given (bfloat16, some integer Pow) is listed and not checked. Exit 77 (skip) without
node_modules or the test data.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

CALIB8, SRC = sys.argv[1], sys.argv[2]
NODE_DIR = "/usr/share/libonnx-testdata/data/node"
ORT_RUN = os.path.join(SRC, "tests", "models", "ort_run.js")
if not os.path.isdir(os.path.join(SRC, "node_modules", "onnxruntime-node")):
    print("SKIP: node_modules/onnxruntime-node missing (npm install --ignore-scripts)")
    sys.exit(77)
if not os.path.isdir(NODE_DIR):
    print(f"SKIP: {NODE_DIR} missing (apt-get install libonnx-testdata)")
    sys.exit(77)


def run(cmd):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def skip_reason(stderr):
    for pattern, reason in [("has no kernel", "no kernel"), ("samples but input", "sample counts differ"),
                            ("holds a scalar", "scalar input"), ("fixed batch size", "batch size"),
                            ("none of its 0 entries", "empty table"), ("expected a float", "not float data"),
                            ("float32", "not float data")]:
        if pattern in stderr:
            return reason
    return "other: ..." + stderr.strip().splitlines()[-1][-90:] if stderr.strip() else "other"


def read_tensor(pb):
    """The TensorProto in `pb` as an array, or None (a sequence, an optional, a string...)."""
    t = onnx.TensorProto()
    try:
        t.ParseFromString(open(pb, "rb").read())
        a = numpy_helper.to_array(t)
    except Exception:  # noqa: BLE001 - any file that is not a plain tensor is skipped
        return None
    return a if a.dtype.kind in "fiub" else None


def prepare(name, work):
    """Calibrates one node test; returns (inputs as [name, npy], expected outputs) or a skip reason."""
    d = os.path.join(NODE_DIR, name)
    data_dir = os.path.join(d, "test_data_set_0")
    model = onnx.load(os.path.join(d, "model.onnx"))
    inits = {i.name for i in model.graph.initializer}
    ins = [i for i in model.graph.input if i.name not in inits]
    if not ins or not os.path.isdir(data_dir):
        return "no inputs"
    dims = ins[0].type.tensor_type.shape.dim
    batch = dims[0].dim_value if len(dims) and dims[0].dim_value > 0 else 1
    args, npys = [], []
    for k, vi in enumerate(ins):
        pb = os.path.join(data_dir, f"input_{k}.pb")
        if not os.path.exists(pb):
            return "no input data"
        args += ["--data", f"{vi.name}={pb}"]
        a = read_tensor(pb)
        if a is None:
            return "not a numeric tensor"
        npy = os.path.join(work, f"{name}.in{k}.npy")
        np.save(npy, a)
        npys.append([vi.name, npy])
    expected = []
    for k in range(len(model.graph.output)):
        a = read_tensor(os.path.join(data_dir, f"output_{k}.pb"))
        if a is None:
            return "not a numeric tensor"
        expected.append((model.graph.output[k].name, a))
    table = os.path.join(work, name + ".cache")
    r = run([CALIB8, "calibrate", os.path.join(d, "model.onnx"), *args, "-o", table, "-q",
             "--asym-search", "0", "--batch", str(batch)])
    if r.returncode != 0:
        return skip_reason(r.stderr)
    if os.path.getsize(table) == 0 or not open(table).read().strip().count("\n"):
        return "empty table"
    return npys, expected, table


def main():
    if len(sys.argv) > 3:  # keep the files (for a look at a failure)
        os.makedirs(sys.argv[3], exist_ok=True)
        return check(sys.argv[3])
    with tempfile.TemporaryDirectory(prefix="calib8_node_export_") as work:
        return check(work)


def check(work):
    skipped, failures, batch, expect, originals, ort_cannot = {}, [], [], {}, {}, set()
    names = sorted(n for n in os.listdir(NODE_DIR) if os.path.exists(os.path.join(NODE_DIR, n, "model.onnx")))
    for name in names:
        p = prepare(name, work)
        if isinstance(p, str):
            skipped[p] = skipped.get(p, 0) + 1
            continue
        npys, expected, table = p
        originals[name] = os.path.join(NODE_DIR, name, "model.onnx")
        for target in ("tensorrt", "ort"):
            out = os.path.join(work, f"{name}.{target}.onnx")
            r = run([CALIB8, "export-qdq", os.path.join(NODE_DIR, name, "model.onnx"), "--table", table,
                     "--target", target, "-o", out, "-q"])
            if r.returncode != 0 and "none of its 0 entries" in r.stderr:
                skipped["empty table"] = skipped.get("empty table", 0) + 1
                break
            if r.returncode != 0:
                failures.append(f"{name} --target {target}: export-qdq exit {r.returncode}: {r.stderr.strip()[:300]}")
                continue
            if not batch or batch[-1]["model"] != originals[name]:
                batch.append({"model": originals[name], "inputs": npys})
            batch.append({"model": out, "inputs": npys})
            expect[out] = (name, target, expected)
    exported = len(expect)
    list_file = os.path.join(work, "ort_list.json")
    json.dump(batch, open(list_file, "w"))
    r = run(["node", ORT_RUN, "--batch", list_file])
    if r.returncode != 0:
        print(f"FAIL: ort_run.js --batch exit {r.returncode}: {r.stderr[-2000:]}")
        return 1
    for line in r.stdout.splitlines():
        res = json.loads(line)
        if res["model"] not in expect:  # an original model: ONNX Runtime's own limits
            if not res["ok"]:
                ort_cannot.add(os.path.basename(os.path.dirname(res["model"])))
            continue
        name, target, expected = expect[res["model"]]
        if name in ort_cannot:
            continue
        if not res["ok"]:
            failures.append(f"{name} --target {target}: ONNX Runtime: {res['error'][:300]}")
            continue
        for oname, want in expected:
            got = res["outputs"].get(oname)
            if got is None:
                failures.append(f"{name} --target {target}: no output '{oname}'")
            elif tuple(got["dims"]) != want.shape:
                failures.append(f"{name} --target {target}: output '{oname}' shape {tuple(got['dims'])}, "
                                f"expected {want.shape}")
            elif want.dtype.kind == "f" and np.isfinite(want).all() and not got["finite"]:
                failures.append(f"{name} --target {target}: output '{oname}' has non-finite values")
    print(f"node tests: {len(names)}; exported: {exported} export(s) of "
          f"{len({v[0] for v in expect.values()})} model(s); skipped: "
          + ", ".join(f"{k} {v}" for k, v in sorted(skipped.items())))
    if ort_cannot:
        print(f"not checked, ONNX Runtime cannot run the original model either: {', '.join(sorted(ort_cannot))}")
    for f in failures:
        print("FAIL " + f)
    if failures or exported == 0:
        print(f"{len(failures)} failure(s)")
        return 1
    print(f"all {exported - 2 * len(ort_cannot)} exports ran in ONNX Runtime with the expected output shapes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
