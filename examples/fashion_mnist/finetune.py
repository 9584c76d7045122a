#!/usr/bin/python3
"""Fine-tunes the bundled Fashion-MNIST CNN in 8 bits with a calib8 table's scales, end to end:

  FP32 -> calib8 calibrate (default method and entropy2) -> calib8 INT8 accuracy
       -> calib8 convert --to pytorch (the table mapped onto the model's modules)
       -> fine-tune with fixed-scale fake quantizers (python/calib8_torch)
       -> Q/DQ ONNX export -> calib8 import-qdq (TensorRT cache + plain model)
       -> calib8 run --int8 accuracy (and onnxruntime on the Q/DQ model when node has it)

Run from the repository root (docs/fine-tuning.md); without build/calib8 it first runs
scripts/setup.sh build (installs what is missing, builds), as scripts/demo.sh does:

    /usr/bin/python3 examples/fashion_mnist/finetune.py            # full: 60,000 / 10,000 images
    /usr/bin/python3 examples/fashion_mnist/finetune.py --quick    # CI: a subset, one small epoch

Prints a table with the accuracy at each step; the last line is
`RESULT {"fp32": ..., "ptq_best": ..., "qat": ..., "qat_calib8": ...}` (accuracies in [0, 1] on
the test images used). Reuses train.py's model definition and data loading. Exit 1 when a
check fails (scale bits lost in the round trip, calib8 and onnxruntime disagreeing on more than
0.5 % of the images).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "python"))
import calib8_torch as c8  # noqa: E402
from train import DATA, SmallCnn, read_idx  # noqa: E402

MODEL = os.path.join(ROOT, "models", "fashion_mnist_cnn.onnx")


def sh(cmd, quiet=True):
    """Runs a command; returns stdout; on failure prints everything and exits 1."""
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(f"finetune.py: command failed ({r.returncode}): {' '.join(cmd)}\n"
                         f"{r.stdout}{r.stderr}")
        sys.exit(1)
    if not quiet:
        sys.stdout.write(r.stdout)
    return r.stdout


def fp32_model():
    """train.py's SmallCnn as exported: the ONNX file has BatchNorm folded into the convolutions,
    so the BatchNorm modules become Identity and the folded weights are loaded."""
    m = SmallCnn()
    m.features[1] = nn.Identity()
    m.features[5] = nn.Identity()
    return m


def accuracy(model, x, y, batch=1000):
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(torch.from_numpy(x[i:i + batch])).argmax(1)
                          for i in range(0, len(x), batch)])
    return float((pred.numpy() == y).mean()), pred.numpy()


def calib8_int8_accuracy(c8bin, model, table, test_images, test_labels, n, symmetric):
    cmd = [c8bin, "compare", model, "--table", table, "--data", f"idx:{test_images}",
           "--labels", f"idx:{test_labels}", "--batch", "100", "--max-samples", str(n), "--quiet"]
    if symmetric:
        cmd.append("--symmetric")
    out = sh(cmd)
    m = re.search(r"accuracy FP32 ([0-9.]+)% INT8 ([0-9.]+)%", out)
    if not m:
        sys.exit(f"finetune.py: no accuracy line in calib8 compare's output:\n{out}")
    return float(m.group(1)) / 100, float(m.group(2)) / 100


def calib8_run_logits(c8bin, model, table, x, work, chunk=2000):
    """`calib8 run --int8` on x in chunks; returns the logits."""
    outs = []
    for i in range(0, len(x), chunk):
        inp = os.path.join(work, "run_input.npy")
        np.save(inp, x[i:i + chunk])
        d = os.path.join(work, "run_out")
        shutil.rmtree(d, ignore_errors=True)
        # --int8-all: the Q/DQ model says what is quantized; calib8's speed rule (keep small
        # isolated layers FP32, docs/int8.md) is its own choice, not the model's.
        sh([c8bin, "run", model, "--int8", "--int8-all", "--table", table, "--input",
            f"image={inp}", "--output-dir", d])
        outs.append(np.load(os.path.join(d, "logits.npy")))
    return np.concatenate(outs)


def ort_logits(model, x, work):
    """onnxruntime-node on x (tests/models/ort_run.js); None when node or ORT is missing."""
    if shutil.which("node") is None:
        return None
    inp = os.path.join(work, "ort_input.npy")
    np.save(inp, x)
    d = os.path.join(work, "ort_out")
    shutil.rmtree(d, ignore_errors=True)
    r = subprocess.run(["node", os.path.join(ROOT, "tests", "models", "ort_run.js"), model,
                        "--input", f"image={inp}", "--output-dir", d, "--threads", "2"],
                       cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(f"finetune.py: onnxruntime not run: {r.stderr.strip()[:300]}\n")
        return None
    return np.load(os.path.join(d, "logits.npy"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="CI: 4,000 training images for one epoch, 2,000 test images")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--learnable", action="store_true",
                    help="LSQ-style: train the activation scales too (the exported scales then "
                         "differ from the table's)")
    ap.add_argument("--fp32-baseline", action="store_true",
                    help="also fine-tune the FP32 model the same way (no quantizers): the "
                         "like-for-like FP32 accuracy to compare the fine-tuned INT8 with")
    ap.add_argument("--calib8", default=os.path.join(ROOT, "build", "calib8"))
    ap.add_argument("--out", default=os.path.join(ROOT, "out", "finetune"))
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    t0 = time.time()
    torch.manual_seed(0)
    np.random.seed(0)
    torch.set_num_threads(args.threads)
    c8bin = os.path.abspath(args.calib8)
    default_bin = os.path.join(ROOT, "build", "calib8")
    if not os.path.exists(c8bin) and c8bin == default_bin:
        # A newcomer's first run: install what is missing and build, as scripts/demo.sh does.
        print("finetune.py: build/calib8 not found: running scripts/setup.sh build", flush=True)
        if subprocess.run([os.path.join(ROOT, "scripts", "setup.sh"), "build"], cwd=ROOT).returncode:
            sys.exit("finetune.py: scripts/setup.sh failed")
    if not os.path.exists(c8bin):
        sys.exit(f"finetune.py: {c8bin} not found: build calib8 first (scripts/setup.sh, or "
                 f"cmake --build build --target calib8_cli)")
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)

    train_images = f"{DATA}/train-images-idx3-ubyte.gz"
    test_images = f"{DATA}/t10k-images-idx3-ubyte.gz"
    test_labels = f"{DATA}/t10k-labels-idx1-ubyte.gz"
    xtr = read_idx(train_images).astype(np.float32)[:, None] / 255.0
    ytr = read_idx(f"{DATA}/train-labels-idx1-ubyte.gz").astype(np.int64)
    xte = read_idx(test_images).astype(np.float32)[:, None] / 255.0
    yte = read_idx(test_labels).astype(np.int64)
    n_train = 4000 if args.quick else len(xtr)
    n_test = 2000 if args.quick else len(xte)
    xtr, ytr, xte, yte = xtr[:n_train], ytr[:n_train], xte[:n_test], yte[:n_test]
    calib_samples = 200 if args.quick else 500
    rows = []  # (step, accuracy, note)

    def row(step, acc, note=""):
        rows.append((step, acc, note))
        print(f"  {step:<52} {acc * 100:6.2f}%  {note}", flush=True)

    print(f"== Fashion-MNIST: {n_train} training / {n_test} test images, tables from "
          f"{calib_samples} training images")
    # 1. FP32 and post-training INT8 with two calibration methods.
    tables = {}
    for method in ("default", "entropy2"):
        table = os.path.join(out, f"{method}.cache")
        cmd = [c8bin, "calibrate", MODEL, "--data", f"idx:{train_images}", "--max-samples",
               str(calib_samples), "--batch", "50", "-o", table, "--quiet"]
        if method != "default":
            cmd += ["--method", method]
        sh(cmd)
        tables[method] = table
    fp32 = None
    ptq = {}
    for method, table in tables.items():
        for symmetric in (False, True):
            f, i8 = calib8_int8_accuracy(c8bin, MODEL, table, test_images, test_labels, n_test,
                                         symmetric)
            if fp32 is None:
                fp32 = f
                row("FP32 (calib8)", fp32)
            mode = "symmetric s8, TensorRT mode" if symmetric else "asymmetric u8, calib8 default"
            ptq[(method, symmetric)] = i8
            row(f"PTQ INT8 {method} ({mode})", i8, "calib8 compare")
    ptq_best = max(ptq.values())

    # 2. The default table on the PyTorch model.
    scales_path = os.path.join(out, "scales.json")
    sh([c8bin, "convert", tables["default"], "--to", "pytorch", "--model", MODEL, "-o",
        scales_path])
    scales = c8.load_scales(scales_path)
    model = fp32_model()
    loaded = c8.load_onnx_weights(model, MODEL, scales)
    fp32_torch, _ = accuracy(model, xte, yte)
    row("FP32 (PyTorch, weights from the ONNX model)", fp32_torch, f"{len(loaded)} modules loaded")
    attached = c8.attach(model, scales, learnable=args.learnable)
    before, _ = accuracy(model, xte, yte)
    row("fake-quant with the default table, before fine-tuning", before,
        f"{len(attached)} modules, symmetric int8 [-128, 127]")

    # 3. Fine-tune: the table's scales fixed, weights per channel max|W|/127 at every step.
    xtr_t, ytr_t = torch.from_numpy(xtr), torch.from_numpy(ytr)

    def fine_tune(net, label):
        opt = torch.optim.Adam(net.parameters(), lr=args.lr)
        steps = args.epochs * ((n_train + args.batch - 1) // args.batch)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
        loss_fn = nn.CrossEntropyLoss()
        g = torch.Generator().manual_seed(0)  # the same batches for every run
        t_train = time.time()
        for epoch in range(args.epochs):
            net.train()
            perm = torch.randperm(n_train, generator=g)
            for i in range(0, n_train, args.batch):
                idx = perm[i:i + args.batch]
                opt.zero_grad()
                loss = loss_fn(net(xtr_t[idx]), ytr_t[idx])
                loss.backward()
                opt.step()
                sched.step()
            print(f"  ({label} epoch {epoch + 1}: last batch loss {loss.item():.4f}, "
                  f"{time.time() - t_train:.0f} s)", flush=True)

    fine_tune(model, "QAT")
    qat, qat_pred = accuracy(model, xte, yte)
    row("QAT INT8 (PyTorch fake-quant, after fine-tuning)", qat,
        f"{args.epochs} epoch(s), batch {args.batch}, lr {args.lr}")
    if args.fp32_baseline:
        base = fp32_model()
        c8.load_onnx_weights(base, MODEL, scales)
        fine_tune(base, "FP32")
        fp32_ft, _ = accuracy(base, xte, yte)
        row("FP32 fine-tuned the same way (no quantizers)", fp32_ft, "--fp32-baseline")

    # 4. Q/DQ export -> calib8 import-qdq -> calib8 run --int8.
    qdq = os.path.join(out, "finetuned.qdq.onnx")
    c8.export_qdq(model, torch.zeros(1, 1, 28, 28), qdq, input_names=["image"],
                  output_names=["logits"], dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}})
    imported = os.path.join(out, "finetuned.cache")
    plain = os.path.join(out, "finetuned.plain.onnx")
    sh([c8bin, "import-qdq", qdq, "-o", imported, "--model-out", plain])
    logits = calib8_run_logits(c8bin, plain, imported, xte, out)
    pred_c8 = logits.argmax(1)
    qat_calib8 = float((pred_c8 == yte).mean())
    row("QAT INT8, calib8 run --int8 on the imported model", qat_calib8,
        "import-qdq table + plain model")

    # Checks: every quantizer's scale bits survive table -> PyTorch -> Q/DQ -> table.
    failures = []
    table_bits = {t["name"]: t["bits"] for t in scales["tensors"]}
    back = {}
    for line in open(imported).read().splitlines()[1:]:
        name, _, bits = line.rpartition(":")
        back[name] = bits.strip()
    for mod, q in c8.quantizers(model):
        want = (q.scale_bits().lstrip("0") or "0") if args.learnable else table_bits[q.tensor_name]
        if back.get(q.tensor_name) != want:
            failures.append(f"{q.tensor_name}: bits {back.get(q.tensor_name)} after the round "
                            f"trip, expected {want}")
    print(f"  round trip table -> PyTorch -> Q/DQ -> table: {len(attached) - len(failures)} of "
          f"{len(attached)} scales bit-identical")
    agree_torch = float((pred_c8 == qat_pred).mean())
    print(f"  top-1 agreement calib8 run --int8 / PyTorch fake-quant: {agree_torch * 100:.2f}%")
    ort = ort_logits(qdq, xte, out)
    if ort is not None:
        pred_ort = ort.argmax(1)
        qat_ort = float((pred_ort == yte).mean())
        agree = float((pred_ort == pred_c8).mean())
        row("QAT INT8, onnxruntime on the Q/DQ model", qat_ort, "tests/models/ort_run.js")
        print(f"  top-1 agreement calib8 run --int8 / onnxruntime: {agree * 100:.2f}%")
        # ONNX Runtime's u8 x s8 kernels on x86 without VNNI/AMX saturate 16-bit pair sums
        # (ORT's docs: reduce_range), so there only a run is required of it.
        vnni = any(f in open("/proc/cpuinfo").read().split() for f in ("avx512_vnni", "avx_vnni", "amx_int8"))
        if agree < (0.995 if vnni else 0.0):
            failures.append(f"calib8 and onnxruntime agree on {agree * 100:.2f}% < 99.5%")
        elif not vnni:
            print("  note: no VNNI/AMX on this CPU: ONNX Runtime's u8s8 kernels saturate; agreement not checked")
    else:
        print("  onnxruntime: not available (node / onnxruntime-node), skipped")

    print(f"\n== summary ({n_test} test images; {time.time() - t0:.0f} s)")
    for step, acc, note in rows:
        print(f"  {step:<52} {acc * 100:6.2f}%")
    print(f"  fine-tuned INT8 vs best PTQ INT8: {(qat_calib8 - ptq_best) * 100:+.2f} points; "
          f"vs FP32: {(qat_calib8 - fp32) * 100:+.2f} points")
    yes = {True: "yes", False: "NO"}
    print(f"  targets: fine-tuned INT8 >= best PTQ INT8: {yes[qat_calib8 >= ptq_best]}; "
          f"not more than 0.2 points below FP32: {yes[qat_calib8 >= fp32 - 0.002]}")
    for f in failures:
        print(f"FAILED: {f}", file=sys.stderr)
    print("RESULT " + json.dumps({k: round(v, 4) for k, v in (
        ("fp32", fp32), ("ptq_best", ptq_best), ("qat", qat), ("qat_calib8", qat_calib8))}),
        flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
