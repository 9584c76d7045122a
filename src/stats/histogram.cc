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

AbsHistogram::AbsHistogram(double range, int num_bins, bool with_sign)
    : range_(range), counts_(static_cast<size_t>(std::max(num_bins, 1)), 0.0) {
  if (with_sign) neg_.assign(counts_.size(), 0.0);
}

void AbsHistogram::Add(const float* x, int64_t n) {
  // Callers pass finite values (calibration rejects NaN/Inf in pass 1, before any histogram).
  if (counts_.empty() || range_ <= 0 || n <= 0) return;
  const int nb = num_bins();
  const int last = nb - 1;
  const double inv_w = counts_.size() / range_;
  const int32_t sign = has_sign() ? 1 : 0;
  // Bin indices are computed a block at a time in a vectorisable loop, then scattered. With the
  // sign split the slot is 2*bin + (x < 0): one index and one scatter per value as without it,
  // and a bin's two slots share a cache line.
  constexpr int64_t kBlock = 512;
  int32_t idx[kBlock];
  auto indices = [&](const float* p, int64_t m) {
#pragma omp simd
    for (int64_t i = 0; i < m; ++i) {
      const float v = p[i];
      double a = std::fabs(static_cast<double>(v)) * inv_w;
      a = a > last ? last : a;  // |x| == range (and, in one-pass mode, above it) -> last bin
      idx[i] = (static_cast<int32_t>(a) << sign) + (v < 0.0f ? sign : 0);
    }
  };
  if (n < nb / 4) {
    // Few values (small tensors at batch 1): count straight into the doubles (exact for integers)
    // instead of clearing and folding 2 x num_bins integer slots for them. Branch-free: the sign
    // of a value is not predictable.
    double* c = counts_.data();
    double* g = sign ? neg_.data() : counts_.data();
    for (int64_t b = 0; b < n; b += kBlock) {
      const int64_t m = std::min(kBlock, n - b);
      indices(x + b, m);
      for (int64_t i = 0; i < m; ++i) {
        const int32_t k = idx[i];
        c[k >> sign] += 1.0;
        if (sign) g[k >> 1] += static_cast<double>(k & 1);
      }
    }
    return;
  }
  // Integer counts per call (uint32: a call never holds 2^32 values of one bin in practice, and
  // larger calls are split), then one add per bin: exact and cache-friendly.
  constexpr int64_t kMaxCall = int64_t{1} << 31;
  if (n > kMaxCall) {
    for (int64_t b = 0; b < n; b += kMaxCall) Add(x + b, std::min(kMaxCall, n - b));
    return;
  }
  // The slots live in a per-thread scratch buffer that is all zero between calls (the fold
  // clears what it reads), so a call neither allocates nor clears a buffer of its own.
  thread_local std::vector<uint32_t> scratch;
  const size_t slots = counts_.size() << sign;
  if (scratch.size() < slots) scratch.assign(slots, 0);
  uint32_t* local = scratch.data();
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t m = std::min(kBlock, n - b);
    indices(x + b, m);
    for (int64_t i = 0; i < m; ++i) local[idx[i]]++;
  }
  if (sign) {
    for (size_t b = 0; b < counts_.size(); ++b) {
      const uint32_t pos = local[2 * b], neg = local[2 * b + 1];
      local[2 * b] = local[2 * b + 1] = 0;
      counts_[b] += static_cast<double>(pos) + static_cast<double>(neg);
      neg_[b] += static_cast<double>(neg);
    }
  } else {
    for (size_t b = 0; b < counts_.size(); ++b) {
      counts_[b] += static_cast<double>(local[b]);
      local[b] = 0;
    }
  }
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
  if (has_sign() && o.has_sign()) {
    for (size_t b = 0; b < neg_.size(); ++b) neg_[b] += o.neg_[b];
  } else {
    neg_.clear();  // one side does not know the sign: only |x| is known for the sum
  }
  return Status::Ok();
}

std::vector<double> AbsHistogram::pos_counts() const {
  std::vector<double> pos = counts_;
  if (has_sign())
    for (size_t b = 0; b < pos.size(); ++b) pos[b] -= neg_[b];
  return pos;
}

void AbsHistogram::GrowTo(int bins) {
  if (bins <= num_bins()) return;
  const double w = bin_width();
  range_ = bins * w;
  counts_.resize(static_cast<size_t>(bins), 0.0);
  if (!neg_.empty()) neg_.resize(static_cast<size_t>(bins), 0.0);
}

double AbsHistogram::total() const {
  double t = 0;
  for (double c : counts_) t += c;
  return t;
}

}  // namespace calib8::stats
