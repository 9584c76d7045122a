#!/usr/bin/python3
"""Independent numpy reference calibrators, and the check that calib8's C++ ones agree with them.

Written from docs/reference/calibration-algorithms.md (the peers' step lists), not from the
C++ in src/calib: different structure (vectorised numpy per candidate, np.digitize levels,
piecewise-linear CDF resampling for ncnn) so that a shared mistake is unlikely.

  reference_calibrators.py --check PATH/calib8_calib_check   # exit 0 if every amax agrees
  reference_calibrators.py --dump FILE                       # only write the histograms

Data sets are synthetic activations with fixed seeds (ReLU-like, Gaussian, heavy-tailed, with
outliers, with a zero spike, ...), binned exactly as stats/histogram.h does: N equal bins of |x|
on [0, absmax], bin = floor(|x| / w) clamped to N-1. Tolerance: one histogram bin width.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

NUM_BINS = 2048


# ----------------------------------------------------------------------------- histograms

def abs_histogram(x, num_bins=NUM_BINS):
    a = np.abs(np.asarray(x, dtype=np.float64))
    absmax = float(a.max()) if a.size else 0.0
    if absmax == 0.0:
        return absmax, None
    w = absmax / num_bins
    idx = np.minimum(np.floor(a / w).astype(np.int64), num_bins - 1)
    return absmax, np.bincount(idx, minlength=num_bins).astype(np.float64)


def datasets():
    """(name, samples) pairs; every generator has its own fixed seed."""
    out = []
    rng = np.random.default_rng(1)
    out.append(("relu", np.maximum(rng.normal(0.2, 1.0, 400_000), 0.0)))
    rng = np.random.default_rng(2)
    out.append(("gaussian", rng.normal(0.0, 1.0, 300_000)))
    rng = np.random.default_rng(3)
    out.append(("student_t3", rng.standard_t(3, 300_000)))
    rng = np.random.default_rng(4)
    out.append(("laplace", rng.laplace(0.0, 0.5, 300_000)))
    rng = np.random.default_rng(5)
    x = rng.normal(0.0, 1.0, 200_000)
    x[rng.choice(x.size, 20, replace=False)] = rng.uniform(20, 60, 20)
    out.append(("gauss_outliers", x))
    rng = np.random.default_rng(6)
    x = rng.exponential(0.7, 250_000)
    x[rng.random(x.size) < 0.6] = 0.0
    out.append(("zero_spike", x))
    rng = np.random.default_rng(7)
    out.append(("lognormal", rng.lognormal(0.0, 0.8, 200_000)))
    rng = np.random.default_rng(8)
    out.append(("uniform", rng.uniform(-3, 3, 100_000)))
    rng = np.random.default_rng(9)
    x = np.maximum(rng.normal(0.0, 1.0, 20_000), 0) * 3 + np.maximum(rng.normal(0, 1, 20_000), 0)
    out.append(("relu_small", x))
    rng = np.random.default_rng(10)
    out.append(("gelu_like", (lambda z: z / (1 + np.exp(-1.702 * z)))(rng.normal(0, 1.5, 300_000))))
    rng = np.random.default_rng(11)
    out.append(("sparse_2k", rng.standard_t(2, 2_000)))
    return out


# ----------------------------------------------------------------------------- references

def kl_normalised(p, q):
    """scipy.stats.entropy(p, q): both normalised, natural log, p=0 adds 0, p>0=q gives inf."""
    if q.sum() <= 0:
        return np.inf
    p = p / p.sum()
    q = q / q.sum()
    m = p > 0
    if np.any(q[m] == 0):
        return np.inf
    return float(np.sum(p[m] * np.log(p[m] / q[m])))


def ref_entropy2(h, w, start_bin=128, stride=1, levels=128, centre=False, replace_zero=True):
    """pytorch-quantization _compute_amax_entropy, on a histogram that does not grow."""
    h = h.astype(np.float64).copy()
    n = h.size
    if replace_zero and n > 1:
        h[0] = h[1]
    cands, divs = [], []
    for i in range(min(start_bin, n), n + 1, stride):
        ref = h[:i].copy()
        ref[i - 1] += h[i:].sum()
        space = np.linspace(0, i, num=levels + 1)
        level = np.digitize(np.arange(i), space) - 1
        nonzero = h[:i] != 0
        sums = np.bincount(level[nonzero], weights=h[:i][nonzero], minlength=levels)
        cnts = np.bincount(level[nonzero], minlength=levels)
        cand = np.zeros(i)
        cand[nonzero] = sums[level[nonzero]] / cnts[level[nonzero]]
        cands.append(i)
        divs.append(kl_normalised(ref, cand))
    divs = np.array(divs)
    pick = len(divs) - 1 - int(np.argmin(divs[::-1]))  # last of equal minima
    i = cands[pick]
    return min((i + 0.5) * w, n * w) if centre else i * w


def ref_entropy_ncnn(h, w, start_bin=128, levels=128, eps=1e-4):
    """ncnn2table KL. Merging into `levels` levels of t/levels bins with fractional boundaries and
    expanding back equals resampling the piecewise-linear CDF of the first t bins: level k holds
    C(b_{k+1}) - C(b_k) with b_k = k t / levels, and bin j gets back the part of the levels' uniform
    densities lying in [j, j+1), i.e. G(j+1) - G(j) with G the linear interpolation of C through
    the b_k. No empty-bin mask, eps added to P and Q, no renormalisation, first minimum."""
    n = h.size
    if n <= start_bin:
        return n * w
    prob = h / h.sum()
    best, best_t = np.inf, n
    for t in range(start_bin, n):
        p = eps + prob[:t]
        p[t - 1] += prob[t:].sum()
        cdf = np.concatenate(([0.0], np.cumsum(prob[:t])))
        knots = np.arange(levels + 1) * (t / levels)
        c_at_knots = np.interp(knots, np.arange(t + 1), cdf)
        g = np.interp(np.arange(t + 1), knots, c_at_knots)
        q = eps + np.diff(g)
        d = float(np.sum(p * np.log(p / q)))
        if d < best:
            best, best_t = d, t
    return (best_t + 0.5) * w


def ref_percentile(h, w, percentile=99.99):
    cdf = np.cumsum(h / h.sum())
    idx = int(np.searchsorted(cdf, percentile / 100.0, side="left"))
    return idx * w


def ref_mse(h, w, start_bin=128, bound=127):
    n = h.size
    centres = (np.arange(n) + 0.5) * w
    best, best_amax = np.inf, centres[-1]
    for i in range(min(start_bin, n - 1), n):
        amax = centres[i]
        scale = bound / amax
        q = np.clip(np.round(centres * scale), -bound, bound) / scale
        mse = float(np.mean((q - centres) ** 2 * h))
        if mse < best:
            best, best_amax = mse, amax
    return best_amax


def references(absmax, h):
    """label -> reference amax, the labels calib8_calib_check prints."""
    if h is None:
        return {k: 0.0 for k in LABELS}
    w = absmax / h.size
    return {
        "entropy2": ref_entropy2(h, w),
        "entropy2/centre": ref_entropy2(h, w, centre=True),
        "entropy2/keep_zero": ref_entropy2(h, w, replace_zero=False),
        "entropy": ref_entropy_ncnn(h, w),
        "minmax": absmax,
        "percentile": ref_percentile(h, w),
        "percentile/99.9": ref_percentile(h, w, 99.9),
        "percentile/99.999": ref_percentile(h, w, 99.999),
        "mse": ref_mse(h, w),
    }


LABELS = ["entropy2", "entropy2/centre", "entropy2/keep_zero", "entropy", "minmax", "percentile",
          "percentile/99.9", "percentile/99.999", "mse"]


# ----------------------------------------------------------------------------- check

def cases():
    out = []
    for name, x in datasets():
        absmax, h = abs_histogram(x)
        out.append((name, absmax, h))
    # A coarser histogram (256 bins) and the edge cases: all-zero and a single bin.
    rng = np.random.default_rng(12)
    absmax, h = abs_histogram(np.maximum(rng.normal(0, 1, 50_000), 0), 256)
    out.append(("relu_256bins", absmax, h))
    out.append(("all_zero", 0.0, None))
    out.append(("single_bin", 2.0, np.array([17.0])))
    return out


def write_histograms(path, all_cases):
    with open(path, "w") as f:
        for name, absmax, h in all_cases:
            if h is None:
                f.write(f"{name} 0 0 0\n")
            else:
                f.write(f"{name} {h.size} {absmax!r} {absmax!r} " +
                        " ".join(repr(float(c)) for c in h) + "\n")


# ----------------------------------------------------------------------------- asymmetric ranges

ASYM_PERCENTILES = (99.99, 99.9)


def ref_asym(x, num_bins, percentile):
    """[lo, hi] from the raw values by sorting (not from a cumulative histogram walk): each tail
    may clip whole bins holding at most T*(100-p)/100 of all T values. With m = floor(allowed), the
    (m+1)-th largest positive value v must stay (clipping its bin clips >= m+1 > allowed values)
    and every bin above bin(v) holds only values > v, at most m: hi = right edge of bin(v),
    clamped to max; no (m+1)-th positive value: hi = 0. Negative side mirrored."""
    x = np.asarray(x, dtype=np.float64)
    absmax = float(np.abs(x).max())
    inv_w = num_bins / absmax
    m = int(np.floor(x.size * (100.0 - percentile) / 100.0 * (1 + 1e-9)))

    def side(v, extreme):
        v = np.sort(v)[::-1]
        if v.size <= m:
            return 0.0
        b = min(int(np.floor(v[m] * inv_w)), num_bins - 1)
        return min((b + 1) * (absmax / num_bins), extreme)

    hi = side(x[x >= 0], float(x.max())) if x.max() > 0 else 0.0
    lo = -side(-x[x < 0], -float(x.min())) if x.min() < 0 else 0.0
    return lo, hi


def asym_cases():
    out = []
    for name, x in datasets():
        a = np.abs(x)
        absmax = float(a.max())
        idx = np.minimum(np.floor(a * (NUM_BINS / absmax)).astype(np.int64), NUM_BINS - 1)
        h = np.bincount(idx, minlength=NUM_BINS).astype(np.float64)
        neg = np.bincount(idx[x < 0], minlength=NUM_BINS).astype(np.float64)
        out.append((name, x, absmax, h, neg))
    return out


def write_asym(path, all_cases):
    with open(path, "w") as f:
        for name, x, absmax, h, neg in all_cases:
            f.write(f"{name} {h.size} {absmax!r} {float(x.min())!r} {float(x.max())!r} " +
                    " ".join(repr(float(c)) for c in h) + " " +
                    " ".join(repr(float(c)) for c in neg) + "\n")


def check_asym(exe, d):
    all_cases = asym_cases()
    path = os.path.join(d, "asym.txt")
    write_asym(path, all_cases)
    run = subprocess.run([exe, "--asym", path], capture_output=True, text=True)
    if run.returncode != 0:
        print(run.stdout, run.stderr, sep="\n")
        print(f"FAIL: {exe} --asym exited with {run.returncode}")
        return 1
    got = {}
    for line in run.stdout.splitlines():
        name, label, lo, hi = line.split()
        got[(name, label)] = (float(lo), float(hi))
    failures = 0
    print(f"{'case':16} {'asym':12} {'calib8 lo':>12} {'ref lo':>12} {'calib8 hi':>12} {'ref hi':>12}")
    for name, x, absmax, h, neg in all_cases:
        for p in ASYM_PERCENTILES:
            label = f"asym/{p!r}"
            want = ref_asym(x, NUM_BINS, p)
            have = got.get((name, label))
            # Exact: both sides count whole bins of the same layout (no tolerance).
            ok = have is not None and have == want
            failures += not ok
            print(f"{name:16} {label:12} {have[0] if have else float('nan'):12.6g} {want[0]:12.6g} "
                  f"{have[1] if have else float('nan'):12.6g} {want[1]:12.6g}{'' if ok else '  FAIL'}")
    print(f"{failures} asymmetric-range disagreement(s)")
    return failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", metavar="CALIB8_CALIB_CHECK")
    ap.add_argument("--dump", metavar="FILE")
    args = ap.parse_args()
    all_cases = cases()
    if args.dump:
        write_histograms(args.dump, all_cases)
        return 0
    if not args.check:
        ap.error("give --check or --dump")
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "histograms.txt")
        write_histograms(path, all_cases)
        run = subprocess.run([args.check, path], capture_output=True, text=True)
        asym_failures = check_asym(args.check, d)
    if run.returncode != 0:
        print(run.stdout, run.stderr, sep="\n")
        print(f"FAIL: {args.check} exited with {run.returncode}")
        return 1
    got = {}
    for line in run.stdout.splitlines():
        name, label, amax, _flag = line.split()
        got[(name, label)] = float(amax)
    failures = 0
    print(f"{'case':16} {'method':20} {'calib8':>12} {'reference':>12} {'diff/bin':>9}")
    for name, absmax, h in all_cases:
        w = absmax / h.size if h is not None else 0.0
        for label, want in references(absmax, h).items():
            have = got.get((name, label))
            if have is None:
                print(f"FAIL: no result for {name} {label}")
                failures += 1
                continue
            diff_bins = abs(have - want) / w if w > 0 else abs(have - want)
            ok = diff_bins <= 1.0 + 1e-9
            failures += not ok
            print(f"{name:16} {label:20} {have:12.6g} {want:12.6g} {diff_bins:9.3f}"
                  f"{'' if ok else '  FAIL (tolerance: 1 bin)'}")
    print(f"{failures} disagreement(s) over {len(all_cases)} histograms x {len(LABELS)} methods")
    return 1 if failures or asym_failures else 0


if __name__ == "__main__":
    sys.exit(main())
