#!/usr/bin/python3
"""The ONNX writer (src/onnx/onnx_write.h) against ONNX Runtime and the ONNX test data.

    /usr/bin/python3 tests/onnx/write_ort_test.py ROUNDTRIP SOURCE_DIR [WORK_DIR]

ROUNDTRIP is calib8_onnx_roundtrip (tests/onnx/roundtrip_main.cc): it loads a model as calib8 does
and writes calib8's graph back as ONNX.
  1. Every ONNX backend node test (Debian's libonnx-testdata) calib8 can load and run (the tool's
     exit 3 says it cannot: skipped and counted) is written twice, with the load-time passes
     (--optimize) and without. Both must be written.
  2. ONNX Runtime (onnxruntime-node, tests/onnx/write_ort_run.js, one process) runs the original
     and both written models on test_data_set_0's inputs. Each written model's outputs must equal
     the test's expected outputs within rtol 1e-3, atol 1e-7 (as tests/conformance does; NaN
     matches NaN). A test whose ORIGINAL model ONNX Runtime cannot run, or runs to other values than
     the expected ones, is listed and not checked (ONNX Runtime's limits, not the writer's).
  3. models/fashion_mnist_cnn.onnx and the PaddleOCR det/rec/cls models (node_modules/@gutenye/
     ocr-models, when present) are written both ways; ONNX Runtime's outputs of each written model
     must equal its outputs of the original on one random input (seed 0) within 1e-4 of the
     output's largest magnitude.
The oracles are the ONNX test data's expected outputs and ONNX Runtime, not calib8. Exit 77 (skip)
without node_modules or the test data.
"""
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import numpy_helper

TOOL, SRC = sys.argv[1], sys.argv[2]
NODE_DIR = "/usr/share/libonnx-testdata/data/node"
RUNNER = os.path.join(SRC, "tests", "onnx", "write_ort_run.js")
OCR_DIR = os.path.join(SRC, "node_modules", "@gutenye", "ocr-models", "assets")
REAL_MODELS = [os.path.join(SRC, "models", "fashion_mnist_cnn.onnx")] + [
    os.path.join(OCR_DIR, m) for m in ("ch_PP-OCRv4_det_infer.onnx", "ch_PP-OCRv4_rec_infer.onnx",
                                       "ch_ppocr_mobile_v2.0_cls_infer.onnx")]
if not os.path.isdir(os.path.join(SRC, "node_modules", "onnxruntime-node")):
    print("SKIP: node_modules/onnxruntime-node missing (npm install --ignore-scripts)")
    sys.exit(77)
if not os.path.isdir(NODE_DIR):
    print(f"SKIP: {NODE_DIR} missing (apt-get install libonnx-testdata)")
    sys.exit(77)

ORT_TYPES = {"float32": "float32", "float64": "float64", "float16": "float16", "int64": "int64",
             "uint64": "uint64", "int32": "int32", "uint32": "uint32", "int16": "int16",
             "uint16": "uint16", "int8": "int8", "uint8": "uint8", "bool": "bool"}
MODES = ("plain", "optimize")
NEWER_OP = []  # written --optimize refused: a pass made an op newer than the model's opset


def read_tensor(pb):
    """The TensorProto in `pb` as an array, or None (a sequence, an optional, a string...)."""
    t = onnx.TensorProto()
    try:
        t.ParseFromString(open(pb, "rb").read())
        a = numpy_helper.to_array(t)
    except Exception:  # noqa: BLE001 - any file that is not a plain tensor is skipped
        return None
    return a if a.dtype.name in ORT_TYPES else None


def save_input(a, name, path):
    np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tofile(path)
    return [name, ORT_TYPES[a.dtype.name], list(a.shape), path]


