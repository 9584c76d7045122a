// calib/entropy_search.cc — the two KL threshold searches (entropy2: pytorch-quantization; entropy:
// GTC 2017 / ncnn), each in O(num_levels) per candidate using prefix sums instead of rebuilding P
// and Q (O(i) per candidate, O(N^2) per tensor). The plain O(N^2) twins in reference.cc are the
// executable spec; calibrators_test.cc diffs the two on many histograms.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "calib/calibrator.h"

namespace calib8::calib {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

double XLogX(double x) { return x > 0 ? x * std::log(x) : 0.0; }

}  // namespace

// entropy2. With P, Q unnormalised (sums SP = total, SQ = H[i]) and p = P/SP, q = Q/SQ:
//   KL = sum_j p_j log(p_j / q_j) = (sum P log P - sum P log Q) / SP + log(SQ / SP).
// P_j = h_j except P_{i-1} = h_{i-1} + outliers, so sum P log P = HL[i-1] + xlogx(P_{i-1}).
// Q is constant (level total / non-empty bins) on the non-empty bins of a level, so
//   sum P log Q = sum_levels levelsum_k * log(Qval_k) + outliers * log(Qval_last),
// the last term only if h_{i-1} > 0 (otherwise q = 0 < p and KL = +inf).
// Level k of candidate i holds the bins j with floor(j*L/i) == k:
//   bins:   0 .. lo_1-1 | lo_1 .. lo_2-1 | ... | lo_{L-1} .. i-1        lo_k = ceil(k*i/L)
//   level:      0       |       1        | ... |       L-1
double Entropy2Search(const Entropy2Options& o, std::span<const double> counts, double w,
                      std::vector<CurvePoint>* curve) {
  const int n = static_cast<int>(counts.size());
  std::vector<double> h(counts.begin(), counts.end());
  if (o.replace_zero_bin && n > 1) h[0] = h[1];

  // Prefix sums: H[k] = sum_{j<k} h_j, HL[k] = sum_{j<k} h_j log h_j, NZ[k] = #{j<k : h_j > 0}.
  std::vector<double> H(n + 1, 0.0), HL(n + 1, 0.0);
  std::vector<int64_t> NZ(n + 1, 0);
  for (int j = 0; j < n; ++j) {
    H[j + 1] = H[j] + h[j];
    HL[j + 1] = HL[j] + XLogX(h[j]);
    NZ[j + 1] = NZ[j] + (h[j] > 0 ? 1 : 0);
  }
  const double total = H[n];
  const int64_t levels = o.num_levels;
  auto threshold = [&](int i) {
    if (o.threshold_at == ThresholdAt::kRightEdge) return i * w;
    return std::min((i + 0.5) * w, n * w);
  };

  // A level's term S log(S / nz) depends only on its bin range [lo, lo + width), and the widths of
  // candidate i are floor(i/L) or ceil(i/L): the terms recur across candidates, so they are
  // memoised in a (lo, width) table (about N * N/L logs per tensor instead of N * L).
  const int64_t max_width = (n + levels - 1) / levels + 1;
  std::vector<double> term(static_cast<size_t>((n + 1) * (max_width + 1)),
                           std::numeric_limits<double>::quiet_NaN());
  auto level_term = [&](int64_t lo, int64_t hi) {
    double& t = term[static_cast<size_t>(lo * (max_width + 1) + (hi - lo))];
    if (std::isnan(t)) {
      const int64_t nz = NZ[hi] - NZ[lo];
      const double sum = H[hi] - H[lo];
      t = nz == 0 ? 0.0 : sum * std::log(sum / static_cast<double>(nz));
    }
    return t;
  };

  auto divergence = [&](int i) -> double {
    const double sq = H[i];
    if (!(sq > 0)) return kInf;  // Q is all zero while P is not
    const double outliers = total - H[i];
    const double last = h[i - 1] + outliers;
    if (h[i - 1] == 0 && outliers > 0) return kInf;
    const double plogp = HL[i - 1] + XLogX(last);
    double plogq = 0.0;
    // lo_k = ceil(k*i/L), walked with a running quotient and remainder of k*i by L.
    const int64_t step_q = i / levels, step_r = i % levels;
    int64_t quot = 0, rem = 0, lo = 0, last_lo = 0;
    for (int64_t k = 0; k < levels; ++k) {
      quot += step_q;
      rem += step_r;
      if (rem >= levels) {
        rem -= levels;
        ++quot;
      }
      const int64_t hi = quot + (rem > 0 ? 1 : 0);
      if (hi > lo) {
        plogq += level_term(lo, hi);
        last_lo = lo;
      }
      lo = hi;
    }
    if (outliers > 0) {  // P[i-1] also carries the outliers; Q there is the last level's value
      const double nz = static_cast<double>(NZ[i] - NZ[last_lo]);
      plogq += outliers * std::log((H[i] - H[last_lo]) / nz);
    }
    const double kl = (plogp - plogq) / total + std::log(sq / total);
    return kl < 0 ? 0.0 : kl;  // rounding can give -1e-17 for identical P and Q
  };

  const int first = std::min(o.start_bin, n);
  double best = kInf;
  int best_i = n;
  if (curve) curve->clear();
  for (int i = first; i <= n; i += o.stride) {
    const double d = divergence(i);
    if (curve) curve->push_back({threshold(i), d});
    if (d <= best) {  // last of equal minima
      best = d;
      best_i = i;
    }
  }
  return threshold(best_i);
}

