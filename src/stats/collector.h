// stats/collector.h — the exec::TensorObserver that calibration hangs off.
//
// Pass 1 (kRange): RunningStats per float tensor. Pass 2 (kHistogram): an AbsHistogram per tensor
// on [0, absmax of pass 1]. Both are sums and maxima of exact quantities, so the final state does
// not depend on the order in which samples arrive nor on how they are batched. One-pass mode
// (kSinglePass) builds histograms on the fly from the first batch's range, growing to the right
// (pytorch-quantization's scheme): order-dependent, documented as such.
//
// The collector is fed by one Session at a time; inside OnTensor large tensors are counted with
// OpenMP threads (collection is multi-threaded). The first NaN/Inf seen is recorded with the
// tensor name and sample index and stops calibration.
#pragma once

#include <map>
#include <regex>
#include <string>
#include <vector>

#include "calib8/status.h"
#include "exec/session.h"
#include "stats/histogram.h"

namespace calib8::stats {

struct TensorRecord {
  std::string producer;     // producing node's op type ("" for graph inputs)
  std::string producer_name;
  Shape sample_shape;       // shape of one sample's slice (the tensor shape without the batch axis)
  RunningStats range;
  AbsHistogram hist;
};

// Everything calibration learned from the data; mergeable and saved as JSON (stats_io).
struct StatsState {
  int num_bins = 2048;
  int64_t samples = 0;      // samples that went through pass 1
  bool single_pass = false;
  std::map<std::string, TensorRecord> tensors;

  // Merges pass-1 ranges (for shards: merge pass 1 of all shards, then run pass 2 of each shard
  // on the merged ranges, then merge histograms). Fails if bin counts differ.
  Status Merge(const StatsState& other);
};

enum class Pass { kRange, kHistogram, kSinglePass };

class Collector : public exec::TensorObserver {
 public:
  // `exclude`: tensors whose name matches any regex are not collected.
  Collector(StatsState* state, std::vector<std::regex> exclude = {});

  // Starts a pass. kHistogram creates each tensor's histogram on [0, absmax] (absmax 0: none).
  void BeginPass(Pass pass);
  // Declares that the next Run carries samples [first, first + count).
  void BeginBatch(int64_t first, int64_t count);
  void OnTensor(const std::string& name, const ir::Node* producer, const Tensor& value) override;
  // Ranges and histograms do not depend on the order of elements within a sample, and samples
  // stay outermost in a channels-last tensor.
  bool AcceptsChannelsLast() const override { return true; }

  // Ok, or the first NaN/Inf found ("tensor 'conv1_out' (Conv 'conv1'): sample 17: NaN ...").
  const Status& status() const { return status_; }

 private:
  StatsState* state_;
  std::vector<std::regex> exclude_;
  std::map<std::string, bool> excluded_cache_;
  Pass pass_ = Pass::kRange;
  int64_t batch_first_ = 0, batch_count_ = 1;
  Status status_;
};

}  // namespace calib8::stats
