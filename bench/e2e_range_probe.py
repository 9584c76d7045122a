#!/usr/bin/python3
"""Prototype (issue 10): each asymmetric activation range chosen by the error at the MODEL OUTPUT.

    /usr/bin/python3 bench/e2e_range_probe.py --work out/ocr_int8 [--samples 32] [--calib8 build/calib8]
        [--symmetric]

`--work` is a work directory that `bench/ocr_int8_accuracy.py --models rec` filled (data/ with the
rendered calibration and evaluation sets, rec.stats.json with the calibration statistics).

`calibrate --asym-search-at consumers` scores each tensor's candidate ranges at its own
Conv/Gemm/MatMul consumers; on PaddleOCR rec that local error does not predict the end-to-end effect
(bench/RESULTS.md, "The search as the default"). This probe scored end to end instead, with calib8's
real INT8 runtime; calibrate's default (`--asym-search-at output`) now does the same in the library:

1. candidates per tensor: the sidecar ranges of `calibrate --from-stats --asym-percentile P` for
   P = 99.9, 99.99, 99.999, 100 (the same four `--asym-search` uses);
2. the tensors: the activation inputs of the nodes `calib8 plan` runs INT8, in graph order;
3. start from the p99.99 ranges (the default); for each tensor in turn, try the other candidates
   with `calib8 run --int8` on `--samples` calibration samples (evenly spaced) and keep a candidate
   when the summed squared difference of the model output from FP32 goes down (greedy, one pass);
4. evaluate the resulting table on the evaluation lines (exact match, as ocr_int8_accuracy.py).

--symmetric: the same for TensorRT mode (a bare cache, symmetric s8, `run --int8 --symmetric`):
the candidates are each tensor's cache entry from the default method (entropy2-floored),
`--method percentile --percentile P` for P = 99.9, 99.99, 99.999 and `--method minmax`; the start is
the default method's table.

It drives the CLI (about 135 INT8 runs of the sample set for rec), so it is slow (5-7 minutes on two
cores); it exists to decide whether an end-to-end search is worth building into `calibrate`.
"""
import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("ocr_bench", os.path.join(HERE, "ocr_int8_accuracy.py"))
ocr = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ocr)
import onnx  # noqa: E402

