// calib8/calibrate.h — calibrate a model on data and write its TensorRT cache and calib8 sidecar.
//
//   calib8::CalibrateOptions o;
//   o.data = {"idx:t10k-images-idx3-ubyte.gz"};   // NAME=SPEC or SPEC, as `calibrate --data`
//   o.max_samples = 500;
//   auto r = calib8::Calibrate(*model, o, "net.cache");   // writes net.cache +
//   net.cache.calib8.json
//
// The defaults are the CLI's: the accuracy-first method (entropy2-floored for the symmetric cache,
// the asymmetric range search scored at the model's output for the sidecar; docs/calibration.md).
// The result does not depend on the batch size or the sample order. A table already at the path
// whose sidecar matches this model, these data and this method is reused, not recomputed.
//
// The rest of `calib8 calibrate` is here too: statistics files (save, shards, merge, compute
// from), MPI ranks, the HTML report, partial calibration (Model::Subgraph) and the keep-FP32
// plan of --max-drop:
//
//   o.save_stats = "net.stats.json";                       // also keep the histograms
//   calib8::CalibrationSummary s;
//   calib8::Status st = calib8::Calibrate(*model, o, "net.cache", &s);  // s: what was done
//   auto plan = calib8::PlanKeepFp32(*model, "net.cache", {/*max_drop=*/1.0, ...});
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "calib8/model.h"
#include "calib8/progress.h"
#include "calib8/status.h"

namespace calib8 {

namespace detail {
struct MpiImpl;
}  // namespace detail

// This process as one rank of an MPI job (`mpiexec -n N`; docs/distributed.md).
class Mpi {
 public:
  // Initialises MPI, once per process; it is finalised when the last copy is destroyed. Started
  // without mpiexec it is a world of one. Fails when calib8 was built without MPI.
  static Result<Mpi> Init();
  int rank() const;
  int size() const;
  // Collective: every rank gets Ok when every rank passed Ok, else the error of the lowest
  // failing rank ("rank R of N: MESSAGE").
  Status Agree(const Status& local) const;

 private:
  Mpi() = default;
  std::shared_ptr<detail::MpiImpl> impl_;
  friend struct detail::MpiImpl;
};

// A calibration method (`calibrate --method NAME`).
struct MethodInfo {
  std::string name;
  std::string summary;  // one line, with the peer it matches
};
// Every method, in the CLI's display order, and the default one.
std::vector<MethodInfo> Methods();
std::string DefaultMethod();

struct CalibrateOptions {
  // Data sources, NAME=SPEC or SPEC (docs/data.md): FILE.npy, a TensorProto .pb, idx:FILE,
  // images:DIR, a list file ...
  std::vector<std::string> data;
  std::string preprocess;   // for images:DIR, as `--preprocess`
  int64_t max_samples = 0;  // 0: all
  int batch = 1;            // samples per inference (no effect on the result)
  int threads = 0;          // 0: all cores
  std::string method;       // "" = DefaultMethod()
  // Method parameters by name, as text, validated against the method (`calibrate --help` lists
  // them): percentile, floor_percentile, threshold, zero_bin, start_bin, asym_percentile,
  // asym_search, asym_search_at, sym_search ("0": the method's own table scales, no search).
  std::map<std::string, std::string> params;
  std::string trt_calibrator;  // the TensorRT header; "" = the one that goes with the method
  bool force = false;          // recompute even when the table at the path is current
  int num_bins = 2048;         // histogram bins
  bool single_pass = false;    // one pass (streams that cannot be read twice); order-dependent
  std::vector<std::string> exclude;  // regexes of tensor names to leave out
  int64_t trt_version = 0;           // in the cache header; 0: 8601
  ProgressCallback progress;         // the passes, the data hashing, the range search

