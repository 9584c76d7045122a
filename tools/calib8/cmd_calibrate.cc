// tools/calib8/cmd_calibrate.cc — `calib8 calibrate MODEL --data SPEC [--method
// M] [-o TABLE]` and `calib8 merge-stats A B ... -o OUT`: option parsing and
// printing over calib8::Calibrate, MergeStats and PlanKeepFp32
// (calib8/calibrate.h).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <optional>
#include <set>

#include "calib8/calibrate.h"
#include "calib8/progress.h"
#include "commands.h"

namespace calib8::cli {

namespace {

struct CalibrateArgs {
  std::string model;
  std::vector<std::string> data;
  std::string output;
  std::string method = DefaultMethod();
  std::string preprocess;
  int64_t max_samples = 0;
  int batch = 1;
  int threads = 0;
  int num_bins = 2048;
  double percentile = -1;
  double floor_percentile = -1;
  double asym_percentile = -1;
  int asym_search = -1;  // -1: the library's default
  int sym_search = -1;   // -1: the library's default
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
  std::vector<std::string> until,
      from;  // partial calibration (docs/custom-layers.md)
};

// --until T1,T2 and --from T=SPEC (repeatable): the subgraph to calibrate; each
// --from SPEC becomes the data of the new input T.
Result<Model> ApplyPartial(const CalibrateArgs& a, const Model& model,
                           std::vector<std::string>& data) {
  std::vector<std::string> until, from;
  for (const auto& u : a.until) {
    size_t start = 0;
    while (start <= u.size()) {
      size_t comma = u.find(',', start);
      if (comma == std::string::npos) comma = u.size();
      until.push_back(u.substr(start, comma - start));
      start = comma + 1;
    }
  }
  for (const auto& f : a.from) {
    size_t eq = f.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == f.size())
      return InvalidArgument("--from '", f,
                             "': expected TENSOR=SPEC (the tensor's recorded values, "
                             "e.g. a .npy from `calib8 run --dump`)");
    from.push_back(f.substr(0, eq));
    data.push_back(f);
  }
  return model.Subgraph(until, from);
}

// After a partial calibration: which tensors of the whole model this table
// leaves without a scale, so that the parts can be checked before `merge`.
void PrintPartialCoverage(const Model& full, const CalibrationSummary& r) {
  std::set<std::string> have;
  for (const auto& t : r.ranges) have.insert(t.name);
  std::vector<std::string> missing;
  auto consider = [&](const std::string& name) {
    auto info = full.FindTensor(name);
    bool is_float = !info || info->type == DataType::kFloat32 || info->type == DataType::kUndefined;
    if (!name.empty() && is_float && !have.count(name) &&
        std::find(missing.begin(), missing.end(), name) == missing.end())
      missing.push_back(name);
  };
  for (const auto& in : full.inputs()) consider(in.name);
  for (const auto& n : full.nodes())
    for (const auto& o : n.outputs) consider(o);
  std::cout << "partial: " << r.ranges.size() << " tensors calibrated, " << missing.size()
            << " tensor(s) of the whole model left to the other part(s)";
  for (size_t i = 0; i < missing.size() && i < 8; ++i) std::cout << (i ? ", " : ": ") << missing[i];
  if (missing.size() > 8) std::cout << " and " << missing.size() - 8 << " more";
  std::cout << "\n         join the parts with: calib8 merge PART1 PART2 ... "
               "-o TABLE\n";
}

void PrintSummary(const CalibrationSummary& r) {
  size_t zero = 0;
  double lo = INFINITY, hi = 0;
  for (const auto& t : r.ranges) {
    if (t.amax == 0)
      ++zero;
    else {
      lo = std::min(lo, t.amax);
      hi = std::max(hi, t.amax);
    }
  }
  std::cout << "calibrated " << r.ranges.size() << " tensors on " << r.samples << " samples with "
            << r.method;
  if (!r.variant.empty()) std::cout << " (" << r.variant << ")";
  std::cout << std::fixed << std::setprecision(2) << " in " << r.seconds << " s\n";
  if (!r.ranges.empty() && zero < r.ranges.size())
    std::cout << "amax range: " << std::setprecision(4) << lo << " .. " << hi << "\n";
  // The five tensors whose clipping cut the most of the observed range.
  std::vector<const TensorRange*> sorted;
  for (const auto& t : r.ranges)
    if (t.observed_absmax > 0) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) {
    return a->amax / a->observed_absmax < b->amax / b->observed_absmax;
  });
  if (!sorted.empty()) std::cout << "most clipped (amax / observed max|x|):\n";
  for (size_t i = 0; i < sorted.size() && i < 5; ++i)
    std::cout << "  " << std::setw(6) << std::setprecision(3)
              << sorted[i]->amax / sorted[i]->observed_absmax << "  " << sorted[i]->name
              << "  (amax " << std::setprecision(4) << sorted[i]->amax << ", max|x| "
              << sorted[i]->observed_absmax << ")\n";
  for (const auto& n : r.notes) std::cout << n << "\n";
  for (size_t i = 0; i + (r.clip_warning.empty() ? 0 : 1) < r.warnings.size(); ++i)
    std::cout << "warning: " << r.warnings[i] << "\n";
  std::cout << "table:   " << r.table_path << "\nsidecar: " << r.sidecar_path
            << "\nexplain it with: calib8 inspect " << r.table_path << "\n";
}

}  // namespace

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

