// calib/simple_search.cc — percentile and MSE threshold searches (both as pytorch-quantization's
// HistogramCalibrator), on the fixed-range |x| histogram of stats/histogram.h. MSE walks the
// quantisation levels of each candidate, so it needs no rounding per bin; reference.cc holds the
// plain per-bin twin that calibrators_test.cc compares it with.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "calib/calibrator.h"

namespace calib8::calib {

// cdf is accumulated exactly as the peer does (divide each count first, then add in bin order), so
// a crossing that depends on float rounding picks the same bin.
double PercentileSearch(const PercentileOptions& o, std::span<const double> counts, double w) {
  const int n = static_cast<int>(counts.size());
  double total = 0;
  for (double c : counts) total += c;
  const double target = o.percentile / 100.0;
  double cdf = 0;
  for (int j = 0; j < n; ++j) {
    cdf += counts[j] / total;
    if (cdf >= target) return j * w;  // left edge of the crossing bin
  }
  return n * w;  // rounding kept cdf below the target (p = 100): the whole range
}

namespace {

// Floor division for a possibly negative numerator and a positive denominator.
int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

}  // namespace

// In bin units (u = x / w) bin j has centre u_j = j + 1/2 and candidate i has a = i + 1/2, step
// a / B. Bin j quantises to level round((2j+1) B / (2i+1)); that ratio is never a half-integer
// (2B(2j+1) is even, (2n+1)(2i+1) odd), so round-half-even never meets a tie and the level
// boundaries are exact integers:
//   level >= n  <=>  2B(2j+1) > (2n-1)(2i+1)  <=>  j >= start(n) = floor(((2n-1)(2i+1) - 2B) / 4B)
//   + 1 bins: 0 .. start(1)-1 | start(1) .. start(2)-1 | ... | start(B) .. N-1 q:          0 | a/B
//   | ... |   a (clipped)
double MseSearch(const MseOptions& o, std::span<const double> counts, double w,
                 std::vector<CurvePoint>* curve) {
  const int64_t n = static_cast<int64_t>(counts.size());
  const int64_t bound = (int64_t{1} << (o.num_bits - 1 + (o.is_unsigned ? 1 : 0))) - 1;
  auto start = [&](int64_t level, int64_t i) {
    const int64_t s = FloorDiv((2 * level - 1) * (2 * i + 1) - 2 * bound, 4 * bound) + 1;
    return std::clamp<int64_t>(s, 0, n);
  };
  // Prefix sums in half-bin units v_j = 2j + 1 = 2 u_j: S0 = sum h, S1 = sum h v, S2 = sum h v^2.
  // long double: for integer counts they are exact (below 2^64), so a level's sums are exact
  // differences and only the final sum h (v - 2q)^2 = S2 - 4q S1 + 4q^2 S0 rounds.
  std::vector<long double> S0(n + 1, 0), S1(n + 1, 0), S2(n + 1, 0);
  for (int64_t j = 0; j < n; ++j) {
    const long double h = counts[j], v = 2 * j + 1;
    S0[j + 1] = S0[j] + h;
    S1[j + 1] = S1[j] + h * v;
    S2[j + 1] = S2[j] + h * v * v;
  }
  // sum over bins [lo, hi) of h (u - q)^2 = (1/4) sum h (v - 2q)^2.
  auto range_err = [&](int64_t lo, int64_t hi, long double q) -> long double {
    if (hi <= lo) return 0;
    const long double s0 = S0[hi] - S0[lo], s1 = S1[hi] - S1[lo], s2 = S2[hi] - S2[lo];
    const long double e = s2 - 4 * q * s1 + 4 * q * q * s0;
    return e > 0 ? e / 4 : 0;
  };
  if (curve) curve->clear();
  const int64_t first = std::min<int64_t>(o.start_bin, n - 1);
  double best = std::numeric_limits<double>::infinity();
  int64_t best_i = n - 1;
  for (int64_t i = first; i < n; ++i) {
    const long double a = i + 0.5L, step = a / static_cast<long double>(bound);
    long double err = 0;
    int64_t lo = 0;
    for (int64_t level = 0; level < bound && lo < n; ++level) {
      const int64_t hi = start(level + 1, i);
      err += range_err(lo, hi, level * step);
      lo = std::max(lo, hi);
    }
    err += range_err(lo, n, a);  // clipped to a
    const double mse = static_cast<double>(err) * w * w / static_cast<double>(n);
    if (curve) curve->push_back({static_cast<double>(a) * w, mse});
    if (mse < best) {  // first minimum
      best = mse;
      best_i = i;
    }
  }
  return (best_i + 0.5) * w;
}

}  // namespace calib8::calib
