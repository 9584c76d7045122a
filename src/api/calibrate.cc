// api/calibrate.cc — calib8::Calibrate and the rest of calib8/calibrate.h over the calib module:
// the reuse check, the calibration driver and the table + sidecar writer `calib8 calibrate`
// uses (calib/table_files.h), statistics files and shards (stats/stats_io.h), MPI
// (dist/mpi_comm.h), the HTML report and the keep-FP32 plan (eval/).
#include "calib8/calibrate.h"

#include <filesystem>

#include "api/access.h"
#include "calib/calibrate.h"
#include "calib/calibrator.h"
#include "calib/table_files.h"
#include "core/file_util.h"
#include "dist/mpi_comm.h"
#include "eval/calibration_report.h"
#include "eval/sensitivity.h"
#include "runtime/engine.h"
#include "runtime/int8_engine.h"
#include "stats/stats_io.h"

namespace calib8 {

namespace detail {
struct MpiImpl {
  std::unique_ptr<stats::Comm> comm;
  static stats::Comm* CommOf(const Mpi* m) { return m ? m->impl_->comm.get() : nullptr; }
  static Mpi Wrap(std::unique_ptr<stats::Comm> c) {
    Mpi m;
    m.impl_ = std::make_shared<MpiImpl>();
    m.impl_->comm = std::move(c);
    return m;
  }
};
}  // namespace detail

Result<Mpi> Mpi::Init() {
  CALIB8_ASSIGN_OR_RETURN(std::unique_ptr<stats::Comm> c, dist::InitMpi());
  return detail::MpiImpl::Wrap(std::move(c));
}
int Mpi::rank() const { return impl_->comm->rank(); }
int Mpi::size() const { return impl_->comm->size(); }
Status Mpi::Agree(const Status& local) const { return impl_->comm->Agree(local); }

std::vector<MethodInfo> Methods() {
  std::vector<MethodInfo> out;
  for (const auto& c : calib::Calibrators())
    out.push_back({std::string(c.name), std::string(c.summary)});
  return out;
}

std::string DefaultMethod() { return std::string(calib::kDefaultMethod); }

std::vector<std::string> TrtCalibrators() { return calib::TrtCalibratorNames(); }
Status CheckTrtCalibrator(const std::string& name) { return calib::CheckTrtCalibrator(name); }

namespace {

// calib::CalibrateProgress -> the public update: "calibrate pass 1/2 (ranges)".
calib::CalibrateProgressFn ToCalibrateProgress(const ProgressCallback& cb) {
  if (!cb) return {};
  return [cb](const calib::CalibrateProgress& p) {
    std::string stage = "calibrate pass " + std::to_string(p.pass) + "/" + std::to_string(p.passes);
    if (p.passes == 2) stage += p.pass == 1 ? " (ranges)" : " (histograms)";
    cb({stage, p.done, p.total, "samples", ""});
  };
}

calib::CalibrateOptions ToCalibOptions(const CalibrateOptions& options) {
  calib::CalibrateOptions o;
  o.data_specs = options.data;
  o.preprocess = options.preprocess;
  o.max_samples = options.max_samples;
  o.batch = options.batch;
  o.threads = options.threads;
  if (!options.method.empty()) o.method = options.method;
  o.params = options.params;
  o.num_bins = options.num_bins;
  o.single_pass = options.single_pass;
  o.exclude = options.exclude;
  o.range_only = options.range_only;
  o.want_curves = !options.report.empty();
  o.shard_index = options.shard_index;
  o.shard_count = options.shard_count;
  o.comm = detail::MpiImpl::CommOf(options.mpi);
  o.progress = ToCalibrateProgress(options.progress);
  o.hashing_progress = options.progress;
  o.search_progress = options.progress;
  return o;
}

bool MayReuse(const CalibrateOptions& o) {
  return !o.force && o.report.empty() && o.save_stats.empty() && o.from_stats.empty() &&
         !o.range_only && !o.mpi;
}

// The reuse check: fills `s`; true when the table at the path is current.
Result<bool> CheckReuse(const ir::Graph& graph, calib::CalibrateOptions& o,
                        const std::string& table_path, CalibrationSummary* s) {
  CALIB8_ASSIGN_OR_RETURN(calib::ReuseCheck check, calib::CheckReuse(graph, o, table_path));
  s->existed = check.exists;
  s->sidecar_read = check.sidecar_read;
  s->note = check.message;
  if (check.reusable) {
    s->reused = true;
    s->tensors = check.stored.tensors.size();
    s->samples = check.stored.data.num_samples;
    s->method = check.stored.method.name;
    return true;
  }
  o.data_fingerprint = check.data_fingerprint;  // the data are hashed once
  return false;
}

// The statistics files: --from-stats into `from`, or the pass-1 --ranges into `ranges` (their
// histograms dropped) and o.ranges.
Status LoadStatsFiles(const CalibrateOptions& options, calib::CalibrateOptions& o,
                      stats::StatsState* from, stats::StatsState* ranges) {
  if (!options.from_stats.empty()) {
    CALIB8_ASSIGN_OR_RETURN(*from, stats::LoadStats(options.from_stats));
  } else if (!options.ranges.empty()) {
    CALIB8_ASSIGN_OR_RETURN(*ranges, stats::LoadStats(options.ranges));
    for (auto& [n, rec] : ranges->tensors) rec.hist = stats::AbsHistogram();
    ranges->samples = 0;
    o.ranges = ranges;
  }
  return Status::Ok();
}

void Summarize(const calib::CalibrationResult& r, CalibrationSummary* s) {
  s->tensors = r.tensors.size();
  s->samples = r.stats.samples;
  s->method = r.method.name;
  auto variant = r.method.parameters.find("variant");
  if (variant != r.method.parameters.end()) s->variant = variant->second;
  for (const auto& t : r.tensors)
    s->ranges.push_back({t.name, t.result.amax, t.record ? t.record->range.absmax : 0.0});
  s->notes = r.notes;
  s->warnings = r.warnings;
  s->clip_warning = r.clip_warning;
  if (!r.clip_warning.empty()) s->warnings.push_back(r.clip_warning);
  s->seconds = r.seconds_pass1 + r.seconds_pass2;
  s->shard_first = r.shard_first;
  s->shard_end = r.shard_end;
  s->reduce_bytes_pass1 = r.reduce_bytes_pass1;
  s->reduce_bytes_pass2 = r.reduce_bytes_pass2;
}

// The files of a finished calibration, in order: statistics, sidecar + table, report.
Status WriteOutputs(const Model& model, const CalibrateOptions& options,
                    const calib::CalibrationResult& r, const std::string& table_path,
                    CalibrationSummary* s) {
  if (!options.save_stats.empty()) {
    CALIB8_RETURN_IF_ERROR(stats::SaveStats(r.stats, options.save_stats));
    s->stats_path = options.save_stats;
  }
  calib::TableFilesOptions fo;
  fo.model_file = model.path();
  fo.trt_calibrator = options.trt_calibrator;
  fo.trt_version = options.trt_version;
  CALIB8_RETURN_IF_ERROR(
      calib::WriteTableFiles(r, detail::Access::GraphOf(model), table_path, fo).status());
  s->table_written = true;
  if (!options.report.empty()) {
    namespace fs = std::filesystem;
    auto in = eval::CalibrationReportInput(r, fs::path(model.path()).filename().string(),
                                           fs::path(table_path).filename().string());
    CALIB8_RETURN_IF_ERROR(core::WriteFileAtomic(options.report, eval::RenderHtmlReport(in)));
    s->report_path = options.report;
  }
  return Status::Ok();
}

}  // namespace

Status Calibrate(const Model& model, const CalibrateOptions& options, const std::string& table_path,
                 CalibrationSummary* summary) {
  CalibrationSummary& s = *summary;
  s = CalibrationSummary();
  s.table_path = table_path;
  s.sidecar_path = table::SidecarPathFor(table_path);
  const ir::Graph& graph = detail::Access::GraphOf(model);
  if (!options.trt_calibrator.empty())
    CALIB8_RETURN_IF_ERROR(
        calib::CheckTrtCalibrator(options.trt_calibrator).WithContext("trt_calibrator"));
  calib::CalibrateOptions o = ToCalibOptions(options);
  if (MayReuse(options)) {
    CALIB8_ASSIGN_OR_RETURN(bool reused, CheckReuse(graph, o, table_path, &s));
    if (reused) return Status::Ok();
  }
  stats::StatsState from, ranges;
  CALIB8_RETURN_IF_ERROR(LoadStatsFiles(options, o, &from, &ranges));
  auto r = options.from_stats.empty() ? calib::Calibrate(graph, o)
                                      : calib::CalibrateFromStats(graph, std::move(from), o);
  if (!r.ok()) return r.status().WithContext("calibrate '" + model.path() + "'");
  Summarize(*r, &s);
  if (options.mpi) {
    // Every rank has the same outcome so far; rank 0 writes, then all learn whether it could.
    s.ranks = options.mpi->size();
    s.root = options.mpi->rank() == 0;
    Status w = s.root ? WriteOutputs(model, options, *r, table_path, &s) : Status::Ok();
    return options.mpi->Agree(w);
  }
  if (options.shard_count > 1 || options.range_only) {
    CALIB8_RETURN_IF_ERROR(stats::SaveStats(r->stats, options.save_stats));
    s.stats_path = options.save_stats;
    return Status::Ok();
  }
  return WriteOutputs(model, options, *r, table_path, &s);
}

Result<CalibrationSummary> Calibrate(const Model& model, const CalibrateOptions& options,
                                     const std::string& table_path) {
  if (options.data.empty() && options.from_stats.empty())
    return InvalidArgument("calibrate '", model.path(),
                           "': no data: CalibrateOptions::data is empty");
  CalibrationSummary s;
  CALIB8_RETURN_IF_ERROR(Calibrate(model, options, table_path, &s));
  return s;
}

Result<MergedStats> MergeStats(const std::vector<std::string>& inputs, const std::string& output) {
  if (inputs.empty()) return InvalidArgument("merge-stats: no statistics files to merge");
  stats::StatsState merged;
  for (size_t i = 0; i < inputs.size(); ++i) {
    CALIB8_ASSIGN_OR_RETURN(stats::StatsState st, stats::LoadStats(inputs[i]));
    if (i == 0) {
      merged = std::move(st);
      continue;
    }
    CALIB8_RETURN_IF_ERROR(merged.Merge(st).WithContext("merging '" + inputs[i] + "'"));
  }
  CALIB8_RETURN_IF_ERROR(stats::SaveStats(merged, output));
  MergedStats m;
  m.samples = merged.samples;
  m.tensors = merged.tensors.size();
  m.sharded = merged.data.shard_count > 0;
  if (m.sharded) m.shards = merged.data.ShardText();
  m.complete = merged.data.complete();
  return m;
}

Status PlanKeepFp32(const Model& model, const std::string& table_path,
                    const KeepFp32PlanOptions& options, KeepFp32Plan* plan) {
  KeepFp32Plan& p = *plan;
  p = KeepFp32Plan();
  const ir::Graph& g = detail::Access::GraphOf(model);
  eval::SensitivityOptions so;
  so.max_drop = options.max_drop;
  so.compare.session.num_threads = options.threads;
  runtime::Int8TableMode mode;
  CALIB8_ASSIGN_OR_RETURN(table::CalibrationTable t,
                          runtime::LoadInt8Table(table_path, false, &so.compare.int8, &mode));
  p.table_note = mode.note;
  so.try_ranges = true;  // other ranges before FP32; the ones that help go into the table below
  so.observed = eval::ObservedRanges(table_path);
  data::OpenOptions oo = runtime::DataOptionsFor(g, options.preprocess, options.samples);
  CALIB8_ASSIGN_OR_RETURN(data::MultiInputData d, data::MultiInputData::Open(options.data, oo));
  so.progress = options.progress;
  p.measuring = true;
  CALIB8_ASSIGN_OR_RETURN(eval::SensitivityResult r, eval::AnalyzeSensitivity(g, t, d, {}, so));
  p.measured = true;
  p.metric = r.metric;
  p.score = r.final_score;
  p.fp32_score = r.fp32_score;
  p.met = r.met;
  p.keep = r.keep;
  if (!r.ranges.empty()) {
    CALIB8_RETURN_IF_ERROR(eval::ApplyRangeChanges(table_path, r.ranges, table_path));
    for (const auto& c : r.ranges)
      p.range_changes.push_back(
          {c.tensor, c.asymmetric, c.lo_before, c.hi_before, c.lo, c.hi, c.score_before, c.score});
  }
  const std::string path = options.path.empty() ? table_path + ".keep-fp32.txt" : options.path;
  CALIB8_RETURN_IF_ERROR(
      core::WriteFileAtomic(path, eval::SensitivityPlanFile(r, so, model.path(), table_path)));
  p.path = path;
  return Status::Ok();
}

}  // namespace calib8
