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
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "calib8/status.h"
#include "exec/session.h"
#include "stats/histogram.h"

namespace calib8::stats {

struct TensorRecord {
  std::string producer;  // producing node's op type ("" for graph inputs)
  std::string producer_name;
  Shape sample_shape;  // shape of one sample's slice (the tensor shape without the batch axis)
  RunningStats range;
  AbsHistogram hist;
};

// Which data the statistics came from: what the sidecar of a table made from them records
// (`calibrate --from-stats`), and, for shards (`calibrate --shard I/N`), which parts they hold.
struct DataRecord {
  std::string fingerprint;     // of the whole data set; "" unknown (merged from different data)
  nlohmann::json description;  // data::MultiInputData::Describe() of the whole data set, or null
  int shard_count = 0;         // > 0: statistics of the shards `shards` of the data cut in N
  std::vector<int> shards;     // sorted

  bool complete() const {
    return shard_count == 0 || static_cast<int>(shards.size()) == shard_count;
  }
  // "shards 0, 2 of 3" (for messages).
  std::string ShardText() const;
};

// Everything calibration learned from the data; mergeable and saved as JSON (stats_io).
struct StatsState {
  int num_bins = 2048;
  int64_t samples = 0;  // samples that went through pass 1 (pass 2 with given_ranges)
  bool single_pass = false;
  // Pass 2 ran on pass-1 ranges given from elsewhere (`--ranges`, the merged ranges of all
  // shards): the ranges are the whole data set's, only the histograms and `samples` are this run's.
  bool given_ranges = false;
  DataRecord data;
  std::map<std::string, TensorRecord> tensors;

  // Adds another part of the data: pass-1 ranges merge (min, max, counts add); histograms add
  // (same range and bins); with given_ranges on both sides the ranges must be equal and stay.
  // For shards: merge pass 1 of all shards, run pass 2 of each shard on the merged ranges, merge
  // the histograms. Fails if bin counts differ, on a mix of given and own ranges, and on shards
  // of different data (descriptions differ) or a shard merged twice.
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
