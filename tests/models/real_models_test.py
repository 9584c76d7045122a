#!/usr/bin/python3
"""Real-model check: calib8 against ONNX Runtime (onnxruntime-node) on PaddleOCR and torchvision models.

    /usr/bin/python3 tests/models/real_models_test.py [--calib8 build/calib8] [--threads 2]
        [--seed 7] [--only det,rec,...] [--work-dir DIR] [--tol 1e-4]

For each model an image-like input is made (fixed seed, normalised as each model's own
preprocessing does), run through `node tests/models/ort_run.js` and `calib8 run`, and for every
output max|calib8 - ORT| / max|ORT| must be <= tol (1e-4). One line per model/output, then a
closing line `N passed, M failed`. Exit 0 when all pass, 1 otherwise, 77 (skip) when the repo's
node_modules (npm install --ignore-scripts) is missing. Missing torchvision models are generated
with scripts/gen_torchvision_models.py first.

Needs /usr/bin/python3 with Debian's python3-numpy (a pyenv/venv python3 lacks it), node.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OCR = os.path.join(ROOT, "node_modules", "@gutenye", "ocr-models", "assets")
GEN = os.path.join(ROOT, "models", "generated")
ORT_RUN = os.path.join(ROOT, "tests", "models", "ort_run.js")
SKIP = 77

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)

# name -> (model path, input shape NCHW, normalisation)
MODELS = {
    "det": (os.path.join(OCR, "ch_PP-OCRv4_det_infer.onnx"), (1, 3, 640, 640), "imagenet"),
    "cls": (os.path.join(OCR, "ch_ppocr_mobile_v2.0_cls_infer.onnx"), (1, 3, 48, 192), "pm1"),
    "rec": (os.path.join(OCR, "ch_PP-OCRv4_rec_infer.onnx"), (1, 3, 48, 320), "pm1"),
    "resnet18": (os.path.join(GEN, "resnet18.onnx"), (1, 3, 224, 224), "imagenet"),
    "mobilenet_v2": (os.path.join(GEN, "mobilenet_v2.onnx"), (1, 3, 224, 224), "imagenet"),
}


def sanitise(name):
    s = "".join(c if (c.isascii() and c.isalnum()) or c in "._-" else "_" for c in name)
    return "_" + s if s in ("", ".", "..") else s


def synthetic_image(h, w, rng):
    """A document-like RGB image in [0, 255]: light background with a gentle gradient, lines of
    dark glyphs (each a few thick pen strokes), a few coloured blocks, sensor noise."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.empty((h, w, 3), np.float32)
    base = rng.uniform(195, 245, size=3).astype(np.float32)
    for c in range(3):
        img[..., c] = base[c] + 8 * np.sin(xx / w * rng.uniform(1, 4) + c) * np.cos(yy / h * rng.uniform(1, 3))
    for _ in range(2):
        y0, x0 = int(rng.integers(0, h)), int(rng.integers(0, w))
        img[y0:y0 + h // 8, x0:x0 + w // 8] = rng.uniform(120, 255, size=3)
    line_h = int(np.clip(h // 6, 12, 40)) if h > 64 else int(h * 0.6)
    pitch = int(line_h * 1.7)
    top = int(rng.integers(0, max(1, pitch - line_h))) if h > 64 else (h - line_h) // 2
    while top + line_h <= h:
        ink = rng.uniform(0, 60, size=3).astype(np.float32)
        pen = max(1.0, line_h / 9)
        x = float(rng.integers(2, max(3, w // 12)))
        end = w - rng.integers(2, max(3, w // 4))
        while x + line_h * 0.6 < end:
            cw = line_h * rng.uniform(0.5, 0.9)
            for _ in range(int(rng.integers(2, 5))):  # strokes of one glyph
                (ax, bx), (ay, by) = rng.uniform(0, cw, 2), rng.uniform(0, line_h, 2)
                for t in np.linspace(0, 1, int(max(abs(bx - ax), abs(by - ay)) * 2) + 2):
                    cx, cy = x + ax + t * (bx - ax), top + ay + t * (by - ay)
                    y_lo, y_hi = int(max(0, cy - pen / 2)), int(min(h, cy + pen / 2 + 1))
                    x_lo, x_hi = int(max(0, cx - pen / 2)), int(min(w, cx + pen / 2 + 1))
                    img[y_lo:y_hi, x_lo:x_hi] = ink
            x += cw + line_h * rng.uniform(0.1, 0.3)
            if rng.random() < 0.12:
                x += line_h * rng.uniform(0.5, 1.2)  # word gap
        top += pitch
    img += rng.normal(0, 4, size=img.shape)
    return np.clip(img, 0, 255)


def make_input(shape, norm, seed):
    rng = np.random.default_rng(seed)
    n, c, h, w = shape
    imgs = []
    for _ in range(n):
        img = synthetic_image(h, w, rng) / 255.0
        if norm == "imagenet":
            img = (img - IMAGENET_MEAN) / IMAGENET_STD
        else:  # PaddleOCR rec/cls: (x - 0.5) / 0.5
            img = (img - 0.5) / 0.5
        imgs.append(img.transpose(2, 0, 1))
    return np.ascontiguousarray(np.stack(imgs).astype(np.float32))


def run(cmd, timeout):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return 124, "", f"timed out after {timeout} s"
    return p.returncode, p.stdout, p.stderr


def tail(text, n=4):
    lines = [l for l in text.strip().splitlines() if l.strip()]
    return " | ".join(lines[-n:])


def ensure_generated(names):
    missing = [n for n in names if n in ("resnet18", "mobilenet_v2") and not os.path.exists(MODELS[n][0])]
    if not missing:
        return
    print(f"note: {', '.join(missing)} not found under models/generated; running scripts/gen_torchvision_models.py",
          flush=True)
    py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    rc, out, err = run([py, os.path.join(ROOT, "scripts", "gen_torchvision_models.py")], 900)
    if rc != 0:
        print(f"note: model generation failed (rc={rc}): {tail(out + err)}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calib8", default=os.environ.get("CALIB8", os.path.join(ROOT, "build", "calib8")))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--only", default="", help="comma-separated subset of: " + ",".join(MODELS))
    ap.add_argument("--work-dir", default="", help="keep inputs/outputs here (default: a temporary dir)")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per run")
    args = ap.parse_args()

    if not os.path.isdir(os.path.join(ROOT, "node_modules", "onnxruntime-node")):
        print("SKIPPED: node_modules/onnxruntime-node is missing; run `npm install --ignore-scripts` at the repo root "
              "(and `/usr/bin/python3 scripts/gen_torchvision_models.py`) to enable the real-model checks")
        return SKIP
    if not shutil.which("node"):
        print("FAIL: node is not on PATH")
        return 1
    if not os.access(args.calib8, os.X_OK):
        print(f"FAIL: calib8 binary not found at {args.calib8} (build it or pass --calib8)")
        return 1

    names = [n for n in args.only.split(",") if n] or list(MODELS)
    for n in names:
        if n not in MODELS:
            print(f"FAIL: unknown model '{n}' (known: {', '.join(MODELS)})")
            return 1
    ensure_generated(names)

    work = args.work_dir or tempfile.mkdtemp(prefix="calib8_models_")
    passed = failed = 0
    print(f"calib8={args.calib8} threads={args.threads} seed={args.seed} tol={args.tol:g}", flush=True)
    for name in names:
        path, shape, norm = MODELS[name]
        if not os.path.exists(path):
            print(f"FAIL {name}: model file {path} is missing", flush=True)
            failed += 1
            continue
        d = os.path.join(work, name)
        ort_dir, c8_dir = os.path.join(d, "ort"), os.path.join(d, "calib8")
        for sub in (ort_dir, c8_dir):
            shutil.rmtree(sub, ignore_errors=True)
            os.makedirs(sub)
        inp = os.path.join(d, "input.npy")
        np.save(inp, make_input(shape, norm, args.seed + list(MODELS).index(name)))

        rc, out, err = run(["node", ORT_RUN, path, "--input", inp, "--output-dir", ort_dir,
                            "--threads", str(args.threads)], args.timeout)
        if rc != 0:
            print(f"FAIL {name}: onnxruntime-node failed (rc={rc}): {tail(out + err)}", flush=True)
            failed += 1
            continue
        rc, out, err = run([args.calib8, "run", path, "--input", inp, "--output-dir", c8_dir,
                            "--threads", str(args.threads)], args.timeout)
        if rc != 0:
            print(f"FAIL {name}: calib8 run failed (rc={rc}): {tail(err + out)}", flush=True)
            failed += 1
            continue

        ort_outs = sorted(f for f in os.listdir(ort_dir) if f.endswith(".npy"))
        if not ort_outs:
            print(f"FAIL {name}: ORT wrote no outputs", flush=True)
            failed += 1
        for f in ort_outs:
            label = f"{name}/{f[:-4]}"
            ref = np.load(os.path.join(ort_dir, f))
            got_path = os.path.join(c8_dir, f)
            if not os.path.exists(got_path):
                print(f"FAIL {label}: calib8 wrote no {f} (it wrote: {', '.join(sorted(os.listdir(c8_dir))) or 'nothing'})",
                      flush=True)
                failed += 1
                continue
            got = np.load(got_path)
            if got.shape != ref.shape:
                print(f"FAIL {label}: shape {got.shape} != ORT {ref.shape}", flush=True)
                failed += 1
                continue
            ref64, got64 = ref.astype(np.float64), got.astype(np.float64)
            denom = np.max(np.abs(ref64)) if ref64.size else 0.0
            diff = np.max(np.abs(got64 - ref64)) if ref64.size else 0.0
            if not np.all(np.isfinite(got64)):
                ratio = float("inf")
            else:
                ratio = diff / denom if denom > 0 else (0.0 if diff == 0 else float("inf"))
            ok = ratio <= args.tol
            print(f"{'PASS' if ok else 'FAIL'} {label}: shape={list(ref.shape)} max|diff|/max|ORT|={ratio:.3e} "
                  f"(max|diff|={diff:.3e}, max|ORT|={denom:.4g})", flush=True)
            passed += ok
            failed += not ok
    if not args.work_dir:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
