// tools/calib8/cmd_calibrate.cc — `calib8 calibrate MODEL --data SPEC [--method M] [-o TABLE]`
// and `calib8 merge-stats A B ... -o OUT`. Parses options, calls calib::Calibrate, writes the
// TensorRT cache and its sidecar atomically, prints a summary.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <optional>
#include <set>

#include "calib/calibrate.h"
#include "calib/table_files.h"
#include "commands.h"
#include "core/file_util.h"
#include "core/progress.h"
#include "data/data_source.h"
#include "dist/mpi_comm.h"
#include "eval/calibration_report.h"
#include "eval/sensitivity.h"
#include "ir/subgraph.h"
#include "runtime/engine.h"
#include "runtime/int8_engine.h"
#include "stats/stats_io.h"

namespace calib8::cli {

namespace {

struct CalibrateArgs {
  std::string model;
  std::vector<std::string> data;
  std::string output;
  std::string method{calib::kDefaultMethod};
  std::string preprocess;
  int64_t max_samples = 0;
  int batch = 1;
  int threads = 0;
  int num_bins = 2048;
  double percentile = -1;
  double floor_percentile = -1;
  double asym_percentile = -1;
  int asym_search = -1;  // -1: the library's default
  std::string asym_search_at;
  std::string threshold, zero_bin;
  bool single_pass = false;
  std::vector<std::string> exclude;
  std::string save_stats, from_stats, ranges;
  bool range_only = false;
  bool mpi = false;   // --mpi: one rank of `mpiexec -n N calib8 calibrate ...`
  std::string shard;  // --shard I/N
  int64_t trt_version = 0;
  std::string algorithm;  // --trt-calibrator (alias --algorithm)
  bool force = false;
  bool quiet = false;
  std::string report;    // --report FILE.html
  double max_drop = -1;  // --max-drop: also write a keep-FP32 plan (sensitivity) that meets it
  std::string plan_out;  // --plan: where (default <table>.keep-fp32.txt)
  int64_t plan_samples = 200;
  std::vector<std::string> until, from;  // partial calibration (docs/custom-layers.md)
};

// --until T1,T2 and --from T=SPEC (repeatable): the subgraph to calibrate; each --from SPEC
// becomes the data of the new input T.
Status ApplyPartial(const CalibrateArgs& a, ir::Graph& g, std::vector<std::string>& data) {
  ir::SubgraphSpec spec;
  for (const auto& u : a.until) {
    size_t start = 0;
    while (start <= u.size()) {
      size_t comma = u.find(',', start);
      if (comma == std::string::npos) comma = u.size();
      spec.until.push_back(u.substr(start, comma - start));
      start = comma + 1;
    }
  }
  for (const auto& f : a.from) {
    size_t eq = f.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == f.size())
      return InvalidArgument("--from '", f,
                             "': expected TENSOR=SPEC (the tensor's recorded values, "
                             "e.g. a .npy from `calib8 run --dump`)");
    spec.from.push_back(f.substr(0, eq));
    data.push_back(f);
  }
  return ir::ExtractSubgraph(g, spec);
}

// After a partial calibration: which tensors of the whole model this table leaves without a
// scale, so that the parts can be checked before `merge`.
void PrintPartialCoverage(const ir::Graph& full, const calib::CalibrationResult& r) {
  std::set<std::string> have;
  for (const auto& t : r.tensors) have.insert(t.name);
  std::vector<std::string> missing;
  auto consider = [&](const std::string& name) {
    auto it = full.value_info.find(name);
    bool is_float = it == full.value_info.end() || it->second.dtype == DataType::kFloat32 ||
                    it->second.dtype == DataType::kUndefined;
    if (!name.empty() && is_float && !have.count(name) &&
        std::find(missing.begin(), missing.end(), name) == missing.end())
      missing.push_back(name);
  };
  for (const auto& in : full.inputs) consider(in.name);
  for (const auto& n : full.nodes)
    for (const auto& o : n.outputs) consider(o);
  std::cout << "partial: " << r.tensors.size() << " tensors calibrated, " << missing.size()
            << " tensor(s) of the whole model left to the other part(s)";
  for (size_t i = 0; i < missing.size() && i < 8; ++i) std::cout << (i ? ", " : ": ") << missing[i];
  if (missing.size() > 8) std::cout << " and " << missing.size() - 8 << " more";
  std::cout << "\n         join the parts with: calib8 merge PART1 PART2 ... -o TABLE\n";
}

// calib::CalibrateProgress -> the shared reporter (core/progress.h): "calibrate pass 1/2".
calib::CalibrateProgressFn ToCalibrateProgress(core::ProgressReporter& reporter) {
  auto cb = reporter.Callback();
  if (!cb) return {};
  return [cb](const calib::CalibrateProgress& p) {
    std::string stage = "calibrate pass " + std::to_string(p.pass) + "/" + std::to_string(p.passes);
    if (p.passes == 2) stage += p.pass == 1 ? " (ranges)" : " (histograms)";
    cb({stage, p.done, p.total, "samples", ""});
  };
}

void PrintSummary(const calib::CalibrationResult& r, const std::string& table_path,
                  const std::string& sidecar_path) {
  size_t zero = 0;
  double lo = INFINITY, hi = 0;
  for (const auto& t : r.tensors) {
    if (t.result.amax == 0)
      ++zero;
    else {
      lo = std::min(lo, t.result.amax);
      hi = std::max(hi, t.result.amax);
    }
  }
  std::cout << "calibrated " << r.tensors.size() << " tensors on " << r.stats.samples
            << " samples with " << r.method.name;
  if (r.method.parameters.count("variant"))
    std::cout << " (" << r.method.parameters.at("variant") << ")";
  std::cout << std::fixed << std::setprecision(2) << " in " << (r.seconds_pass1 + r.seconds_pass2)
            << " s\n";
  if (!r.tensors.empty() && zero < r.tensors.size())
    std::cout << "amax range: " << std::setprecision(4) << lo << " .. " << hi << "\n";
  // The five tensors whose clipping cut the most of the observed range.
  std::vector<const calib::TensorCalibration*> sorted;
  for (const auto& t : r.tensors)
    if (t.record->range.absmax > 0) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) {
    return a->result.amax / a->record->range.absmax < b->result.amax / b->record->range.absmax;
  });
  if (!sorted.empty()) std::cout << "most clipped (amax / observed max|x|):\n";
  for (size_t i = 0; i < sorted.size() && i < 5; ++i)
    std::cout << "  " << std::setw(6) << std::setprecision(3)
              << sorted[i]->result.amax / sorted[i]->record->range.absmax << "  " << sorted[i]->name
              << "  (amax " << std::setprecision(4) << sorted[i]->result.amax << ", max|x| "
              << sorted[i]->record->range.absmax << ")\n";
  for (const auto& n : r.notes) std::cout << n << "\n";
  for (const auto& w : r.warnings) std::cout << "warning: " << w << "\n";
  std::cout << "table:   " << table_path << "\nsidecar: " << sidecar_path
            << "\nexplain it with: calib8 inspect " << table_path << "\n";
}

}  // namespace

