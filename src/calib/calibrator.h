// calib/calibrator.h — calibrators: pure functions from per-tensor statistics to a range (amax).
//
// Input: the pass-1 RunningStats and the pass-2 AbsHistogram of one tensor (stats/histogram.h:
// |x| counted on the fixed range [0, absmax] in num_bins equal bins of width w). Output: amax, the
// symmetric clipping threshold (INT8 scale = amax / 127), plus a record of which method, variant
// and parameters produced it (for the JSON sidecar) and, on request, the search curve (KL or MSE
// against threshold) for the HTML report. docs/calibration.md gives each formula and the peer it
// matches; docs/reference/calibration-algorithms.md restates the peers step by step.
//
// Methods, by persisted name (the one registration list is Calibrators() in calibrator.cc):
//   entropy2-floored (default) entropy2 with amax >= the p99.9 of |x|.
//   entropy2   NVIDIA pytorch-quantization / Model Optimizer KL search.
//   entropy    GTC 2017 / ncnn KL search (bin-centre threshold, ncnn's smoothing and expansion).
//   minmax     absmax of pass 1.
//   percentile left edge of the bin where the |x| CDF reaches p (pytorch-quantization).
//   mse        bin-centre candidate minimising the fake-quant MSE over the bin centres
//              (pytorch-quantization).
//
// Histogram index conventions used by every method (N = num_bins, w = range / N):
//   bin:      0      1      2           i-1     i            N-1
//          |------|------|------| ... |------|------| ... |------|
//   edge:  0      w      2w         (i-1)w   i*w                N*w = range
//   centre:   w/2   3w/2                (i-1/2)w  (i+1/2)w
// "Candidate i" keeps bins 0..i-1 and clips the rest; its right edge is i*w.
//
// Thread-safety: every function here is pure (no shared state); call them from any thread.
// Numerics: all arithmetic is double (the peers use float32 in places; see docs/calibration.md).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "calib8/status.h"
#include "stats/histogram.h"

