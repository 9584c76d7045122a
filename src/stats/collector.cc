// stats/collector.cc — see collector.h. Hot path: OnTensor runs for every float tensor of every
// batch; it touches each element once per pass.
#include "stats/collector.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

namespace calib8::stats {

std::string DataRecord::ShardText() const {
  std::string s = shards.size() == 1 ? "shard " : "shards ";
  for (size_t i = 0; i < shards.size(); ++i) s += (i ? ", " : "") + std::to_string(shards[i]);
  return s + " of " + std::to_string(shard_count);
}

namespace {
// The data record of two merged parts: shards of one data set combine (same description, no
// shard twice, the fingerprint from the part that has it); anything else merges data of unknown
// identity (two different files, say), so the merged record is empty.
Result<DataRecord> MergeData(const DataRecord& a, const DataRecord& b) {
  if (a.shard_count == 0 && b.shard_count == 0) return DataRecord{};
  if (a.shard_count == 0 || b.shard_count == 0)
    return InvalidArgument(
        "cannot merge the statistics of a shard (calibrate --shard) with "
        "statistics of a whole data set");
  if (a.shard_count != b.shard_count)
    return InvalidArgument("cannot merge ", a.ShardText(), " with ", b.ShardText(),
                           ": the data were cut into a different number of shards");
  if (a.description != b.description)
    return InvalidArgument("cannot merge ", a.ShardText(), " with ", b.ShardText(),
                           ": they were run on different data (", a.description.dump(), " vs ",
                           b.description.dump(), ")");
  if (!a.fingerprint.empty() && !b.fingerprint.empty() && a.fingerprint != b.fingerprint)
    return InvalidArgument("cannot merge ", a.ShardText(), " with ", b.ShardText(),
                           ": different data fingerprints ", a.fingerprint, " and ", b.fingerprint);
  DataRecord m = a;
  if (m.fingerprint.empty()) m.fingerprint = b.fingerprint;
  for (int s : b.shards) {
    if (std::find(a.shards.begin(), a.shards.end(), s) != a.shards.end())
      return InvalidArgument("shard ", s, " of ", a.shard_count, " is merged twice");
    m.shards.push_back(s);
  }
  std::sort(m.shards.begin(), m.shards.end());
  return m;
}

bool SameRange(const RunningStats& a, const RunningStats& b) {
  return a.count == b.count && a.absmax == b.absmax &&
         (a.count == 0 || (a.min == b.min && a.max == b.max));
}
}  // namespace

Status StatsState::Merge(const StatsState& o) {
  if (o.num_bins != num_bins)
    return InvalidArgument("cannot merge statistics with ", o.num_bins, " bins into ", num_bins);
  if (o.given_ranges != given_ranges)
    return InvalidArgument(
        "cannot merge histograms collected on given ranges (calibrate --ranges) "
        "with statistics that have their own pass 1");
  CALIB8_ASSIGN_OR_RETURN(DataRecord d, MergeData(data, o.data));
  for (const auto& [name, rec] : o.tensors) {
    auto it = tensors.find(name);
    if (it == tensors.end()) {
      if (given_ranges)
        return InvalidArgument("tensor '", name,
                               "' is in one part only: the parts were collected "
                               "on different --ranges files");
      continue;
    }
    if (given_ranges && !SameRange(it->second.range, rec.range))
      return InvalidArgument("tensor '", name,
                             "': the parts were collected on different --ranges "
                             "files (ranges differ)");
  }
  samples += o.samples;
  data = std::move(d);
  for (const auto& [name, rec] : o.tensors) {
    auto it = tensors.find(name);
    if (it == tensors.end()) {
      tensors[name] = rec;
      continue;
    }
    if (!given_ranges) it->second.range.Merge(rec.range);
    CALIB8_RETURN_IF_ERROR(it->second.hist.Merge(rec.hist).WithContext("tensor '" + name + "'"));
  }
  return Status::Ok();
}

Collector::Collector(StatsState* state, std::vector<std::regex> exclude)
    : state_(state), exclude_(std::move(exclude)) {}

void Collector::BeginPass(Pass pass) {
  pass_ = pass;
  state_->single_pass = pass == Pass::kSinglePass;
  if (pass != Pass::kHistogram) return;
  for (auto& [name, rec] : state_->tensors)
    rec.hist =
        rec.range.absmax > 0 ? AbsHistogram(rec.range.absmax, state_->num_bins) : AbsHistogram();
}

void Collector::BeginBatch(int64_t first, int64_t count) {
  batch_first_ = first;
  batch_count_ = std::max<int64_t>(count, 1);
  if (pass_ != Pass::kHistogram) state_->samples += count;
}

namespace {
// Index of the first non-finite element, or -1.
int64_t FirstNonFinite(const float* p, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(p[i])) return i;
  return -1;
}

// Histogram of |x| over [0, range] with OpenMP threads for large tensors.
void AddParallel(AbsHistogram& h, const float* p, int64_t n) {
  constexpr int64_t kChunk = 1 << 16;
  if (n < 4 * kChunk || omp_get_max_threads() == 1) {
    h.Add(p, n);
    return;
  }
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<AbsHistogram> parts(static_cast<size_t>(omp_get_max_threads()),
                                  AbsHistogram(h.range(), h.num_bins()));
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    int64_t b = c * kChunk, e = std::min(n, b + kChunk);
    parts[static_cast<size_t>(omp_get_thread_num())].Add(p + b, e - b);
  }
  for (const auto& part : parts) (void)h.Merge(part);
}
// RunningStats of a large tensor computed in OpenMP threads, one chunk per thread, then merged
// (min/max/count merge exactly, so the result is the same as one serial pass).
RunningStats StatsParallel(const float* p, int64_t n) {
  constexpr int64_t kChunk = 1 << 16;
  RunningStats total;
  if (n < 4 * kChunk || omp_get_max_threads() == 1) {
    total.Add(p, n);
    return total;
  }
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<RunningStats> parts(static_cast<size_t>(chunks));
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    int64_t b = c * kChunk, e = std::min(n, b + kChunk);
    parts[static_cast<size_t>(c)].Add(p + b, e - b);
  }
  for (const auto& part : parts) total.Merge(part);
  return total;
}
}  // namespace