// calibrate --max-drop: the sensitivity plan for the table just written (or reused), measured
// on the first --plan-samples calibration samples with the encoding `run --int8` will use.
static int WritePlan(const CalibrateArgs& a, const ir::Graph& g, const std::string& table_path,
                     const std::vector<std::string>& data_specs, const std::string& preprocess) {
  eval::SensitivityOptions so;
  so.max_drop = a.max_drop;
  so.compare.session.num_threads = a.threads;
  runtime::Int8TableMode mode;
  auto t = runtime::LoadInt8Table(table_path, false, &so.compare.int8, &mode);
  if (!t.ok()) return ReportError(t.status());
  so.try_ranges = true;  // other ranges before FP32; the ones that help go into the table below
  so.observed = eval::ObservedRanges(table_path);
  data::OpenOptions oo = runtime::DataOptionsFor(g, preprocess, a.plan_samples);
  auto d = data::MultiInputData::Open(data_specs, oo);
  if (!d.ok()) return ReportError(d.status());
  core::ProgressReporter progress(core::DefaultProgressStyle(a.quiet));
  so.progress = progress.Callback();
  auto r = eval::AnalyzeSensitivity(g, *t, *d, {}, so);
  progress.Finish();
  if (!r.ok()) return ReportError(r.status().WithContext("calibrate --max-drop"));
  if (!r->ranges.empty()) {
    Status s = eval::ApplyRangeChanges(table_path, r->ranges, table_path);
    if (!s.ok()) return ReportError(s);
    for (const auto& c : r->ranges)
      std::printf("range:   %s [%.4g, %.4g] -> [%.4g, %.4g] (%s %.2f -> %.2f), written to the %s\n",
                  c.tensor.c_str(), c.lo_before, c.hi_before, c.lo, c.hi, r->metric.c_str(),
                  c.score_before, c.score, c.asymmetric ? "sidecar" : "table");
  }
  const std::string path = a.plan_out.empty() ? table_path + ".keep-fp32.txt" : a.plan_out;
  Status s = core::WriteFileAtomic(path, eval::SensitivityPlanFile(*r, so, a.model, table_path));
  if (!s.ok()) return ReportError(s);
  char score[64];
  std::snprintf(score, sizeof score, "%.2f, FP32 %.2f", r->final_score, r->fp32_score);
  std::cout << "plan:    " << path << " (" << r->keep.size() << " tensor(s) kept FP32; "
            << r->metric << " " << score << (r->met ? ": meets" : ": does NOT meet")
            << " --max-drop " << a.max_drop << "; " << mode.note << "; use it with --keep-fp32)\n";
  return 0;
}