namespace calib8::calib {

// Where a KL candidate's threshold is placed (see the diagram above).
enum class ThresholdAt {
  kRightEdge,  // i*w: the right edge of the last kept bin (pytorch-quantization, Model Optimizer)
  kBinCentre,  // (i + 1/2)*w, clamped to the range: GTC 2017 "(m + 0.5) * width" (ncnn)
};

// entropy2 — pytorch-quantization `_compute_amax_entropy` on our fixed-range histogram:
// candidates i = start_bin, start_bin + stride, ... up to N inclusive; P = h[0..i-1] with the
// outliers sum(h[i..N-1]) added to P[i-1]; Q = h[0..i-1] merged into num_levels levels (bin j in
// level floor(j * num_levels / i)), each level's total spread evenly over its non-empty bins,
// Q[j] = 0 where h[j] = 0; D = KL(P/|P| || Q/|Q|), natural log, no smoothing (p > 0 = q gives
// +inf); the LAST of equal minima wins. If N < start_bin the only candidate is N.
struct Entropy2Options {
  static constexpr std::string_view kMethod = "entropy2";
  int start_bin = 128;
  int stride = 1;
  int num_levels = 128;  // 2^(num_bits - 1): signed INT8
  ThresholdAt threshold_at = ThresholdAt::kRightEdge;
  bool replace_zero_bin = true;  // h[0] := h[1] before the search (removes the post-ReLU spike)
  // Floor: amax = max(KL amax, percentile(floor_percentile) of |x|) (0: off, the default). Keeps
  // the KL search from collapsing onto a dense bulk and clipping a sparse informative tail.
  double floor_percentile = 0;
  Status Validate() const;
};

// entropy2-floored (the default) — entropy2 whose amax is never below the floor_percentile
// (99.9) percentile of |x|: amax = max(KL amax, left edge of the bin where the |x| CDF reaches
// 99.9%). The KL search alone can lock onto a dense bulk and clip a sparse informative tail (the
// PaddleOCR rec model's HardSwish-then-scale activations: exact match 0% with entropy2); the floor
// lifts only those tensors and leaves the others at entropy2's amax (docs/calibration.md).
struct FlooredEntropy2Options : Entropy2Options {
  static constexpr std::string_view kMethod = "entropy2-floored";
  static constexpr double kDefaultFloor = 99.9;
  FlooredEntropy2Options() { floor_percentile = kDefaultFloor; }
};

// entropy — GTC 2017 as implemented by ncnn's ncnn2table (method=kl): prob = h / total;
// candidates t = start_bin .. N-1 (N excluded); P[j] = eps + prob[j], outliers sum(prob[t..]) added
// to P[t-1]; Q: num_levels levels of exactly t/num_levels bins each with fractional boundaries,
// level density = covered mass / (t/num_levels), expanded back as Q[j] = eps + sum over
// overlapping levels of overlap * density (empty bins NOT masked); D = sum P log(P/Q) with no
// renormalisation; the FIRST minimum wins; amax = (t + 1/2) * w. If N <= start_bin the only
// candidate is N (amax = range).
struct EntropyOptions {
  static constexpr std::string_view kMethod = "entropy";
  int start_bin = 128;
  int num_levels = 128;
  double smoothing_eps = 1e-4;  // ncnn's kl_eps, added to every P and Q entry; > 0
  double floor_percentile = 0;  // as Entropy2Options::floor_percentile (0: off)
  Status Validate() const;
};

// minmax — amax = absmax of pass 1 (TensorRT MinMaxCalibration, pytorch-quantization
// MaxCalibrator).
struct MinMaxOptions {
  static constexpr std::string_view kMethod = "minmax";
  Status Validate() const { return Status::Ok(); }
};

// percentile — cdf[j] = running sum (in bin order) of h[j] / total; idx = first j with
// cdf[j] >= percentile / 100 (N if none); amax = idx * w, the LEFT edge of the crossing bin.
struct PercentileOptions {
  static constexpr std::string_view kMethod = "percentile";
  double percentile = 99.99;  // in (0, 100]
  Status Validate() const;
};

// mse — for candidates i = start_bin .. N-1, a = c_i = (i + 1/2) w; every bin centre c_j is
// fake-quantised q_j = min(rint(c_j * B / a), B) * a / B with B = 2^(num_bits-1+unsigned) - 1;
// mse_i = mean over all N bins of h_j (q_j - c_j)^2; amax = c at the FIRST minimum. If N <=
// start_bin the only candidate is the last bin centre.
struct MseOptions {
  static constexpr std::string_view kMethod = "mse";
  int start_bin = 128;
  int num_bits = 8;
  bool is_unsigned = false;     // B = 255 instead of 127
  double floor_percentile = 0;  // as Entropy2Options::floor_percentile (0: off)
  Status Validate() const;
};

using CalibratorOptions = std::variant<Entropy2Options, EntropyOptions, MinMaxOptions,
                                       PercentileOptions, MseOptions, FlooredEntropy2Options>;

// One row of the registration list. `name` is what --method takes and the sidecar stores.
struct CalibratorInfo {
  std::string_view name;
  std::string_view summary;  // one line, with the peer it matches
  CalibratorOptions defaults;
};

// The single registration list, in display order (order carries no meaning; names are identity).
std::span<const CalibratorInfo> Calibrators();
// The default method, in ONE place (its options' defaults are its struct's initialisers).
inline constexpr std::string_view kDefaultMethod = FlooredEntropy2Options::kMethod;
// The default options of the method called `name`; NotFound listing the known names otherwise.
Result<CalibratorOptions> DefaultOptions(std::string_view name);
// The persisted name of the method the options belong to.
std::string_view MethodName(const CalibratorOptions& options);

// Which method, variant and parameters produced an amax (written to the JSON sidecar).
struct MethodRecord {
  std::string method;   // registered name, e.g. "entropy2"
  std::string variant;  // e.g. "pytorch-quantization", "gtc2017-centre+keep-zero-bin", "ncnn-kl"
  std::vector<std::pair<std::string, std::string>> params;  // ordered key -> value, as text
};

struct CurvePoint {
  double threshold;  // the amax this candidate would give
  double value;      // KL divergence or MSE (may be +inf for KL)
};

struct Calibration {
  double amax = 0.0;
  MethodRecord record;
  // Flags. all_zero: absmax 0 or an empty histogram (amax is 0; the tensor is constant zero).
  // zero_amax: amax came out 0 although the tensor is not all zero (e.g. percentile with >= p of
  // the mass in bin 0); quantising with it maps everything to 0, so the caller should warn.
  bool all_zero = false;
  bool zero_amax = false;
  std::string curve_metric;       // "kl" or "mse"; empty for methods without a search
  std::vector<CurvePoint> curve;  // filled only when requested
};

struct CalibrateRequest {
  bool want_curve = false;
};

// Computes amax for one tensor. `histogram` may be empty only if the tensor is all zero
// (running.absmax == 0) or for minmax. Fails (InvalidArgument) on invalid options or on a
// histogram that the method needs but that is missing although absmax > 0.
Result<Calibration> Calibrate(const CalibratorOptions& options, const stats::RunningStats& running,
                              const stats::AbsHistogram& histogram,
                              const CalibrateRequest& request = {});

// --- Asymmetric ranges (8-bit activations with a zero point, quant/quant_params.h) ---

// [lo, hi] from the sign-split histogram: each tail may clip at most (100 - percentile)% of ALL
// the tensor's elements. hi is the right edge (k+1)*w of the highest positive-side bin k such
// that the positive values in bins above k number at most floor(T*(100 - percentile)/100) (T =
// every element; 1e-9 relative allowance for the decimal p), clamped to the observed max; lo
// likewise on the negative side (-(k+1)*w, clamped to the observed min). lo = 0 when min >= 0, hi =
// 0 when max <= 0, so lo <= 0 <= hi always.
struct AsymmetricRangeOptions {
  static constexpr double kDefaultPercentile = 99.99;
  double percentile = kDefaultPercentile;  // in (0, 100]; 100 keeps [min, max]
  Status Validate() const;
};

struct AsymmetricRange {
  double lo = 0, hi = 0;
  double clipped_low = 0, clipped_high = 0;  // elements below lo / above hi (counted by bin)
};

// InvalidArgument when the histogram has no sign split (a statistics file written before it:
// re-collect the statistics); all-zero tensors (absmax 0, no counts) give [0, 0].
Result<AsymmetricRange> ChooseAsymmetricRange(const AsymmetricRangeOptions& options,
                                              const stats::RunningStats& running,
                                              const stats::AbsHistogram& histogram);

// --- Clipping check (any symmetric method) ---

// The sanity floor the CLI warns against: a symmetric amax below kClipWarnRatio x the
// kClipWarnPercentile percentile of |x| (left bin edge, as PercentileSearch) clips far more than
// 0.1% of the values. Returns that percentile (0 when there is no histogram or no counts).
inline constexpr double kClipWarnPercentile = 99.9;
inline constexpr double kClipWarnRatio = 0.5;
double AbsPercentile(const stats::AbsHistogram& histogram, double percentile);

// --- Building blocks, exposed for tests and for the reference twins (calib/reference.h). ---

// Per-method searches on raw counts (bin width w). Return the chosen candidate's amax and fill
// `curve` when non-null. Counts must be non-empty with a positive total; options valid.
double Entropy2Search(const Entropy2Options& o, std::span<const double> counts, double w,
                      std::vector<CurvePoint>* curve);
double EntropySearch(const EntropyOptions& o, std::span<const double> counts, double w,
                     std::vector<CurvePoint>* curve);
double PercentileSearch(const PercentileOptions& o, std::span<const double> counts, double w);
double MseSearch(const MseOptions& o, std::span<const double> counts, double w,
                 std::vector<CurvePoint>* curve);

}  // namespace calib8::calib
