// stats/histogram.h — per-tensor statistics that calibration is computed from.
//
// Pass 1 of calibration fills RunningStats (min, max, absmax, count) for every float tensor.
// Pass 2 fills an AbsHistogram of |x| on the fixed range [0, absmax of pass 1], so the histogram
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

class AbsHistogram {
 public:
  AbsHistogram() = default;
  // range > 0 (an all-zero tensor has no histogram: its amax is 0); num_bins >= 1.
  AbsHistogram(double range, int num_bins);

  void Add(const float* x, int64_t n);
  // Adds counts from another histogram with the same range and bin count; fails otherwise.
  Status Merge(const AbsHistogram& o);

  bool empty() const { return counts_.empty(); }
  double range() const { return range_; }
  int num_bins() const { return static_cast<int>(counts_.size()); }
  double bin_width() const { return counts_.empty() ? 0.0 : range_ / counts_.size(); }
  double edge(int i) const { return i * bin_width(); }  // left edge of bin i; edge(num_bins) = range
  // Counts as doubles: exact for integers up to 2^53 (no float32 saturation at 2^24).
  const std::vector<double>& counts() const { return counts_; }
  std::vector<double>& mutable_counts() { return counts_; }
  double total() const;

 private:
  double range_ = 0.0;
  std::vector<double> counts_;
};

}  // namespace calib8::stats