// Writes what a finished calibration produced: --save-stats, the sidecar then the table (each
// atomically), --report; prints the summary (and, for a --until/--from part, what it left out).
static Status WriteOutputs(const CalibrateArgs& a, const ir::Graph& g,
                           const calib::CalibrationResult& r, const calib::CalibrateOptions& o,
                           const std::string& out, const std::string& sidecar_path,
                           const ir::Graph* full_model) {
  if (!a.save_stats.empty()) {
    CALIB8_RETURN_IF_ERROR(stats::SaveStats(r.stats, a.save_stats));
    std::cout << "statistics: " << a.save_stats << "\n";
  }
  calib::TableFilesOptions fo;
  fo.model_file = a.model;
  fo.trt_calibrator = a.algorithm;
  fo.trt_version = a.trt_version;
  CALIB8_RETURN_IF_ERROR(calib::WriteTableFiles(r, g, out, fo).status());
  PrintSummary(r, out, sidecar_path);
  if (full_model) PrintPartialCoverage(*full_model, r);
  if (o.comm) {
    std::printf(
        "mpi:     %d ranks; rank 0 read samples %lld-%lld; per rank the pass-1 all-reduce "
        "moved %lld bytes, the pass-2 reduction %lld bytes\n",
        o.comm->size(), static_cast<long long>(r.shard_first),
        static_cast<long long>(r.shard_end - 1), static_cast<long long>(r.reduce_bytes_pass1),
        static_cast<long long>(r.reduce_bytes_pass2));
    std::fflush(stdout);
  }
  if (!r.clip_warning.empty()) std::cerr << "calib8: warning: " << r.clip_warning << "\n";
  if (!a.report.empty()) {
    namespace fs = std::filesystem;
    auto in = eval::CalibrationReportInput(r, fs::path(a.model).filename().string(),
                                           fs::path(out).filename().string());
    CALIB8_RETURN_IF_ERROR(core::WriteFileAtomic(a.report, eval::RenderHtmlReport(in)));
    std::cout << "report:  " << a.report << "\n";
  }
  return Status::Ok();
}

