// stats/reduce.cc — see reduce.h.
#include "stats/reduce.h"

#include <algorithm>
#include <cstddef>

namespace calib8::stats {

uint64_t Fnv1a64(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

Status CheckSame(Comm& comm, uint64_t value, const std::string& what) {
  // min(x) == max(x) for both 32-bit halves (exact in doubles) <=> every process has the value.
  const double hi = static_cast<double>(value >> 32), lo = static_cast<double>(value & 0xffffffffu);
  std::vector<double> v = {hi, lo, -hi, -lo};
  CALIB8_RETURN_IF_ERROR(comm.AllReduceMin(v));
  if (v[0] != -v[2] || v[1] != -v[3]) return InvalidArgument("the ranks disagree on ", what);
  return Status::Ok();
}

Result<int64_t> AllReduceRanges(Comm& comm, StatsState& s) {
  std::string names = std::to_string(s.num_bins);
  for (const auto& [name, rec] : s.tensors) names += '\n' + name;
  CALIB8_RETURN_IF_ERROR(CheckSame(comm, Fnv1a64(names),
                                   "the tensors they observed (" +
                                       std::to_string(s.tensors.size()) + " on rank " +
                                       std::to_string(comm.rank()) + ")"));
  std::vector<double> mins;
  std::vector<int64_t> sums;
  mins.reserve(3 * s.tensors.size());
  sums.reserve(2 * s.tensors.size() + 1);
  sums.push_back(s.samples);
  for (const auto& [name, rec] : s.tensors) {
    mins.push_back(rec.range.min);
    mins.push_back(-rec.range.max);
    mins.push_back(-rec.range.absmax);
    sums.push_back(rec.range.count);
    sums.push_back(rec.range.nonfinite);
  }
  CALIB8_RETURN_IF_ERROR(comm.AllReduceMin(mins));
  CALIB8_RETURN_IF_ERROR(comm.AllReduceSum(sums));
  s.samples = sums[0];
  size_t i = 0;
  for (auto& [name, rec] : s.tensors) {
    rec.range.min = mins[3 * i];
    rec.range.max = -mins[3 * i + 1];
    rec.range.absmax = -mins[3 * i + 2];
    rec.range.count = sums[1 + 2 * i];
    rec.range.nonfinite = sums[2 + 2 * i];
    ++i;
  }
  return static_cast<int64_t>(mins.size() * sizeof(double) + sums.size() * sizeof(int64_t));
}

Result<int64_t> ReduceHistograms(Comm& comm, StatsState& s) {
  std::vector<double> v;
  for (const auto& [name, rec] : s.tensors) {
    v.insert(v.end(), rec.hist.counts().begin(), rec.hist.counts().end());
    v.insert(v.end(), rec.hist.neg_counts().begin(), rec.hist.neg_counts().end());
  }
  // The layout must agree before a reduction of that length (same ranges give the same bins).
  CALIB8_RETURN_IF_ERROR(CheckSame(comm, static_cast<uint64_t>(v.size()), "the histogram sizes"));
  CALIB8_RETURN_IF_ERROR(comm.ReduceSumToRoot(v));
  if (comm.rank() == 0) {
    size_t at = 0;
    for (auto& [name, rec] : s.tensors) {
      for (auto* part : {&rec.hist.mutable_counts(), &rec.hist.mutable_neg_counts()}) {
        std::copy(v.begin() + static_cast<std::ptrdiff_t>(at),
                  v.begin() + static_cast<std::ptrdiff_t>(at + part->size()), part->begin());
        at += part->size();
      }
    }
  }
  return static_cast<int64_t>(v.size() * sizeof(double));
}

}  // namespace calib8::stats