def roundtrip(src, out_base):
    """Writes `src` both ways; returns ("ok", {mode: path}), ("scope", why) or ("fail", why).
    A mode the writer refuses because a load-time pass put an operator newer than the model's opset
    into the graph (HardSwish fusion in an opset-11 model) is left out of {mode: path} and listed."""
    outs = {}
    for mode in MODES:
        out = f"{out_base}.{mode}.onnx"
        r = subprocess.run([TOOL, src, out] + (["--optimize"] if mode == "optimize" else []),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode == 3:
            return "scope", r.stderr.strip()[-200:]
        if r.returncode == 1 and mode == "optimize" and "is an ONNX operator from opset" in r.stderr:
            NEWER_OP.append(f"{os.path.basename(src) if src in REAL_MODELS else src.split('/')[-2]}: "
                            + r.stderr.split(": node ", 1)[-1].split(", but")[0])
            continue
        if r.returncode != 0:
            return "fail", f"--{mode}: exit {r.returncode}: {r.stderr.strip()[-300:]}"
        outs[mode] = out
    return "ok", outs


def prepare_node_test(name, work):
    """Inputs and expected outputs of one node test, or a skip reason."""
    d = os.path.join(NODE_DIR, name)
    data_dir = os.path.join(d, "test_data_set_0")
    model = onnx.load(os.path.join(d, "model.onnx"), load_external_data=False)
    inits = {i.name for i in model.graph.initializer}
    ins = [i for i in model.graph.input if i.name not in inits]
    if not os.path.isdir(data_dir):
        return "no test data"
    inputs = []
    for k, vi in enumerate(ins):
        pb = os.path.join(data_dir, f"input_{k}.pb")
        a = read_tensor(pb) if os.path.exists(pb) else None
        if a is None:
            return "input not a numeric tensor"
        inputs.append(save_input(a, vi.name, os.path.join(work, f"{name}.in{k}.bin")))
    expected = []
    for k, vo in enumerate(model.graph.output):
        a = read_tensor(os.path.join(data_dir, f"output_{k}.pb"))
        if a is None:
            return "output not a numeric tensor"
        expected.append((vo.name, a))
    return inputs, expected


def random_inputs(path, work):
    """One random input per graph input (seed 0); unknown dims: batch 1, others 64."""
    rng = np.random.default_rng(0)
    model = onnx.load(path)
    inits = {i.name for i in model.graph.initializer}
    inputs = []
    for k, vi in enumerate(i for i in model.graph.input if i.name not in inits):
        dims = [d.dim_value if d.dim_value > 0 else (1 if j == 0 else 64)
                for j, d in enumerate(vi.type.tensor_type.shape.dim)]
        a = rng.random(dims, dtype=np.float32)
        inputs.append(save_input(a, vi.name, os.path.join(work, f"{os.path.basename(path)}.in{k}.bin")))
    return inputs


def read_output(o):
    dt = np.float16 if o["type"] == "float16" else np.dtype(o["type"] if o["type"] != "bool" else "bool")
    return np.fromfile(o["file"], dtype=dt).reshape(o["dims"]) if "file" in o else None


def mismatch(got, want, rtol, atol):
    """'' when equal within tolerance, else what differs."""
    if got is None:
        return "no output"
    if tuple(got.shape) != tuple(want.shape):
        return f"shape {tuple(got.shape)}, expected {tuple(want.shape)}"
    if want.dtype.kind not in "fc":
        bad = np.flatnonzero(got.astype(want.dtype) != want)
    else:
        g, w = got.astype(np.float64), want.astype(np.float64)
        ok = (np.abs(g - w) <= atol + rtol * np.abs(w)) | (np.isnan(g) & np.isnan(w)) | (g == w)
        bad = np.flatnonzero(~ok)
    if bad.size:
        i = bad[0]
        return f"{bad.size} value(s) differ, first at {i}: {got.flat[i]} vs {want.flat[i]}"
    return ""


def run_ort(batch, work):
    list_file = os.path.join(work, "ort_list.json")
    json.dump(batch, open(list_file, "w"))
    r = subprocess.run(["node", RUNNER, list_file], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        print(f"FAIL: write_ort_run.js exit {r.returncode}: {r.stderr[-2000:]}")
        sys.exit(1)
    return {res["model"]: res for res in map(json.loads, r.stdout.splitlines())}


def main():
    if len(sys.argv) > 3:  # keep the files (for a look at a failure)
        os.makedirs(sys.argv[3], exist_ok=True)
        return check(sys.argv[3])
    with tempfile.TemporaryDirectory(prefix="calib8_onnx_write_") as work:
        return check(work)


def write_all(names, real, work):
    """Runs the tool on every node test and real model, two at a time."""
    jobs = {n: (os.path.join(NODE_DIR, n, "model.onnx"), os.path.join(work, n)) for n in names}
    jobs.update({p: (p, os.path.join(work, os.path.basename(p))) for p in real})
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futures = {k: pool.submit(roundtrip, *v) for k, v in jobs.items()}
        return {k: f.result() for k, f in futures.items()}


def check(work):
    t0 = time.time()
    names = sorted(n for n in os.listdir(NODE_DIR) if os.path.exists(os.path.join(NODE_DIR, n, "model.onnx")))
    real = [p for p in REAL_MODELS if os.path.exists(p)]
    written = write_all(names, real, work)
    skipped, failures, batch, cases = {}, [], [], {}
    for key in names + real:
        status, detail = written[key]
        if status == "scope":
            skipped["calib8 cannot load or run it"] = skipped.get("calib8 cannot load or run it", 0) + 1
            continue
        if status == "fail":
            failures.append(f"{key}: the writer failed {detail}")
            continue
        if key in real:
            original, p = key, random_inputs(key, work)
        else:
            original = os.path.join(NODE_DIR, key, "model.onnx")
            p = prepare_node_test(key, work)
            if isinstance(p, str):
                skipped[p] = skipped.get(p, 0) + 1
                continue
        inputs = p if key in real else p[0]
        cases[key] = (original, detail, None if key in real else p[1])
        for m in [original] + list(detail.values()):
            batch.append({"model": m, "inputs": inputs, "out": m + ".out" if m != original else
                          os.path.join(work, os.path.basename(os.path.dirname(m)) + "." +
                                       os.path.basename(m) + ".out")})
    results = run_ort(batch, work)
    ort_cannot, ort_differs, passed = [], [], 0
    for key, (original, outs, expected) in cases.items():
        orig = results[original]
        if not orig["ok"]:
            ort_cannot.append(key)
            continue
        if expected is None:  # a real model: the original's ORT outputs are the reference
            expected = [(n, read_output(o)) for n, o in orig["outputs"].items()]
        elif any(mismatch(read_output(orig["outputs"].get(n, {})), w, 1e-3, 1e-7) for n, w in expected):
            ort_differs.append(key)
            continue
        ok = True
        for mode in outs:
            res = results[outs[mode]]
            if not res["ok"]:
                failures.append(f"{key} ({mode}): ONNX Runtime: {res['error'][:300]}")
                ok = False
                continue
            for oname, want in expected:
                if key in real:
                    scale = float(np.max(np.abs(want))) if want.size else 0.0
                    diff = mismatch(read_output(res["outputs"].get(oname, {})), want, 0.0, 1e-4 * scale)
                else:
                    diff = mismatch(read_output(res["outputs"].get(oname, {})), want, 1e-3, 1e-7)
                if diff:
                    failures.append(f"{key} ({mode}): output '{oname}': {diff}")
                    ok = False
        passed += ok
    print(f"node tests: {len(names)}, real models: {len(real)}; written and checked: {len(cases)}; skipped: "
          + ", ".join(f"{k} {v}" for k, v in sorted(skipped.items())))
    if ort_cannot:
        print(f"not checked, ONNX Runtime cannot run the original model: {', '.join(sorted(ort_cannot))}")
    if ort_differs:
        print(f"not checked, ONNX Runtime's output of the original differs from the expected one: "
              f"{', '.join(sorted(ort_differs))}")
    if NEWER_OP:
        print("not written with --optimize (the writer refuses: a load-time pass made an operator newer "
              "than the model's opset; an opset raise before writing is the cure): " + "; ".join(NEWER_OP))
    for f in failures:
        print("FAIL " + f)
    print(f"{passed} model(s) pass ({len(real)} real; {len(NEWER_OP)} of them without --optimize only), "
          f"{len(failures)} failure(s), "
          f"{time.time() - t0:.1f} s")
    return 1 if failures or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