// Declares the options of `calib8 calibrate` on `sub`, stored in `a`.
static void DeclareCalibrateOptions(CLI::App* sub, CalibrateArgs* a) {
  sub->add_option("MODEL", a->model, "ONNX model file")->required();
  sub->add_option(
      "--data,-d", a->data,
      "Calibration data: FILE.npy (first axis = samples), DIR of .npy/.pb, "
      "idx:FILE[.gz], images:DIR[@PREPROCESS]; NAME=SPEC per input (docs/data-sources.md)");
  sub->add_option("-o,--output", a->output, "Table to write (default: MODEL with .cache)");
  {
    std::string names;
    for (const auto& c : calib::Calibrators())
      names += (names.empty() ? "" : ", ") + std::string(c.name) +
               (c.name == calib::kDefaultMethod ? " (default)" : "");
    sub->add_option("--method,-m", a->method, "Symmetric method for the table: " + names);
  }
  sub->add_option("--percentile", a->percentile,
                  "Percentile for --method percentile (default 99.99)");
  sub->add_option("--floor-percentile", a->floor_percentile,
                  "entropy2/entropy/mse/entropy2-floored: amax is at least this percentile of |x| "
                  "(default: off; 99.9 for entropy2-floored)");
  sub->add_option("--asym-search", a->asym_search,
                  "Choose each tensor's asymmetric range among p99.9, p99.99, p99.999 and "
                  "[min, max] by the error it causes on N samples chosen by content (default 32; "
                  "0: off, the fixed --asym-percentile ranges; docs/calibration.md)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--asym-search-at", a->asym_search_at,
                  "Where --asym-search measures that error: 'output' (default: the model's "
                  "outputs in the INT8 runtime, greedy over the tensors held in 8 bits) or "
                  "'consumers' (each tensor's Conv/Gemm/MatMul outputs; faster, less accurate)");
  sub->add_option("--asym-percentile", a->asym_percentile,
                  "Asymmetric [lo, hi] in the sidecar: each tail clips at most (100 - P)% of the "
                  "values (default 99.99)");
  sub->add_option("--entropy-threshold", a->threshold,
                  "entropy2: edge (default) or centre (GTC 2017)");
  sub->add_option("--zero-bin", a->zero_bin, "entropy2: replace (default) or keep");
  sub->add_option("--num-bins", a->num_bins, "Histogram bins (default 2048)");
  sub->add_option("--batch", a->batch, "Samples per inference (default 1)");
  sub->add_option("--max-samples", a->max_samples, "Use at most N samples (the first ones)");
  sub->add_option("--threads", a->threads, "Threads (default: all cores)");
  sub->add_option("--preprocess", a->preprocess,
                  "Preprocessing for images:DIR, e.g. resize=256,crop=224,"
                  "mean=0.485/0.456/0.406,std=0.229/0.224/0.225");
  sub->add_flag("--single-pass", a->single_pass,
                "One pass over the data (for streams that cannot be read twice); order-dependent");
  sub->add_option("--exclude", a->exclude, "Regex of tensor names to leave out (repeatable)");
  sub->add_option("--save-stats", a->save_stats,
                  "Also save the statistics (histograms; for merge-stats and compare --stats); "
                  "always recalibrates");
  sub->add_flag("--range-only", a->range_only,
                "Shards: run pass 1 only and save ranges (--save-stats)");
  sub->add_option("--ranges", a->ranges,
                  "Shards: use pass-1 ranges from this stats file, run pass 2");
  sub->add_option("--from-stats", a->from_stats,
                  "Compute the table from a stats file; give the same --data too for the "
                  "asymmetric range search (without it the sidecar gets the fixed ranges)");
  sub->add_flag(
      "--mpi", a->mpi,
      "Run as one rank of `mpiexec -n N calib8 calibrate ...`: rank r reads the r-th of N "
      "contiguous blocks of batches, ranges and histograms are reduced over MPI, rank 0 "
      "writes the table and sidecar (byte-identical to one process; docs/distributed.md)");
  sub->add_option(
      "--shard", a->shard,
      "I/N: read only shard I (0-based) of N contiguous blocks of batches and save its "
      "statistics (--save-stats): --range-only on every shard, merge-stats, --ranges on "
      "every shard, merge-stats, --from-stats (docs/distributed.md)");
  sub->add_option("--trt-version", a->trt_version,
                  "TensorRT version number for the header (default 8601)");
  {
    std::string names;
    for (const auto& n : calib::TrtCalibratorNames()) names += (names.empty() ? "" : ", ") + n;
    sub->add_option("--trt-calibrator,--algorithm", a->algorithm,
                    "TensorRT calibrator named in the cache header: " + names +
                        " (default: per method, EntropyCalibration2 except minmax -> "
                        "MinMaxCalibration, entropy -> EntropyCalibration)");
  }
  sub->add_flag("--force", a->force, "Recalibrate even if the existing table's fingerprints match");
  sub->add_flag("--quiet,-q", a->quiet, "No progress output (stderr)");
  sub->add_option("--max-drop", a->max_drop,
                  "Also run `calib8 sensitivity` on the first --plan-samples calibration samples "
                  "with the new table and write the keep-FP32 plan that keeps the top-1 "
                  "agreement drop within this many points (output SQNR >= 30 dB without a "
                  "classifier output): table + plan in one step");
  sub->add_option("--plan", a->plan_out,
                  "With --max-drop: the plan file (default TABLE.keep-fp32.txt)");
  sub->add_option("--plan-samples", a->plan_samples,
                  "With --max-drop: samples to measure on (default 200)");
  sub->add_option(
      "--report", a->report,
      "Also write a self-contained HTML report (histograms, thresholds, KL/MSE curves)");
  sub->add_option("--until", a->until,
                  "Partial calibration: only the subgraph that computes these tensors (T1,T2; "
                  "e.g. the part before a custom layer; docs/custom-layers.md)");
  sub->add_option("--from", a->from,
                  "Partial calibration: the subgraph fed by tensor T, with its values from SPEC "
                  "(T=SPEC, repeatable; e.g. recorded by `calib8 run --dump` or your runtime)");
}