// --shard I/N: parses it into *shard_index and *shard_count and checks what it
// needs.
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
    return InvalidArgument("--shard ", a.shard,
                           " needs --range-only (round 1) or --ranges FILE (round 2): the "
                           "histograms of every shard must be taken on the ranges of all shards "
                           "merged "
                           "(docs/distributed.md)");
  return Status::Ok();
}

static void DeclareOutputOptions(CLI::App* sub, CalibrateArgs* a);

// --sym-search / --asym-search: 0 (off) or a number of samples. (CLI::NonNegativeNumber's message
// names a range up to 1.8e308.)
static std::string SearchSamplesCheck(std::string& text) {
  int n = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, n);
  if (ec != std::errc() || p != end || n < 0)
    return "expected 0 (off) or a number of samples, got '" + text + "'";
  return "";
}

// Declares the options of `calib8 calibrate` on `sub`, stored in `a`.
static void DeclareCalibrateOptions(CLI::App* sub, CalibrateArgs* a) {
  sub->add_option("MODEL", a->model, "ONNX model file")->required();
  sub->add_option("--data,-d", a->data,
                  "Calibration data: FILE.npy (first axis = samples), DIR of .npy/.pb, "
                  "idx:FILE[.gz], images:DIR[@PREPROCESS]; NAME=SPEC per input "
                  "(docs/data-sources.md)");
  sub->add_option("-o,--output", a->output, "Table to write (default: MODEL with .cache)");
  {
    std::string names;
    for (const auto& c : Methods())
      names +=
          (names.empty() ? "" : ", ") + c.name + (c.name == DefaultMethod() ? " (default)" : "");
    sub->add_option("--method,-m", a->method, "Symmetric method for the table: " + names);
  }
  sub->add_option("--percentile", a->percentile,
                  "Percentile for --method percentile (default 99.99)");
  sub->add_option("--floor-percentile", a->floor_percentile,
                  "entropy2/entropy/mse/entropy2-floored: amax is at least "
                  "this percentile of |x| "
                  "(default: off; 99.9 for entropy2-floored)");
  sub->add_option("--asym-search", a->asym_search,
                  "Choose each tensor's asymmetric range among p99.9, p99.99, p99.999 "
                  "and "
                  "[min, max] by the error it causes on N samples chosen by content "
                  "(default 32; "
                  "0: off, the fixed --asym-percentile ranges; docs/calibration.md)")
      ->check(CLI::Validator(SearchSamplesCheck, "N >= 0"));
  sub->add_option("--sym-search", a->sym_search,
                  "Choose each tensor's symmetric scale (the table's, what TensorRT runs) among "
                  "the method's and p99.9, p99.99, p99.999 and max of |x| by the error it "
                  "causes at the model's outputs in TensorRT mode on N samples chosen by content "
                  "(default 64, at most 4M input elements in all; 0: off, the method's own "
                  "scales; docs/calibration.md)")
      ->check(CLI::Validator(SearchSamplesCheck, "N >= 0"));
  sub->add_option("--asym-search-at", a->asym_search_at,
                  "Where --asym-search measures that error: 'output' (default: the model's "
                  "outputs in the INT8 runtime, greedy over the tensors held in 8 bits) or "
                  "'consumers' (each tensor's Conv/Gemm/MatMul outputs; faster, less "
                  "accurate)");
  sub->add_option("--asym-percentile", a->asym_percentile,
                  "Asymmetric [lo, hi] in the sidecar: each tail clips at most "
                  "(100 - P)% of the "
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
                "One pass over the data (for streams that cannot be read "
                "twice); order-dependent");
  sub->add_option("--exclude", a->exclude, "Regex of tensor names to leave out (repeatable)");
  DeclareOutputOptions(sub, a);
}