void Collector::OnTensor(const std::string& name, const ir::Node* producer, const Tensor& value) {
  if (!status_.ok()) return;
  auto ex = excluded_cache_.find(name);
  if (ex == excluded_cache_.end()) {
    bool skip = false;
    for (const auto& re : exclude_) skip |= std::regex_search(name, re);
    ex = excluded_cache_.emplace(name, skip).first;
  }
  if (ex->second) return;
  const float* p = value.data<float>();
  const int64_t n = value.numel();
  TensorRecord& rec = state_->tensors[name];
  if (pass_ != Pass::kHistogram) {
    if (rec.producer.empty() && producer) {
      rec.producer = producer->op_type;
      rec.producer_name = producer->name;
    }
    if (value.rank() > 0 && value.dim(0) == batch_count_)
      rec.sample_shape = Shape(value.shape().begin() + 1, value.shape().end());
    else
      rec.sample_shape = value.shape();
    RunningStats s = StatsParallel(p, n);
    if (s.nonfinite > 0) {
      int64_t at = FirstNonFinite(p, n);
      int64_t per_sample = value.rank() > 0 && value.dim(0) == batch_count_ ? n / batch_count_ : n;
      int64_t sample = batch_first_ + (per_sample > 0 ? at / per_sample : 0);
      std::string what = std::isnan(p[at]) ? "NaN" : "Inf";
      status_ = InvalidArgument(
          "tensor '", name, "'",
          producer ? " (output of " + producer->op_type + " '" + producer->name + "')"
                   : " (model input)",
          ": sample ", sample, ": ", what, " found (", s.nonfinite,
          " non-finite values in this batch); calibration needs finite activations");
      return;
    }
    rec.range.Merge(s);
    if (pass_ == Pass::kSinglePass && s.absmax > 0) {
      // Grow the histogram to the right keeping the first batch's bin width.
      if (rec.hist.empty()) {
        rec.hist = AbsHistogram(s.absmax, state_->num_bins);
      } else if (s.absmax > rec.hist.range()) {
        double w = rec.hist.bin_width();
        rec.hist.GrowTo(static_cast<int>(std::ceil(s.absmax / w)));
      }
      AddParallel(rec.hist, p, n);
    }
    return;
  }
  if (!rec.hist.empty()) AddParallel(rec.hist, p, n);
}

}  // namespace calib8::stats