// --mpi: refuses the options that cannot be combined with it.
static Status CheckMpiOptions(const CalibrateArgs& a) {
  if (a.mpi) {
    const char* clash = !a.shard.empty()        ? "--shard"
                        : a.range_only          ? "--range-only"
                        : !a.ranges.empty()     ? "--ranges"
                        : !a.from_stats.empty() ? "--from-stats"
                        : a.single_pass         ? "--single-pass"
                        : a.max_drop >= 0       ? "--max-drop"
                                                : nullptr;
    if (clash)
      return InvalidArgument("--mpi cannot be combined with ", clash,
                             a.max_drop >= 0 && std::string(clash) == "--max-drop"
                                 ? " (run calibrate --max-drop after it, on one machine: "
                                   "it reuses the table)"
                                 : "");
  }
  return Status::Ok();
}

// --shard I/N: parses it into *shard_index and *shard_count and checks what it needs.
static Status ParseShard(const CalibrateArgs& a, int* shard_index, int* shard_count) {
  if (a.shard.empty()) return Status::Ok();
  size_t slash = a.shard.find('/');
  size_t used_i = 0, used_n = 0;
  try {
    *shard_index = std::stoi(a.shard.substr(0, slash), &used_i);
    *shard_count = std::stoi(a.shard.substr(slash + 1), &used_n);
  } catch (...) {
    slash = std::string::npos;
  }
  if (slash == std::string::npos || used_i != slash || used_n != a.shard.size() - slash - 1 ||
      *shard_count < 1 || *shard_index < 0 || *shard_index >= *shard_count)
    return InvalidArgument("--shard '", a.shard, "': expected I/N with 0 <= I < N, e.g. 0/4");
  if (a.save_stats.empty())
    return InvalidArgument(
        "--shard needs --save-stats FILE (a shard's statistics "
        "are merged with merge-stats; docs/distributed.md)");
  if (*shard_count > 1 && !a.range_only && a.ranges.empty())
    return InvalidArgument(
        "--shard ", a.shard,
        " needs --range-only (round 1) or --ranges FILE (round 2): the "
        "histograms of every shard must be taken on the ranges of all shards merged "
        "(docs/distributed.md)");
  return Status::Ok();
}

// The library's options for this run: data, method parameters, shard and communicator.
static calib::CalibrateOptions CalibrateOptionsFor(const CalibrateArgs& a,
                                                   const std::vector<std::string>& data,
                                                   int shard_index, int shard_count,
                                                   stats::Comm* comm, bool partial) {
  calib::CalibrateOptions o;
  o.data_specs = data;
  o.preprocess = a.preprocess;
  o.max_samples = a.max_samples;
  o.batch = a.batch;
  o.threads = a.threads;
  o.method = a.method;
  o.num_bins = a.num_bins;
  o.single_pass = a.single_pass;
  o.exclude = a.exclude;
  o.range_only = a.range_only;
  o.want_curves = !a.report.empty();
  o.shard_index = shard_index;
  o.shard_count = shard_count;
  o.comm = comm;
  if (a.percentile >= 0) o.params["percentile"] = std::to_string(a.percentile);
  if (!a.threshold.empty()) o.params["threshold"] = a.threshold;
  if (!a.zero_bin.empty()) o.params["zero_bin"] = a.zero_bin;
  if (a.floor_percentile >= 0) o.params["floor_percentile"] = std::to_string(a.floor_percentile);
  if (a.asym_percentile >= 0) o.params["asym_percentile"] = std::to_string(a.asym_percentile);
  if (a.asym_search >= 0) o.params["asym_search"] = std::to_string(a.asym_search);
  if (!a.asym_search_at.empty()) o.params["asym_search_at"] = a.asym_search_at;
  // Partial calibration: a tensor's search scores it at its consumers, which may be in the other
  // part, on samples chosen by the content of this part's inputs; the parts would not merge
  // into the full table. Off unless asked for (docs/custom-layers.md).
  if (partial && a.asym_search < 0) o.params["asym_search"] = "0";
  return o;
}

