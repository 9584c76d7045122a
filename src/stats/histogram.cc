// stats/histogram.cc — see histogram.h. The inner loops are the calibration hot path: they run
// once per element of every float tensor of every sample.
#include "stats/histogram.h"

#include <algorithm>
#include <cmath>

namespace calib8::stats {

void RunningStats::Add(const float* x, int64_t n) {
  // Fast path: vectorised min/max, plus a finiteness probe (x * 0 is NaN exactly when x is NaN or
  // Inf). Only a batch that holds a non-finite value takes the slow, counting loop.
  float lo = std::numeric_limits<float>::infinity(), hi = -lo, probe = 0.0f;
#pragma omp simd reduction(min : lo) reduction(max : hi) reduction(+ : probe)
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];  // plain selects: std::min/max defeat GCC 12's vectoriser here
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
    probe += v * 0.0f;
  }
  int64_t bad = 0;
  if (probe != 0.0f) {  // NaN: some element is not finite
    lo = std::numeric_limits<float>::infinity();
    hi = -lo;
    for (int64_t i = 0; i < n; ++i) {
      float v = x[i];
      if (!std::isfinite(v)) {
        ++bad;
        continue;
      }
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  if (n - bad > 0) {
    min = std::min(min, static_cast<double>(lo));
    max = std::max(max, static_cast<double>(hi));
    absmax = std::max({absmax, std::fabs(min), std::fabs(max)});
  }
  count += n;
  nonfinite += bad;
}

void RunningStats::Merge(const RunningStats& o) {
  min = std::min(min, o.min);
  max = std::max(max, o.max);
  absmax = std::max(absmax, o.absmax);
  count += o.count;
  nonfinite += o.nonfinite;
}

AbsHistogram::AbsHistogram(double range, int num_bins)
    : range_(range), counts_(static_cast<size_t>(std::max(num_bins, 1)), 0.0) {}

void AbsHistogram::Add(const float* x, int64_t n) {
  // Callers pass finite values (calibration rejects NaN/Inf in pass 1, before any histogram).
  if (counts_.empty() || range_ <= 0) return;
  const int last = num_bins() - 1;
  const double inv_w = counts_.size() / range_;
  // Integer counts per call, then one add per bin: exact and cache-friendly. Bin indices are
  // computed a block at a time in a vectorisable loop, then scattered.
  std::vector<int64_t> local(counts_.size(), 0);
  constexpr int64_t kBlock = 512;
  int32_t idx[kBlock];
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t m = std::min(kBlock, n - b);
#pragma omp simd
    for (int64_t i = 0; i < m; ++i) {
      double a = std::fabs(static_cast<double>(x[b + i])) * inv_w;
      a = a > last ? last : a;  // |x| == range (and, in one-pass mode, above it) -> last bin
      idx[i] = static_cast<int32_t>(a);
    }
    for (int64_t i = 0; i < m; ++i) local[static_cast<size_t>(idx[i])]++;
  }
  for (size_t b = 0; b < counts_.size(); ++b) counts_[b] += static_cast<double>(local[b]);
}

Status AbsHistogram::Merge(const AbsHistogram& o) {
  if (o.empty()) return Status::Ok();
  if (empty()) {
    *this = o;
    return Status::Ok();
  }
  if (o.range_ != range_ || o.counts_.size() != counts_.size())
    return InvalidArgument("cannot merge histograms with different ranges or bin counts (", range_,
                           "/", counts_.size(), " vs ", o.range_, "/", o.counts_.size(),
                           "): they come from different pass-1 statistics");
  for (size_t b = 0; b < counts_.size(); ++b) counts_[b] += o.counts_[b];
  return Status::Ok();
}

double AbsHistogram::total() const {
  double t = 0;
  for (double c : counts_) t += c;
  return t;
}

}  // namespace calib8::stats
