// runtime/dump.h — `calib8 run MODEL --data SPEC --dump DIR --tensors T1,T2`: record the values of
// chosen tensors over a whole data set, one .npy per tensor, for partial calibration
// (`calibrate --from T=DIR/T.npy`, docs/custom-layers.md) or for checking another runtime.
//
// Only the subgraph that computes the tensors runs (ir::ExtractSubgraph --until), unfused as in
// calibration, so the values are bit for bit what `calibrate` observes, and a model with a custom
// layer after them runs. Memory: one batch; each file is streamed to a temporary name and renamed
// when complete.
#pragma once

#include <string>
#include <vector>

#include "calib8/status.h"
#include "ir/graph.h"

namespace calib8::runtime {

struct DumpOptions {
  std::vector<std::string> data_specs;  // NAME=SPEC or SPEC, as calibrate --data
  std::string preprocess;
  int64_t max_samples = 0;  // 0: all
  int batch = 1;
  int threads = 0;
  std::vector<std::string> tensors;  // what to record
  std::string dir;                   // created if missing
};

struct DumpedTensor {
  std::string name, path;
  Shape shape;  // [samples, ...]: the tensor's batch axis becomes the sample axis
};

// Every tensor must have the batch as its first axis (a tensor that mixes samples cannot be
// split back into samples: the error names it and its shape).
Result<std::vector<DumpedTensor>> DumpTensors(const ir::Graph& graph, const DumpOptions& options);

}  // namespace calib8::runtime