// Reuse: an existing table whose sidecar matches model, data and method (not with --report or
// --save-stats, which need this run's histograms). Returns the exit code when the command is done
// (reused, or failed), nothing when it must calibrate; records the data fingerprint in `o`.
static std::optional<int> ReuseExistingTable(const CalibrateArgs& a, const ir::Graph& g,
                                             const std::string& out,
                                             const std::string& sidecar_path,
                                             calib::CalibrateOptions& o) {
  if (!a.force && a.report.empty() && a.save_stats.empty() && a.from_stats.empty() &&
      !a.range_only && !a.mpi && std::filesystem::exists(out)) {
    auto check = calib::CheckReuse(g, o, out);
    if (!check.ok()) return ReportError(check.status());
    if (check->reusable) {
      std::cout << "reusing " << out << ": model, data and method fingerprints match its sidecar "
                << sidecar_path << " (use --force to recalibrate)\n"
                << "table: " << check->stored.tensors.size() << " tensors, "
                << check->stored.method.name << " on " << check->stored.data.num_samples
                << " samples\ntable:   " << out << "\nsidecar: " << sidecar_path
                << "\nexplain it with: calib8 inspect " << out << "\n";
      return a.max_drop >= 0 ? WritePlan(a, g, out, o.data_specs, o.preprocess) : 0;
    }
    if (!check->sidecar_read)
      std::cout << "existing table " << out << " " << check->message << ": recalibrating\n";
    else
      std::cout << "not reusing " << out << ": " << check->message << "; recalibrating\n";
    o.data_fingerprint = check->data_fingerprint;  // the data are hashed once
  }
  return std::nullopt;
}

