// calib/reference.cc — the plain O(N^2) twins of the threshold searches (see reference.h). Written
// to follow the peers' step lists in docs/reference/calibration-algorithms.md literally, with no
// prefix sums, so that a shortcut in the fast code cannot hide in both.
#include "calib/reference.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace calib8::calib::reference {
namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();

// KL(p || q) after normalising both to sum 1; p > 0 = q gives +inf; p = 0 terms add 0.
double NormalisedKl(const std::vector<double>& p, const std::vector<double>& q) {
  double sp = 0, sq = 0;
  for (double v : p) sp += v;
  for (double v : q) sq += v;
  if (!(sq > 0)) return kInf;
  double kl = 0;
  for (size_t j = 0; j < p.size(); ++j) {
    if (p[j] == 0) continue;
    if (q[j] == 0) return kInf;
    const double pn = p[j] / sp, qn = q[j] / sq;
    kl += pn * std::log(pn / qn);
  }
  return std::max(kl, 0.0);
}
}  // namespace

double Entropy2(const Entropy2Options& o, std::span<const double> counts, double w,
                std::vector<CurvePoint>* curve) {
  const int n = static_cast<int>(counts.size());
  std::vector<double> h(counts.begin(), counts.end());
  if (o.replace_zero_bin && n > 1) h[0] = h[1];
  auto threshold = [&](int i) {
    return o.threshold_at == ThresholdAt::kRightEdge ? i * w : std::min((i + 0.5) * w, n * w);
  };
  double best = kInf;
  int best_i = n;
  if (curve) curve->clear();
  for (int i = std::min(o.start_bin, n); i <= n; i += o.stride) {
    std::vector<double> p(h.begin(), h.begin() + i);
    for (int j = i; j < n; ++j) p[i - 1] += h[j];
    // Level of source bin j: floor(j * L / i). Sum and count non-empty bins per level.
    std::vector<double> level_sum(o.num_levels, 0.0);
    std::vector<int> level_nonempty(o.num_levels, 0);
    for (int j = 0; j < i; ++j) {
      const int k = static_cast<int>(static_cast<long long>(j) * o.num_levels / i);
      if (h[j] != 0) {
        level_sum[k] += h[j];
        level_nonempty[k]++;
      }
    }
    std::vector<double> q(i, 0.0);
    for (int j = 0; j < i; ++j) {
      const int k = static_cast<int>(static_cast<long long>(j) * o.num_levels / i);
      if (h[j] != 0) q[j] = level_sum[k] / level_nonempty[k];
    }
    const double d = NormalisedKl(p, q);
    if (curve) curve->push_back({threshold(i), d});
    if (d <= best) {
      best = d;
      best_i = i;
    }
  }
  return threshold(best_i);
}

// ncnn's structure: every level [start, end) = [k*t/L, (k+1)*t/L) takes the fraction of the bins
// cut by its ends (left_upper - start of bin left_upper-1, end - right_lower of bin right_lower)
// plus the whole bins in between. Valid for t >= L (a level never lies inside one bin).
double Entropy(const EntropyOptions& o, std::span<const double> counts, double w,
               std::vector<CurvePoint>* curve) {
  const int n = static_cast<int>(counts.size());
  const int L = o.num_levels;
  const double eps = o.smoothing_eps;
  if (curve) curve->clear();
  if (n <= o.start_bin) return n * w;
  double total = 0;
  for (double c : counts) total += c;
  std::vector<double> prob(n);
  for (int j = 0; j < n; ++j) prob[j] = counts[j] / total;
  double best = kInf;
  int best_t = n;
  for (int t = o.start_bin; t < n; ++t) {
    std::vector<double> p(t, eps);
    for (int j = 0; j < t; ++j) p[j] += prob[j];
    for (int j = t; j < n; ++j) p[t - 1] += prob[j];
    const double per_level = static_cast<double>(t) / L;
    std::vector<double> density(L, 0.0);
    std::vector<double> q(t, eps);
    for (int pass = 0; pass < 2; ++pass) {  // pass 0: merge into levels; pass 1: expand back
      for (int k = 0; k < L; ++k) {
        const double start = k * per_level, end = (k + 1) * per_level;
        const int left_upper = static_cast<int>(std::ceil(start));
        const int right_lower = static_cast<int>(std::floor(end));
        const double left_scale = left_upper - start, right_scale = end - right_lower;
        if (pass == 0) {
          double m = 0;
          if (left_scale > 0) m += left_scale * prob[left_upper - 1];
          if (right_scale > 0 && right_lower < t) m += right_scale * prob[right_lower];
          for (int j = left_upper; j < right_lower; ++j) m += prob[j];
          density[k] = m / (right_lower - left_upper + left_scale + right_scale);
        } else {
          if (left_scale > 0) q[left_upper - 1] += left_scale * density[k];
          if (right_scale > 0 && right_lower < t) q[right_lower] += right_scale * density[k];
          for (int j = left_upper; j < right_lower; ++j) q[j] += density[k];
        }
      }
    }
    double d = 0;
    for (int j = 0; j < t; ++j) d += p[j] * std::log(p[j] / q[j]);
    if (curve) curve->push_back({(t + 0.5) * w, d});
    if (d < best) {
      best = d;
      best_t = t;
    }
  }
  return (best_t + 0.5) * w;
}

double Mse(const MseOptions& o, std::span<const double> counts, double w,
           std::vector<CurvePoint>* curve) {
  const int n = static_cast<int>(counts.size());
  const double bound = std::ldexp(1.0, o.num_bits - 1 + (o.is_unsigned ? 1 : 0)) - 1;
  if (curve) curve->clear();
  double best = kInf;
  int best_i = n - 1;
  for (int i = std::min(o.start_bin, n - 1); i < n; ++i) {
    const double amax = (i + 0.5) * w;
    const double scale = bound / amax;
    double sum = 0;
    for (int j = 0; j < n; ++j) {
      const double c = (j + 0.5) * w;
      const double q = std::min(std::nearbyint(c * scale), bound) / scale;
      sum += (q - c) * (q - c) * counts[j];
    }
    const double mse = sum / n;
    if (curve) curve->push_back({amax, mse});
    if (mse < best) {
      best = mse;
      best_i = i;
    }
  }
  return (best_i + 0.5) * w;
}

}  // namespace calib8::calib::reference