// The statistics, distribution, header, plan, report and partial options of `calibrate`.
static void DeclareOutputOptions(CLI::App* sub, CalibrateArgs* a) {
  sub->add_option("--save-stats", a->save_stats,
                  "Also save the statistics (histograms; for merge-stats and "
                  "compare --stats); "
                  "always recalibrates");
  sub->add_flag("--range-only", a->range_only,
                "Shards: run pass 1 only and save ranges (--save-stats)");
  sub->add_option("--ranges", a->ranges,
                  "Shards: use pass-1 ranges from this stats file, run pass 2");
  sub->add_option("--from-stats", a->from_stats,
                  "Compute the table from a stats file; give the same --data too for the "
                  "asymmetric range search (without it the sidecar gets the fixed ranges)");
  sub->add_flag("--mpi", a->mpi,
                "Run as one rank of `mpiexec -n N calib8 calibrate ...`: rank "
                "r reads the r-th of N "
                "contiguous blocks of batches, ranges and histograms are "
                "reduced over MPI, rank 0 "
                "writes the table and sidecar (byte-identical to one process; "
                "docs/distributed.md)");
  sub->add_option("--shard", a->shard,
                  "I/N: read only shard I (0-based) of N contiguous blocks of batches and "
                  "save its "
                  "statistics (--save-stats): --range-only on every shard, merge-stats, "
                  "--ranges on "
                  "every shard, merge-stats, --from-stats (docs/distributed.md)");
  sub->add_option("--trt-version", a->trt_version,
                  "TensorRT version number for the header (default 8601)");
  {
    std::string names;
    for (const auto& n : TrtCalibrators()) names += (names.empty() ? "" : ", ") + n;
    sub->add_option("--trt-calibrator,--algorithm", a->algorithm,
                    "TensorRT calibrator named in the cache header: " + names +
                        " (default: per method, EntropyCalibration2 except minmax -> "
                        "MinMaxCalibration, entropy -> EntropyCalibration)");
  }
  sub->add_flag("--force", a->force, "Recalibrate even if the existing table's fingerprints match");
  sub->add_flag("--quiet,-q", a->quiet, "No progress output (stderr)");
  sub->add_option("--max-drop", a->max_drop,
                  "Also run `calib8 sensitivity` on the first --plan-samples calibration "
                  "samples "
                  "with the new table and write the keep-FP32 plan that keeps the top-1 "
                  "agreement drop within this many points (output SQNR >= 30 dB without a "
                  "classifier output): table + plan in one step");
  sub->add_option("--plan", a->plan_out,
                  "With --max-drop: the plan file (default TABLE.keep-fp32.txt)");
  sub->add_option("--plan-samples", a->plan_samples,
                  "With --max-drop: samples to measure on (default 200)");
  sub->add_option("--report", a->report,
                  "Also write a self-contained HTML report (histograms, "
                  "thresholds, KL/MSE curves)");
  sub->add_option("--until", a->until,
                  "Partial calibration: only the subgraph that computes these tensors "
                  "(T1,T2; "
                  "e.g. the part before a custom layer; docs/custom-layers.md)");
  sub->add_option("--from", a->from,
                  "Partial calibration: the subgraph fed by tensor T, with its "
                  "values from SPEC "
                  "(T=SPEC, repeatable; e.g. recorded by `calib8 run --dump` "
                  "or your runtime)");
}