// `calib8 calibrate`: checks the options, calibrates (or reuses the table), writes the outputs.
static int RunCalibrate(const CalibrateArgs& a) {
  Status checked = CheckMpiOptions(a);
  if (!checked.ok()) return ReportError(checked);
  int shard_index = 0, shard_count = 1;
  Status sharded = ParseShard(a, &shard_index, &shard_count);
  if (!sharded.ok()) return ReportError(sharded);
  if (!a.shard.empty() && !a.from_stats.empty())
    return ReportError(InvalidArgument("--shard reads data; --from-stats reads none"));
  std::unique_ptr<stats::Comm> comm;
  if (a.mpi) {
    auto c = dist::InitMpi();
    if (!c.ok()) return ReportError(c.status());
    comm = std::move(c).value();
  }
  const bool root = !comm || comm->rank() == 0;
  auto g = runtime::LoadModel(a.model);
  if (comm) {
    Status s = comm->Agree(g.status());
    if (!s.ok()) return ReportError(s);
  }
  if (!g.ok()) return ReportError(g.status());
  std::vector<std::string> data = a.data;
  const bool partial = !a.until.empty() || !a.from.empty();
  ir::Graph full;
  if (partial) {
    full = *g;
    Status s = ApplyPartial(a, *g, data);
    if (!s.ok()) return ReportError(s);
  }
  std::string out = a.output;
  if (out.empty()) out = std::filesystem::path(a.model).replace_extension(".cache").string();
  std::string sidecar_path = table::SidecarPathFor(out);
  calib::CalibrateOptions o =
      CalibrateOptionsFor(a, data, shard_index, shard_count, comm.get(), partial);
  if (!a.algorithm.empty()) {
    Status s = calib::CheckTrtCalibrator(a.algorithm);
    if (!s.ok()) return ReportError(s.WithContext("--trt-calibrator"));
  }
  core::ProgressReporter progress(core::DefaultProgressStyle(a.quiet || !root));
  o.progress = ToCalibrateProgress(progress);
  o.hashing_progress = progress.Callback();
  o.search_progress = progress.Callback();
  if (a.range_only && a.save_stats.empty())
    return ReportError(InvalidArgument("--range-only needs --save-stats FILE"));
  if (std::optional<int> rc = ReuseExistingTable(a, *g, out, sidecar_path, o)) return *rc;

  Result<calib::CalibrationResult> r = InvalidArgument("unreachable");
  if (!a.from_stats.empty()) {
    auto st = stats::LoadStats(a.from_stats);
    if (!st.ok()) return ReportError(st.status());
    r = calib::CalibrateFromStats(*g, std::move(st).value(), o);
  } else {
    stats::StatsState ranges;
    if (!a.ranges.empty()) {
      auto st = stats::LoadStats(a.ranges);
      if (!st.ok()) return ReportError(st.status());
      ranges = std::move(st).value();
      for (auto& [n, rec] : ranges.tensors) rec.hist = stats::AbsHistogram();
      ranges.samples = 0;
      o.ranges = &ranges;
    }
    r = calib::Calibrate(*g, o);
  }
  progress.Finish();
  if (!r.ok()) return ReportError(r.status().WithContext("calibrate '" + a.model + "'"));
  if (comm) {
    // Every rank has the same outcome so far; rank 0 writes, then all learn whether it could.
    Status s = root ? WriteOutputs(a, *g, *r, o, out, sidecar_path, partial ? &full : nullptr)
                    : Status::Ok();
    s = comm->Agree(s);
    return s.ok() ? 0 : ReportError(s);
  }
  if (shard_count > 1 || a.range_only) {
    Status s = stats::SaveStats(r->stats, a.save_stats);
    if (!s.ok()) return ReportError(s);
    std::cout << "statistics: " << a.save_stats;
    if (shard_count > 1)
      std::cout << " (shard " << shard_index << " of " << shard_count << ": samples "
                << r->shard_first << "-" << r->shard_end - 1 << ", "
                << (a.range_only ? "ranges" : "histograms") << ")";
    std::cout << "\n";
    return 0;
  }
  Status s = WriteOutputs(a, *g, *r, o, out, sidecar_path, partial ? &full : nullptr);
  if (!s.ok()) return ReportError(s);
  if (a.max_drop >= 0 && a.from_stats.empty())
    return WritePlan(a, *g, out, o.data_specs, o.preprocess);
  return 0;
}

Command AddCalibrateCommand(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "calibrate",
      "Run calibration data through a model and write a TensorRT calibration cache "
      "plus a JSON sidecar (fingerprints, method, statistics)");
  auto a = std::make_shared<CalibrateArgs>();
  DeclareCalibrateOptions(sub, a.get());
  return [a]() -> int { return RunCalibrate(*a); };
}

Command AddMergeStatsCommand(CLI::App& app) {
  auto* sub = app.add_subcommand("merge-stats",
                                 "Merge statistics files of data shards (calibrate --save-stats)");
  struct Opts {
    std::vector<std::string> inputs;
    std::string output;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("STATS", o->inputs, "Statistics files")->required()->expected(1, -1);
  sub->add_option("-o,--output", o->output, "Merged statistics file")->required();
  return [o]() -> int {
    stats::StatsState merged;
    for (size_t i = 0; i < o->inputs.size(); ++i) {
      auto st = stats::LoadStats(o->inputs[i]);
      if (!st.ok()) return ReportError(st.status());
      if (i == 0) {
        merged = std::move(st).value();
        continue;
      }
      Status s = merged.Merge(*st);
      if (!s.ok()) return ReportError(s.WithContext("merging '" + o->inputs[i] + "'"));
    }
    Status s = stats::SaveStats(merged, o->output);
    if (!s.ok()) return ReportError(s);
    std::cout << "merged " << o->inputs.size() << " files (" << merged.samples << " samples, "
              << merged.tensors.size() << " tensors";
    if (merged.data.shard_count > 0)
      std::cout << "; " << merged.data.ShardText()
                << (merged.data.complete() ? ", all of them" : ": not all yet");
    std::cout << ") into " << o->output << "\n";
    return 0;
  };
}

}  // namespace calib8::cli
