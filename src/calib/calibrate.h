// calib/calibrate.h — the two-pass calibration driver behind `calib8 calibrate`.
//
//   data (data::MultiInputData) --batches--> Session (unfused, observer) --> stats::Collector
//   pass 1: min/max/absmax per float tensor; pass 2: |x| histogram on [0, absmax]
//   stats --calib::Calibrate (method)--> amax per tensor --> table::CalibrationTable + Sidecar
//
// Memory: one batch of activations alive at a time (the executor releases tensors after their
// last use); statistics are O(tensors x bins). Determinism: the two-pass state is a sum of exact
// integer counts and maxima, so it does not depend on sample order or batching.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "calib/calibrator.h"
#include "core/progress.h"
#include "data/data_source.h"
#include "ir/graph.h"
#include "stats/collector.h"
#include "stats/reduce.h"
#include "table/calibration_table.h"
#include "table/sidecar.h"

namespace calib8::calib {

struct CalibrateProgress {
  int pass = 1;  // 1 or 2 (1 only in single-pass mode)
  int passes = 2;
  int64_t done = 0;  // samples done in this pass
  int64_t total = 0;
  double seconds = 0;  // since the pass started
};

using CalibrateProgressFn = std::function<void(const CalibrateProgress&)>;

// Samples the asymmetric range search scores by default, and where it scores them: each candidate
// range is tried in calib8's INT8 runtime and judged at the model's outputs (calib/range_search.h).
// On seven held-out PaddleOCR rec sets it kept every one within 0.35 point of FP32 where the
// fixed p99.99 ranges lost up to 3.15 (bench/RESULTS.md, "The output search as the default").
// `--asym-search 0` turns it off (the fixed --asym-percentile ranges);
// `--asym-search-at consumers` scores at each tensor's own Conv/Gemm/MatMul consumers instead.
inline constexpr int kDefaultAsymSearchSamples = 32;
inline constexpr const char* kDefaultAsymSearchAt = "output";
// Samples the symmetric scale search (`--sym-search N`: the table's own scales, what TensorRT
// runs, chosen at the model's outputs in TensorRT mode; calib/range_search.h) scores by default.
// On held-out PaddleOCR sets it took a collapsed table (rec 78.3 % against FP32 98.0) to 96.7 and
// kept the others within noise of the method's scales or above (bench/RESULTS.md, "The symmetric
// scale search as the default"). `--sym-search 0` writes the method's own scales.
inline constexpr int kDefaultSymSearchSamples = 64;
// Its cost is an INT8 run of its samples per candidate tried, so it scores no more samples than
// hold this many input elements in all (PaddleOCR rec 48x320: 86 lines; det 640x640: 3 pages).
inline constexpr int64_t kSymSearchInputBudget = 4'000'000;

struct CalibrateOptions {
  std::vector<std::string> data_specs;  // NAME=SPEC or SPEC (data/data_source.h)
  std::string preprocess;               // default PreprocessSpec text for images:DIR
  int64_t max_samples = 0;              // 0: all
  int batch = 1;
  int threads = 0;  // 0: all cores
  std::string method{calib::kDefaultMethod};
  // Method parameters by name (validated against the method): percentile=P, num_bins=N,
  // threshold=edge|centre (entropy2), zero_bin=replace|keep (entropy2), start_bin=N,
  // floor_percentile=P (entropy2, entropy, mse: amax >= that percentile of |x|), and for every
  // method asym_percentile=P (the asymmetric [lo, hi] written to the sidecar; default 99.99) and
  // asym_search=N (each tensor's asymmetric range chosen among percentiles by the error it causes
  // on N samples, calib/range_search.h; default kDefaultAsymSearchSamples; 0: off) with
  // asym_search_at=output|consumers (where that error is measured; default kDefaultAsymSearchAt).
  // The search needs the data, so CalibrateFromStats searches only when data_specs are given.
  std::map<std::string, std::string> params;
  int num_bins = 2048;
  bool single_pass = false;          // one pass, histogram grows: order-dependent
  std::vector<std::string> exclude;  // regexes of tensor names to leave out
  bool want_curves = false;
  // Shards: use these pass-1 ranges instead of running pass 1; or stop after pass 1.
  const stats::StatsState* ranges = nullptr;
  bool range_only = false;
  // A part of a distributed calibration (docs/distributed.md): this process reads only the
  // samples of shard `shard_index` of `shard_count` (ShardSamples: contiguous blocks of whole
  // batches). With `comm` (calibrate --mpi) the shard is (rank, size), the statistics are combined
  // across processes after each pass (stats/reduce.h), and only rank 0's result is complete.
  int shard_index = 0, shard_count = 1;
  stats::Comm* comm = nullptr;
  // The data fingerprint of exactly these data specs and options when the caller has computed it
  // already (calibrate's reuse check): Calibrate then does not read the data a third time to
  // hash it. Empty: Calibrate computes it.
  std::string data_fingerprint;
  // Called with done = 0 when a pass starts and after each batch.
  CalibrateProgressFn progress;
  // Progress of hashing the data for the fingerprint (MiB; long for image directories).
  core::ProgressCallback hashing_progress;
  // Progress of the asymmetric range search at the output (tensors visited).
  core::ProgressCallback search_progress;
};

struct TensorCalibration {
  std::string name;
  const stats::TensorRecord* record = nullptr;  // points into CalibrationResult::stats
  calib::Calibration result;
  // The asymmetric range [lo, hi] (calib::ChooseAsymmetricRange); has_range false when the
  // statistics have no sign split (an old statistics file).
  bool has_range = false;
  double lo = 0, hi = 0;
  double abs_p999 = 0;  // the kClipWarnPercentile percentile of |x| (left bin edge)
};

struct CalibrationResult {
  stats::StatsState stats;
  std::vector<TensorCalibration> tensors;  // in order of first appearance in the graph
  table::MethodSpec method;
  std::string model_fingerprint;
  std::string data_fingerprint;
  nlohmann::json data_description;
  std::vector<std::string> warnings;  // all-zero tensors, zero amax, ...
  std::vector<std::string> notes;     // what an option did (--asym-search's choices)
  // Tensors whose symmetric amax is below kClipWarnRatio x their p99.9 of |x| (graph order), and
  // the one-line warning naming them (empty when none); the CLI prints it to stderr.
  std::vector<std::string> clipped_tensors;
  std::string clip_warning;
  double seconds_pass1 = 0, seconds_pass2 = 0;
  // Distributed runs: the samples [shard_first, shard_end) this process read, and the bytes it
  // contributed to the pass-1 all-reduce and the pass-2 reduction. `partial`: a rank other than
  // 0 of an --mpi run, whose statistics went to rank 0 (no tensors, nothing to write).
  int64_t shard_first = 0, shard_end = 0;
  int64_t reduce_bytes_pass1 = 0, reduce_bytes_pass2 = 0;
  bool partial = false;
};

// The samples [first, end) of shard `index` of `count` of a data set of `samples` samples read in
// batches of `batch`: the batches (the last one may be short) cut into `count` contiguous blocks
// of floor or ceil(batches / count) batches, in order. Every batch is the one a single process
// would run, so per-batch arithmetic (oneDNN's batch-size-dependent kernels) is unchanged.
std::pair<int64_t, int64_t> ShardSamples(int64_t samples, int batch, int index, int count);

// Parses method name + params into calibrator options and the sidecar's MethodSpec.
Result<calib::CalibratorOptions> MethodOptions(const std::string& method,
                                               const std::map<std::string, std::string>& params,
                                               table::MethodSpec* spec);

// Runs the data through the model and computes every tensor's amax.
Result<CalibrationResult> Calibrate(const ir::Graph& graph, const CalibrateOptions& options);

// Computes amax from saved statistics: `calib8 calibrate --from-stats`. Reads no data unless
// options.data_specs are given, for the asymmetric range search; they must be the data the
// statistics were collected from (same fingerprint).
Result<CalibrationResult> CalibrateFromStats(const ir::Graph& graph, stats::StatsState stats,
                                             const CalibrateOptions& options);

// The TensorRT algorithm name for a method: entropy2 -> EntropyCalibration2, minmax ->
// MinMaxCalibration, entropy -> EntropyCalibration, others -> EntropyCalibration2 (the header
// TensorRT's IInt8EntropyCalibrator2 accepts; the sidecar records the real method).
std::string TrtAlgorithmFor(const std::string& method);
// The header names `--trt-calibrator` accepts (TensorRT's IInt8Calibrator kinds).
const std::vector<std::string>& TrtCalibratorNames();

// Table (activations, in graph order) and sidecar for a result.
table::CalibrationTable MakeTable(const CalibrationResult& result, const std::string& algorithm);
table::Sidecar MakeSidecar(const CalibrationResult& result, const ir::Graph& graph,
                           const std::string& model_file, const std::string& table_file,
                           const std::string& table_bytes);

// Per-output-channel symmetric weight scales (max|W_c| / 127) of Conv, ConvTranspose, Gemm and
// MatMul initializer weights (DESIGN §4), for the sidecar.
std::vector<table::WeightScales> WeightScalesOf(const ir::Graph& graph);

}  // namespace calib8::calib