// calibrate --max-drop: the sensitivity plan for the table just written (or
// reused), measured on the first --plan-samples calibration samples with the
// encoding `run --int8` will use.
static int WritePlan(const CalibrateArgs& a, const Model& model, const std::string& table_path,
                     const std::vector<std::string>& data_specs) {
  KeepFp32PlanOptions po;
  po.max_drop = a.max_drop;
  po.data = data_specs;
  po.preprocess = a.preprocess;
  po.samples = a.plan_samples;
  po.threads = a.threads;
  po.path = a.plan_out;
  ProgressReporter progress(DefaultProgressStyle(a.quiet));
  po.progress = progress.Callback();
  KeepFp32Plan p;
  Status s = PlanKeepFp32(model, table_path, po, &p);
  progress.Finish();
  for (const auto& c : p.range_changes)
    std::printf(
        "range:   %s [%.4g, %.4g] -> [%.4g, %.4g] (%s %.2f -> %.2f), "
        "written to the %s\n",
        c.tensor.c_str(), c.lo_before, c.hi_before, c.lo, c.hi, p.metric.c_str(), c.score_before,
        c.score, c.asymmetric ? "sidecar" : "table");
  if (!s.ok())
    return ReportError(p.measuring && !p.measured ? s.WithContext("calibrate --max-drop") : s);
  char score[64];
  std::snprintf(score, sizeof score, "%.2f, FP32 %.2f", p.score, p.fp32_score);
  std::cout << "plan:    " << p.path << " (" << p.keep.size() << " tensor(s) kept FP32; "
            << p.metric << " " << score << (p.met ? ": meets" : ": does NOT meet") << " --max-drop "
            << a.max_drop << "; " << p.table_note << "; use it with --keep-fp32)\n";
  return 0;
}

// The library's options for this run: data, method parameters, shard and
// communicator.
static CalibrateOptions CalibrateOptionsFor(const CalibrateArgs& a,
                                            const std::vector<std::string>& data, int shard_index,
                                            int shard_count, const Mpi* mpi, bool partial) {
  CalibrateOptions o;
  o.data = data;
  o.preprocess = a.preprocess;
  o.max_samples = a.max_samples;
  o.batch = a.batch;
  o.threads = a.threads;
  o.method = a.method;
  o.num_bins = a.num_bins;
  o.single_pass = a.single_pass;
  o.exclude = a.exclude;
  o.range_only = a.range_only;
  o.shard_index = shard_index;
  o.shard_count = shard_count;
  o.mpi = mpi;
  o.trt_calibrator = a.algorithm;
  o.trt_version = a.trt_version;
  o.force = a.force;
  o.save_stats = a.save_stats;
  o.report = a.report;
  o.from_stats = a.from_stats;
  o.ranges = a.ranges;
  if (a.percentile >= 0) o.params["percentile"] = std::to_string(a.percentile);
  if (!a.threshold.empty()) o.params["threshold"] = a.threshold;
  if (!a.zero_bin.empty()) o.params["zero_bin"] = a.zero_bin;
  if (a.floor_percentile >= 0) o.params["floor_percentile"] = std::to_string(a.floor_percentile);
  if (a.asym_percentile >= 0) o.params["asym_percentile"] = std::to_string(a.asym_percentile);
  if (a.asym_search >= 0) o.params["asym_search"] = std::to_string(a.asym_search);
  if (!a.asym_search_at.empty()) o.params["asym_search_at"] = a.asym_search_at;
  if (a.sym_search >= 0) o.params["sym_search"] = std::to_string(a.sym_search);
  // Partial calibration: a tensor's search scores it at its consumers, which
  // may be in the other part, on samples chosen by the content of this part's
  // inputs; the parts would not merge into the full table. Off unless asked for
  // (docs/custom-layers.md).
  if (partial && a.asym_search < 0) o.params["asym_search"] = "0";
  if (partial && a.sym_search < 0) o.params["sym_search"] = "0";
  return o;
}

// Prints what Calibrate did, in the order it did it (also when a later step
// failed).
static void PrintSteps(const CalibrateArgs& a, const CalibrationSummary& r, int shard_index,
                       int shard_count, const Model* full) {
  if (r.reused) {
    std::cout << "reusing " << r.table_path
              << ": model, data and method fingerprints match its sidecar " << r.sidecar_path
              << " (use --force to recalibrate)\n"
              << "table: " << r.tensors << " tensors, " << r.method << " on " << r.samples
              << " samples\ntable:   " << r.table_path << "\nsidecar: " << r.sidecar_path
              << "\nexplain it with: calib8 inspect " << r.table_path << "\n";
    return;
  }
  if (r.existed && !r.sidecar_read)
    std::cout << "existing table " << r.table_path << " " << r.note << ": recalibrating\n";
  else if (r.existed)
    std::cout << "not reusing " << r.table_path << ": " << r.note << "; recalibrating\n";
  if (!r.table_written && (shard_count > 1 || a.range_only)) {
    if (r.stats_path.empty()) return;
    std::cout << "statistics: " << r.stats_path;
    if (shard_count > 1)
      std::cout << " (shard " << shard_index << " of " << shard_count << ": samples "
                << r.shard_first << "-" << r.shard_end - 1 << ", "
                << (a.range_only ? "ranges" : "histograms") << ")";
    std::cout << "\n";
    return;
  }
  if (!r.stats_path.empty()) std::cout << "statistics: " << r.stats_path << "\n";
  if (!r.table_written) return;
  PrintSummary(r);
  if (full) PrintPartialCoverage(*full, r);
  if (r.ranks > 0) {
    std::printf(
        "mpi:     %d ranks; rank 0 read samples %lld-%lld; per rank "
        "the pass-1 all-reduce "
        "moved %lld bytes, the pass-2 reduction %lld bytes\n",
        r.ranks, static_cast<long long>(r.shard_first), static_cast<long long>(r.shard_end - 1),
        static_cast<long long>(r.reduce_bytes_pass1), static_cast<long long>(r.reduce_bytes_pass2));
    std::fflush(stdout);
  }
  if (!r.clip_warning.empty()) std::cerr << "calib8: warning: " << r.clip_warning << "\n";
  if (!r.report_path.empty()) std::cout << "report:  " << r.report_path << "\n";
}

