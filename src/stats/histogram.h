// stats/histogram.h — per-tensor statistics that calibration is computed from.
//
// Pass 1 of calibration fills RunningStats (min, max, absmax, count) for every float tensor.
// Pass 2 fills an AbsHistogram of |x| on the fixed range [0, absmax of pass 1], counting the
// negative values separately as well (the sign split, for asymmetric ranges), so the histogram
// does not depend on batch order or batch size. Both are mergeable (shards calibrated on several
// machines combine to the same state as one run) and serialisable (stats/stats_io.h).
//
// Bin layout (num_bins = 2048 by default, w = range / num_bins):
//   bin:    0        1        2              num_bins-1
//        |--------|--------|--- ... ---|----------------|
//   edge: 0        w        2w     (num_bins-1)w      range
// |x| goes to bin floor(|x| / w), clamped to num_bins-1 (so |x| == range lands in the last bin,
// as torch.histc does). Left edge of bin i = i*w, right edge = (i+1)*w.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "calib8/status.h"

namespace calib8::stats {

struct RunningStats {
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  double absmax = 0.0;
  int64_t count = 0;      // elements seen
  int64_t nonfinite = 0;  // NaN or Inf elements seen (calibration refuses them)

  void Add(const float* x, int64_t n);
  void Merge(const RunningStats& o);
};

// The |x| histogram, split by sign: counts() holds |x| (what every symmetric method reads) and,
// when has_sign(), neg_counts() holds the values x < 0 in the same bins (bin of |x|); the positive
// side x >= 0 (x == 0 counts as positive) is pos_counts() = counts() - neg_counts(), bin by bin,
// exactly (integers in doubles). So the |x| histogram is exactly pos + neg and the symmetric
// methods see the same counts as before the split. A histogram read from a statistics file
// written before the split has no sign (has_sign() false, neg_counts() empty).
class AbsHistogram {
 public:
  AbsHistogram() = default;
  // range > 0 (an all-zero tensor has no histogram: its amax is 0); num_bins >= 1. Sign-split
  // unless `with_sign` is false.
  AbsHistogram(double range, int num_bins, bool with_sign = true);

  void Add(const float* x, int64_t n);
  // Adds counts from another histogram with the same range and bin count; fails otherwise. If
  // either side has no sign split, the result keeps only |x| (has_sign() false).
  Status Merge(const AbsHistogram& o);

  bool empty() const { return counts_.empty(); }
  double range() const { return range_; }
  int num_bins() const { return static_cast<int>(counts_.size()); }
  double bin_width() const { return counts_.empty() ? 0.0 : range_ / counts_.size(); }
  double edge(int i) const {
    return i * bin_width();
  }  // left edge of bin i; edge(num_bins) = range
  // Counts as doubles: exact for integers up to 2^53 (no float32 saturation at 2^24).
  const std::vector<double>& counts() const { return counts_; }
  std::vector<double>& mutable_counts() { return counts_; }
  double total() const;

  // Sign split. has_sign(): neg_counts() has num_bins() entries with 0 <= neg <= |x| count.
  bool has_sign() const { return !counts_.empty() && neg_.size() == counts_.size(); }
  const std::vector<double>& neg_counts() const { return neg_; }
  std::vector<double>& mutable_neg_counts() { return neg_; }
  std::vector<double> pos_counts() const;  // counts() - neg_counts() (counts() without a sign)
  void DropSign() { neg_.clear(); }
  // Grows to `bins` bins of the same width (one-pass mode); counts keep their bins.
  void GrowTo(int bins);

 private:
  double range_ = 0.0;
  std::vector<double> counts_;  // |x|
  std::vector<double> neg_;     // x < 0, by bin of |x|; empty: no sign split
};

}  // namespace calib8::stats