  // Each of these turns the reuse of a current table off.
  std::string save_stats;  // also write the statistics (histograms) to this file
  std::string report;      // also write a self-contained HTML report to this file
  // Compute from this statistics file instead of running the data; `data`, when given, only
  // feeds the asymmetric range search (they must be the data the statistics came from).
  std::string from_stats;
  // Distributed by files (docs/distributed.md): this process reads shard `shard_index` of
  // `shard_count`; with shard_count > 1 or range_only it writes only `save_stats`, no table.
  int shard_index = 0, shard_count = 1;
  bool range_only = false;  // pass 1 only (round 1)
  std::string ranges;       // the pass-1 ranges of all shards merged, for pass 2 (round 2)
  // Distributed over MPI: run on every rank alike; the statistics are reduced to rank 0, which
  // writes the files; every rank returns the same outcome.
  const Mpi* mpi = nullptr;
};

// What a tensor's range came to.
struct TensorRange {
  std::string name;
  double amax = 0;             // the table's symmetric range
  double observed_absmax = 0;  // the largest |x| seen (0: no statistics, e.g. a reused table)
};

struct CalibrationSummary {
  bool reused = false;        // the table at the path was current; nothing was computed
  std::string note;           // why it was (not) reused; empty for a new path
  bool existed = false;       // a table was at the path (and the reuse check ran)
  bool sidecar_read = false;  // ... with a readable sidecar
  std::string table_path, sidecar_path;
  size_t tensors = 0;   // entries in the table
  int64_t samples = 0;  // samples the table was computed on
  std::string method;
  std::string variant;                // the method's variant parameter, "" if it has none
  std::vector<std::string> warnings;  // all-zero tensors, heavy clipping, ...
  // Filled when this call computed the table:
  std::vector<TensorRange> ranges;  // every entry, in graph order
  std::vector<std::string> notes;   // what an option did (the range search's choices)
  std::string clip_warning;         // the heavy-clipping line (also the last of `warnings`)
  double seconds = 0;               // both passes
  // Written by this call ("" when not):
  std::string stats_path, report_path;
  bool table_written = false;
  // Shards and MPI: the samples [shard_first, shard_end) this process read; with MPI the world
  // size, whether this is rank 0, and the bytes this rank moved in each pass's reduction.
  int64_t shard_first = 0, shard_end = 0;
  int ranks = 0;
  bool root = true;
  int64_t reduce_bytes_pass1 = 0, reduce_bytes_pass2 = 0;
};

// Runs `model` over the data (two passes: ranges, then histograms), computes every activation's
// range and writes the cache to `table_path` with its sidecar beside it, sidecar first, each
// atomically. Nothing is written on failure.
Result<CalibrationSummary> Calibrate(const Model& model, const CalibrateOptions& options,
                                     const std::string& table_path);
// The same, for callers that report each step: `summary` is filled as far as the work got, also
// on failure (the reuse check's outcome; the files written before a later step failed). Writes,
// in order: save_stats, the sidecar and table, the report. Fails as the CLI does: a missing
// statistics file is named alone; a calibration error ("no calibration data: give --data SPEC")
// comes as "calibrate 'MODEL': ...".
Status Calibrate(const Model& model, const CalibrateOptions& options, const std::string& table_path,
                 CalibrationSummary* summary);

// TensorRT calibrator names for the cache header (`--trt-calibrator`).
std::vector<std::string> TrtCalibrators();
// Ok when `name` is one of TrtCalibrators(); else an error listing them.
Status CheckTrtCalibrator(const std::string& name);

// merge-stats: the statistics files of data shards (save_stats) merged into one.
struct MergedStats {
  int64_t samples = 0;
  size_t tensors = 0;
  bool sharded = false;   // the files are shards of one data set
  std::string shards;     // which shards, as text ("shards 0,1 of 4")
  bool complete = false;  // ... all of them
};
// Reads `inputs` (at least one), merges them and writes `output` atomically. Fails naming the
// file that cannot be read or merged (other bins, overlapping shards ...).
Result<MergedStats> MergeStats(const std::vector<std::string>& inputs, const std::string& output);

// calibrate --max-drop: the layers to keep FP32 (and ranges to change) so that INT8 stays within
// `max_drop` of FP32, measured with the table at `table_path` in the encoding `run --int8` uses.
struct KeepFp32PlanOptions {
  double max_drop = 0.5;  // top-1 agreement points (output SQNR >= 30 dB without a classifier)
  std::vector<std::string> data;  // as CalibrateOptions::data
  std::string preprocess;
  int64_t samples = 200;  // the first ones
  int threads = 0;
  std::string path;  // the plan file; "" = <table_path>.keep-fp32.txt
  ProgressCallback progress;
};
struct RangeChange {
  std::string tensor;
  bool asymmetric = false;  // the change went into the sidecar's range; else the table's amax
  double lo_before = 0, hi_before = 0, lo = 0, hi = 0;
  double score_before = 0, score = 0;
};
struct KeepFp32Plan {
  std::vector<RangeChange> range_changes;  // written back into the table (and sidecar)
  std::string path;                        // the plan file written
  std::vector<std::string> keep;           // tensors kept FP32
  std::string metric;                      // what the scores measure
  double score = 0, fp32_score = 0;
  bool met = false;        // score is within max_drop of fp32_score
  std::string table_note;  // the encoding the table was measured in
  bool measuring = false;  // the table and data were read and the measurement started
  bool measured = false;   // ... and finished
};
// Measures, applies the range changes to the table, writes the plan file. `plan` is filled as
// far as the work got, also on failure.
Status PlanKeepFp32(const Model& model, const std::string& table_path,
                    const KeepFp32PlanOptions& options, KeepFp32Plan* plan);

}  // namespace calib8
