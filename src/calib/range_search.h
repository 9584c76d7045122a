// calib/range_search.h — per-tensor automatic choice of the asymmetric range (issue 10 item 4).
// Two scores: at the model's outputs in the INT8 runtime (SearchRangesAtOutput, calibrate's
// default: `--asym-search 32 --asym-search-at output`), or at each tensor's own consumers
// (SearchAsymmetricRanges, `--asym-search-at consumers`), described first.
//
// For every activation tensor read by a weighted node (Conv, ConvTranspose, Gemm, MatMul whose
// other inputs are constants), directly or through ops that carry its 8-bit encoding in the INT8
// plan (pools, Flatten, Reshape, ...: the consumer's input is then fake-quantized with the
// root tensor's candidates), each candidate range [lo, hi] is scored by the error it causes at
// that consumer's output: the consumer runs once on the tensor as it is (the reference) and once
// per candidate on the tensor fake-quantized with quant::AsymmetricParams(lo, hi)
// (quantize, then dequantize); the score is the sum of squared differences over `samples`
// samples of the data, summed over the tensor's weighted consumers. The samples are those whose
// content hashes lowest (SamplesByContent), run in groups of a fixed size: the choice depends on
// what the data hold, not on their order or on --batch. The candidate with
// the smallest score wins; ties keep the earlier candidate (candidates are listed from the
// narrowest range to the widest). Tensors without a weighted consumer get no scores (the caller
// keeps their default range).
//
// Memory: one group of activations of the full model (the FP32 run that produces the tensors)
// plus one consumer output per candidate at a time, and one content hash per sample; nothing is
// stored across batches but the scores. The FP32 run and the single-node runs are deterministic, so
// is the choice.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "calib8/status.h"
#include "core/progress.h"
#include "data/data_source.h"
#include "ir/graph.h"
#include "table/calibration_table.h"

namespace calib8::calib {

struct RangeCandidates {
  std::vector<std::string> labels;              // e.g. "p99.9", one per candidate
  std::vector<std::pair<float, float>> ranges;  // [lo, hi] per candidate, lo <= 0 <= hi
};

struct RangeChoice {
  size_t index = 0;            // into the candidates
  std::vector<double> scores;  // per candidate (empty: no weighted consumer, first kept)
};

// The `count` samples (all if fewer) whose contents have the lowest XXH3 hashes, in hash order.
// Reads every sample once, `batch` at a time.
Result<std::vector<int64_t>> SamplesByContent(const data::MultiInputData& data, int64_t count,
                                              int batch);

// `candidates`: per tensor name. `input_names`: the model input each data column feeds.
Result<std::map<std::string, RangeChoice>> SearchAsymmetricRanges(
    const ir::Graph& graph, const data::MultiInputData& data,
    const std::vector<std::string>& input_names,
    const std::map<std::string, RangeCandidates>& candidates, int64_t samples, int batch,
    int threads);

// The end-to-end variant (calibrate's default, `--asym-search-at output`): starting from `start`
// (every tensor's fixed range), the activation inputs of the nodes the INT8 plan runs in 8 bits
// are visited in model order; for each, every candidate is tried in calib8's INT8 runtime on the
// same N samples, and kept when the summed squared difference of the model's float outputs from
// FP32 goes down (greedy, one pass). A candidate within half a u8 step of the current range at
// both ends is not tried, and a candidate's sum stops once it reaches the best so far (it has
// lost; its score is then that partial sum). Only tensors whose range moved get scores (index:
// the candidate chosen). `table`: the symmetric table being written (it decides coverage).
// `progress`: called after each tensor (unit "tensors").
Result<std::map<std::string, RangeChoice>> SearchRangesAtOutput(
    const ir::Graph& graph, const table::CalibrationTable& table, const data::MultiInputData& data,
    const std::vector<std::string>& input_names,
    const std::map<std::string, RangeCandidates>& candidates,
    const std::map<std::string, std::pair<float, float>>& start, int64_t samples, int batch,
    int threads, const core::ProgressCallback& progress = {});

// The tensors whose 8-bit encoding in the INT8 plan is another tensor's: the output of a chain
// of scale-carrying ops (ir/op_traits.h carries_scale: MaxPool, Flatten, Reshape, ...), mapped to
// the tensor at the chain's start. calib8 runs them with that tensor's scale; an export quantizes
// them with their own table entry, so a search that moves a scale moves theirs with it.
std::map<std::string, std::string> CarriedScales(const ir::Graph& graph);

// The same search in TensorRT mode (`calibrate --sym-search N`): what moves is each tensor's
// symmetric scale in `table` (a candidate [lo, hi] stands for amax = hi, the range [-hi, hi]),
// the INT8 runtime runs symmetric s8 without the CPU speed rule (every layer the table covers
// runs INT8, as TensorRT runs a cache or a --target tensorrt export), and a candidate within half
// an s8 step of the current amax is not tried. Returns the tensors whose scale moved.
Result<std::map<std::string, RangeChoice>> SearchScalesAtOutput(
    const ir::Graph& graph, const table::CalibrationTable& table, const data::MultiInputData& data,
    const std::vector<std::string>& input_names,
    const std::map<std::string, RangeCandidates>& candidates, int64_t samples, int batch,
    int threads, const core::ProgressCallback& progress = {});

}  // namespace calib8::calib