// The checks of the options that need no model: --mpi clashes, --shard, --shard
// + --from-stats.
static Status CheckOptions(const CalibrateArgs& a, int* shard_index, int* shard_count) {
  CALIB8_RETURN_IF_ERROR(CheckMpiOptions(a));
  CALIB8_RETURN_IF_ERROR(ParseShard(a, shard_index, shard_count));
  if (!a.shard.empty() && !a.from_stats.empty())
    return InvalidArgument("--shard reads data; --from-stats reads none");
  return Status::Ok();
}

// `calib8 calibrate`: checks the options, calibrates (or reuses the table),
// prints the outputs.
static int RunCalibrate(const CalibrateArgs& a) {
  int shard_index = 0, shard_count = 1;
  Status checked = CheckOptions(a, &shard_index, &shard_count);
  if (!checked.ok()) return ReportError(checked);
  std::optional<Mpi> mpi;
  if (a.mpi) {
    auto m = Mpi::Init();
    if (!m.ok()) return ReportError(m.status());
    mpi = std::move(m).value();
  }
  const bool root = !mpi || mpi->rank() == 0;
  auto model = Model::Load(a.model);
  if (mpi) {
    Status s = mpi->Agree(model.status());
    if (!s.ok()) return ReportError(s);
  }
  if (!model.ok()) return ReportError(model.status());
  std::vector<std::string> data = a.data;
  const bool partial = !a.until.empty() || !a.from.empty();
  Model part = *model;
  if (partial) {
    auto p = ApplyPartial(a, *model, data);
    if (!p.ok()) return ReportError(p.status());
    part = std::move(p).value();
  }
  std::string out = a.output;
  if (out.empty()) out = std::filesystem::path(a.model).replace_extension(".cache").string();
  CalibrateOptions o =
      CalibrateOptionsFor(a, data, shard_index, shard_count, mpi ? &*mpi : nullptr, partial);
  if (!a.algorithm.empty()) {
    Status s = CheckTrtCalibrator(a.algorithm);
    if (!s.ok()) return ReportError(s.WithContext("--trt-calibrator"));
  }
  ProgressReporter progress(DefaultProgressStyle(a.quiet || !root));
  o.progress = progress.Callback();
  if (a.range_only && a.save_stats.empty())
    return ReportError(InvalidArgument("--range-only needs --save-stats FILE"));
  CalibrationSummary r;
  Status s = Calibrate(part, o, out, &r);
  if (!r.reused) progress.Finish();
  if (root) PrintSteps(a, r, shard_index, shard_count, partial ? &*model : nullptr);
  if (!s.ok()) return ReportError(s);
  if (mpi || shard_count > 1 || a.range_only) return 0;
  if (a.max_drop >= 0 && (r.reused || a.from_stats.empty())) return WritePlan(a, part, out, data);
  return 0;
}

Command AddCalibrateCommand(CLI::App& app) {
  auto* sub = app.add_subcommand("calibrate",
                                 "Run calibration data through a model and write a TensorRT "
                                 "calibration cache "
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
    auto merged = MergeStats(o->inputs, o->output);
    if (!merged.ok()) return ReportError(merged.status());
    std::cout << "merged " << o->inputs.size() << " files (" << merged->samples << " samples, "
              << merged->tensors << " tensors";
    if (merged->sharded)
      std::cout << "; " << merged->shards << (merged->complete ? ", all of them" : ": not all yet");
    std::cout << ") into " << o->output << "\n";
    return 0;
  };
}

}  // namespace calib8::cli