PERCENTILES = ["99.9", "99.99", "99.999", "100"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--samples", type=int, default=32)
    ap.add_argument("--calib8", default=os.path.join(os.path.dirname(HERE), "build", "calib8"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--symmetric", action="store_true")
    a = ap.parse_args()
    exe, model = a.calib8, ocr.MODELS["rec"]
    e = os.path.join(a.work, "e2e")
    os.makedirs(e, exist_ok=True)
    stats = os.path.join(a.work, "rec.stats.json")
    sym = ["--symmetric"] if a.symmetric else []
    if a.symmetric:
        names = ["entropy2-floored", "p99.9", "p99.99", "p99.999", "max"]
        args = {"entropy2-floored": [], "max": ["--method", "minmax"]}
        for p in ("99.9", "99.99", "99.999"):
            args["p" + p] = ["--method", "percentile", "--percentile", p]
    else:
        names = ["p" + p for p in PERCENTILES[:3]] + ["max"]
        args = {("p" + p if p != "100" else "max"): ["--asym-percentile", p] for p in PERCENTILES}
    cands, lines = {}, {}
    for nm in names:
        t = os.path.join(e, "%s.cache" % nm)
        subprocess.run([exe, "calibrate", model, "--from-stats", stats, "--asym-search", "0",
                        "-o", t, "-q", "--force"] + args[nm], check=True, stdout=subprocess.DEVNULL)
        cands[nm] = {x["name"]: x.get("asym") for x in json.load(open(t + ".calib8.json"))["tensors"]}
        body = open(t).read().split("\n")
        lines[nm] = {ln.split(": ")[0]: ln for ln in body[1:] if ln}
        header = body[0]
    start = names[0] if a.symmetric else "p99.99"
    default = os.path.join(e, "%s.cache" % start)
    base = json.load(open(default + ".calib8.json"))
    plan = json.loads(subprocess.run([exe, "plan", model, "--table", default, "--json"] + sym,
                                     capture_output=True, text=True, check=True).stdout)
    int8 = {n["node"] for n in plan["nodes"] if n["precision"] == "int8"}
    graph = onnx.load(model).graph
    inits = {i.name for i in graph.initializer}
    tensors = []
    for n in graph.node:
        if n.name in int8:
            for i in n.input:
                if (i and i not in inits and i not in tensors and i in lines[start]
                        and (a.symmetric or cands[start].get(i))):
                    tensors.append(i)
    x = np.load(os.path.join(a.work, "data", "rec_calib.npy"))
    sub = os.path.join(e, "samples.npy")
    np.save(sub, x[np.linspace(0, len(x) - 1, a.samples).astype(int)])

    def run(extra):
        od = os.path.join(e, "out")
        shutil.rmtree(od, ignore_errors=True)
        subprocess.run([exe, "run", model, "--input", sub, "-o", od, "--threads", str(a.threads)] + extra,
                       check=True, capture_output=True)
        return np.load(os.path.join(od, [f for f in os.listdir(od) if f.endswith(".npy")][0]))

    ref = run([])
    cur = {n: start for n in tensors}  # candidate name per tensor
    table = os.path.join(e, "e2e.cache")

    def score():
        if a.symmetric:  # a bare cache: each tensor's line from its candidate's table
            body = [header] + [lines[cur.get(n, start)][n] for n in lines[start]]
            open(table, "w").write("\n".join(body) + "\n")
        else:
            shutil.copy(default, table)
            j = json.loads(json.dumps(base))
            for t in j["tensors"]:
                if t["name"] in cur:
                    t["asym"] = cands[cur[t["name"]]][t["name"]]
            json.dump(j, open(table + ".calib8.json", "w"))
        return float(((run(["--int8", "--table", table] + sym) - ref) ** 2).sum())

    best = score()
    print("%d tensors held in 8 bits; output squared error with the %s ranges: %.6g"
          % (len(tensors), start, best))
    def same(nm, other, t):  # the two candidates give tensor t the same encoding
        if a.symmetric:
            return lines[nm][t] == lines[other][t]
        return cands[nm][t] == cands[other][t]

    for t in tensors:
        for nm in names:
            if same(nm, cur[t], t):
                continue
            old, cur[t] = cur[t], nm
            s = score()
            if s < best:
                best = s
                print("  %s -> %s: %.6g" % (t, nm, s))
            else:
                cur[t] = old
    score()  # leaves the chosen ranges in the sidecar
    d = os.path.join(a.work, "data")
    xe = np.load(os.path.join(d, "rec_eval.npy"))
    truth = open(os.path.join(d, "rec_eval.txt")).read().split("\n")[:len(xe)]
    c8 = ocr.Calib8(exe, a.threads, e)
    keys = ocr.load_keys()
    ref_e = c8.run(model, xe, 100)
    fp32 = ocr.evaluate("rec", ref_e, None, truth, keys)
    if a.symmetric:  # bare caches: the runtime must not see a sidecar
        for t in (default, table):
            if os.path.exists(t + ".calib8.json"):
                os.replace(t + ".calib8.json", t + ".sidecar.json")
    for name, t in (("%s (default)" % start, default), ("end-to-end choice", table)):
        m = ocr.evaluate("rec", c8.run(model, xe, 100, ["--int8", "--table", t] + sym), ref_e, truth, keys)
        print("%-18s exact match %.2f %% (FP32 %.2f, %+.2f points), same string as FP32 %.2f %%"
              % (name, m["metric"], fp32["metric"], m["metric"] - fp32["metric"], m["agree"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