// entropy (ncnn). Positions are measured in units of 1/L bin so that every boundary is an
// integer: bin j spans [j*L, (j+1)*L), level k of candidate t spans [k*t, (k+1)*t).
//   bins:   |---0---|---1---|---2---|---3---|---4---|       (t = 5, L = 2: levels of 2.5 bins)
//   levels: |-------0---------------|-------1-------|
//                                ^ bin 2 straddles the boundary at 2.5: Q_2 mixes both levels
// Level density d_k = covered mass / (t/L); Q_j = eps + sum_k overlap(j,k) * d_k. A bin lying
// wholly inside level k has Q_j = eps + d_k, so its P log Q terms come from a prefix sum of
// P_j = eps + prob_j; the (at most L-1) straddling bins are summed one by one.
double EntropySearch(const EntropyOptions& o, std::span<const double> counts, double w,
                     std::vector<CurvePoint>* curve) {
  const int n = static_cast<int>(counts.size());
  const int64_t L = o.num_levels;
  const double eps = o.smoothing_eps;
  if (curve) curve->clear();
  if (n <= o.start_bin) {  // no candidate in [start_bin, n-1]: keep everything
    if (curve) curve->push_back({n * w, 0.0});
    return n * w;
  }
  double total = 0;
  for (double c : counts) total += c;
  // prob, its prefix PR, the prefix PE of eps + prob and the prefix F of xlogx(eps + prob).
  std::vector<double> prob(n), PR(n + 1, 0.0), PE(n + 1, 0.0), F(n + 1, 0.0);
  for (int j = 0; j < n; ++j) {
    prob[j] = counts[j] / total;
    PR[j + 1] = PR[j] + prob[j];
    PE[j + 1] = PE[j] + eps + prob[j];
    F[j + 1] = F[j] + XLogX(eps + prob[j]);
  }
  std::vector<double> density(L);

  auto q_at = [&](int64_t j, int64_t t) {  // eps + sum of overlap * density
    double q = eps;
    const int64_t b0 = j * L, b1 = (j + 1) * L;
    for (int64_t k = b0 / t; k < L && k * t < b1; ++k) {
      const int64_t ov = std::min(b1, (k + 1) * t) - std::max(b0, k * t);
      if (ov > 0) q += density[k] * static_cast<double>(ov) / static_cast<double>(L);
    }
    return q;
  };

  double best = kInf;
  int best_t = n;
  std::vector<double> mass(L + 1);  // mass[k] = covered mass left of boundary k
  for (int t = o.start_bin; t < n; ++t) {
    const double width = static_cast<double>(t) / static_cast<double>(L);  // bins per level
    // Boundary k sits at k*t/L bins = quot + rem/L, walked without division.
    const int64_t step_q = t / L, step_r = t % L;
    {
      int64_t quot = 0, rem = 0;
      for (int64_t k = 0; k <= L; ++k) {
        mass[k] = PR[quot] + (rem ? prob[quot] * static_cast<double>(rem) / L : 0.0);
        quot += step_q;
        rem += step_r;
        if (rem >= L) rem -= L, ++quot;
      }
    }
    for (int64_t k = 0; k < L; ++k) density[k] = (mass[k + 1] - mass[k]) / width;
    const double outliers = PR[n] - PR[t];
    const double p_last = eps + prob[t - 1] + outliers;
    const double plogp = F[t - 1] + XLogX(p_last);
    double plogq = 0.0;
    int64_t last_special = -1;
    int64_t quot = 0, rem = 0;  // boundary k
    for (int64_t k = 0; k < L; ++k) {
      int64_t next_quot = quot + step_q, next_rem = rem + step_r;
      if (next_rem >= L) next_rem -= L, ++next_quot;
      const int64_t lo = quot + (rem > 0 ? 1 : 0), hi = next_quot;  // bins wholly in level k
      if (hi > lo) plogq += (PE[hi] - PE[lo]) * std::log(eps + density[k]);
      if (k > 0 && rem != 0 && quot != last_special) {  // boundary k lies inside bin quot
        const double q = t >= L ? eps + (static_cast<double>(rem) * density[k - 1] +
                                         static_cast<double>(L - rem) * density[k]) /
                                            static_cast<double>(L)
                                : q_at(quot, t);  // a bin may hold several boundaries
        plogq += (eps + prob[quot]) * std::log(q);
        last_special = quot;
      }
      quot = next_quot;
      rem = next_rem;
    }
    if (outliers > 0) plogq += outliers * std::log(q_at(t - 1, t));
    const double d = plogp - plogq;
    if (curve) curve->push_back({(t + 0.5) * w, d});
    if (d < best) {  // first minimum
      best = d;
      best_t = t;
    }
  }
  return (best_t + 0.5) * w;
}

}  // namespace calib8::calib
