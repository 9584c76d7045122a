// eval/sensitivity.cc — `calib8 sensitivity` and `calibrate --max-drop` (eval/sensitivity.h).
#include "eval/sensitivity.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <filesystem>
#include <functional>
#include <iomanip>
#include <limits>
#include <optional>
#include <sstream>

#include "calib/calibrate.h"
#include "core/file_util.h"
#include "eval/compare_internal.h"
#include "ir/op_traits.h"
#include "runtime/engine.h"
#include "table/fingerprint.h"
#include "table/sidecar.h"

namespace calib8::eval {

using namespace detail;  // NOLINT(google-build-using-namespace): the api module's own helpers

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
using LoHi = std::pair<float, float>;  // [lo, hi]
using Ranges = std::map<std::string, LoHi>;

// FP32 outputs, computed once, and the INT8 runs scored against them.
class SensitivityRunner {
 public:
  SensitivityRunner(const ir::Graph& g, const table::CalibrationTable& t,
                    const data::MultiInputData& d, const std::vector<int64_t>& labels,
                    const SensitivityOptions& o)
      : g_(g), t_(t), d_(d), labels_(labels), o_(o) {}

  Status Init() {
    const CompareOptions& c = o_.compare;
    if (c.batch < 1) return InvalidArgument("--batch must be at least 1, got ", c.batch);
    if (d_.NumSamples() == 0) return InvalidArgument("--data holds no samples");
    CALIB8_RETURN_IF_ERROR(CheckLabels(labels_, d_));
    CALIB8_RETURN_IF_ERROR(runtime::CheckDataFitsModel(g_, d_, c.batch, &names_));
    exec::SessionOptions fo = c.session;
    CALIB8_ASSIGN_OR_RETURN(auto fp32, runtime::CreateSession(g_, fo));
    const char* kStage = "sensitivity FP32 reference";
    if (o_.progress) o_.progress({kStage, 0, d_.NumSamples(), "samples", ""});
    for (int64_t first = 0; first < d_.NumSamples(); first += c.batch) {
      int64_t count = std::min<int64_t>(c.batch, d_.NumSamples() - first);
      CALIB8_ASSIGN_OR_RETURN(exec::TensorMap feeds, Feeds(d_, names_, first, count));
      auto out = fp32->Run(feeds);
      if (!out.ok()) return out.status().WithContext("FP32 run, " + Range(first, count));
      ref_.push_back(std::move(out).value());
      if (o_.progress) o_.progress({kStage, first + count, d_.NumSamples(), "samples", ""});
    }
    return Status::Ok();
  }

  // Score of the INT8 run with these extra names kept FP32 and these activation ranges.
  Result<double> Score(const std::set<std::string>& keep, const Ranges& ranges = {}) {
    runtime::Int8Options io = o_.compare.int8;
    io.lowering.keep_fp32.insert(keep.begin(), keep.end());
    table::CalibrationTable changed;
    const table::CalibrationTable* t = &t_;
    for (const auto& [name, r] : ranges) {
      if (io.lowering.ranges.count(name)) {
        io.lowering.ranges[name] = r;
      } else {
        if (t == &t_) changed = t_, t = &changed;
        changed.SetScaleBits(name, std::bit_cast<uint32_t>(r.second / 127.0f));
      }
    }
    CALIB8_ASSIGN_OR_RETURN(quant::Int8Plan plan, PlanChecked(g_, *t, io, o_.compare.table_name));
    CALIB8_ASSIGN_OR_RETURN(auto s, runtime::CreateInt8Session(plan, o_.compare.session));
    std::vector<OutputAcc> acc(g_.outputs.size());
    const int batch = o_.compare.batch;
    for (size_t b = 0; b < ref_.size(); ++b) {
      int64_t first = static_cast<int64_t>(b) * batch;
      int64_t count = std::min<int64_t>(batch, d_.NumSamples() - first);
      CALIB8_ASSIGN_OR_RETURN(exec::TensorMap feeds, Feeds(d_, names_, first, count));
      auto out = s->Run(feeds);
      if (!out.ok()) return out.status().WithContext("INT8 run, " + Range(first, count));
      CALIB8_RETURN_IF_ERROR(AddOutputs(ref_[b], *out, g_.outputs, labels_, first, acc));
    }
    ++evaluations;
    return ScoreOf(FinishOutputs(g_.outputs, acc));
  }

  double ScoreOf(const std::vector<OutputResult>& res) {
    for (const auto& o : res)
      if (o.classifier) {
        classifier = true;
        labelled = o.classes.labelled > 0;
        fp32_score = labelled ? 100 * o.classes.ref_accuracy : 100;
        return labelled ? 100 * o.classes.test_accuracy : 100 * o.classes.top1_agreement;
      }
    double worst = kInf;
    for (const auto& o : res) worst = std::min(worst, o.metrics.sqnr_db);
    fp32_score = kInf;
    return worst;
  }

  // The range `name` has now: the sidecar's asymmetric one, else the table's symmetric amax.
  std::optional<LoHi> Current(const std::string& name) const {
    auto it = o_.compare.int8.lowering.ranges.find(name);
    if (it != o_.compare.int8.lowering.ranges.end()) return it->second;
    int i = t_.Find(name);
    if (i < 0) return std::nullopt;
    float amax = t_.entries()[static_cast<size_t>(i)].amax();
    if (!(amax > 0) || !std::isfinite(amax)) return std::nullopt;
    return LoHi{-amax, amax};
  }
  bool Asymmetric(const std::string& name) const {
    return o_.compare.int8.lowering.ranges.count(name) > 0;
  }

  bool Meets(double score) const {
    if (classifier) return fp32_score - score <= o_.max_drop + 1e-9;
    return score >= o_.min_sqnr_db;
  }

  bool classifier = false, labelled = false;
  double fp32_score = 0;
  int evaluations = 0;

 private:
  const ir::Graph& g_;
  const table::CalibrationTable& t_;
  const data::MultiInputData& d_;
  const std::vector<int64_t>& labels_;
  const SensitivityOptions& o_;
  std::vector<std::string> names_;
  std::vector<exec::TensorMap> ref_;
};

// `op` as the plan names it: "Conv+HardSwish+Affine" is a Conv.
bool IsComputeOp(const std::string& op) { return ir::IsInt8Compute(op.substr(0, op.find('+'))); }

// Rough candidates around `cur`, never wider than the observed range when it is known.
std::vector<LoHi> Candidates(LoHi cur, const std::optional<LoHi>& seen) {
  std::vector<LoHi> out;
  auto add = [&](LoHi c) {
    auto near = [](float a, float b) {
      return std::fabs(a - b) <= 0.01f * std::max(std::fabs(a), std::fabs(b));
    };
    if (!(c.second > c.first)) return;
    if (near(c.first, cur.first) && near(c.second, cur.second)) return;
    for (const auto& o : out)
      if (near(c.first, o.first) && near(c.second, o.second)) return;
    out.push_back(c);
  };
  for (float f : {0.5f, 0.7f, 1.4f, 2.0f}) {
    LoHi c{cur.first * f, cur.second * f};
    if (seen)
      c = {std::max(c.first, std::min(seen->first, 0.0f)),
           std::min(c.second, std::max(seen->second, 0.0f))};
    add(c);
  }
  if (seen)
    for (float f : {0.5f, 0.7f, 1.0f})
      add({f * std::min(seen->first, 0.0f), f * std::max(seen->second, 0.0f)});
  return out;
}

// Layers in the order the search considers them (eval/sensitivity.h): each scored quantized alone
// and kept FP32 alone.
Status RankLayers(SensitivityRunner& run, const quant::Int8Plan& plan, SensitivityResult& r,
                  const std::function<void(const std::string&)>& note, int64_t* rank_runs) {
  std::map<std::string, std::string> output_of, input_of;
  auto base = [](std::string t) {
    if (EndsWith(t, ":s8") || EndsWith(t, ":u8")) t.resize(t.size() - 3);
    return t;
  };
  for (const auto& n : plan.graph.nodes) {
    if (!n.outputs.empty()) output_of[n.name] = base(n.outputs[0]);
    if (!n.inputs.empty()) input_of[n.name] = base(n.inputs[0]);
  }
  for (const auto& d : plan.nodes)
    if (d.precision == quant::Precision::kInt8 && IsComputeOp(d.op_type)) {
      LayerSensitivity l;
      l.node = d.node;
      l.op = d.op_type;
      l.output = output_of.count(d.node) ? output_of[d.node] : d.node;
      l.input = input_of.count(d.node) ? input_of[d.node] : "";
      r.layers.push_back(l);
    }
  *rank_runs = 1 + 2 * static_cast<int64_t>(r.layers.size());
  for (auto& l : r.layers) {
    std::set<std::string> others;
    for (const auto& m : r.layers)
      if (m.node != l.node) others.insert(m.node);
    CALIB8_ASSIGN_OR_RETURN(l.alone, run.Score(others));
    CALIB8_ASSIGN_OR_RETURN(l.keep, run.Score({l.output}));
    l.harm = run.fp32_score - l.alone;
    l.gain = l.keep - r.int8_score;
    if (std::isinf(run.fp32_score)) l.harm = -l.alone;  // SQNR: lower alone-SQNR = more harm
    note("layer " + l.node + ": alone " + Num(l.alone) + ", kept FP32 " + Num(l.keep));
  }
  // Most harmful first: harm of quantizing it alone plus gain of keeping it FP32 (either alone
  // can be 0 or negative when errors only matter together), then harm.
  std::stable_sort(r.layers.begin(), r.layers.end(), [](const auto& a, const auto& b) {
    if (a.harm + a.gain != b.harm + b.gain) return a.harm + a.gain > b.harm + b.gain;
    return a.harm > b.harm;
  });
  return Status::Ok();
}

// try_ranges: the best candidate range for `tensor` with everything else as it is; kept in
// `ranges` (and recorded in r.ranges) when it raises the score.
Status TryRanges(SensitivityRunner& run, const SensitivityOptions& o, const std::string& tensor,
                 const std::set<std::string>& keep, Ranges& ranges, SensitivityResult& r,
                 const std::function<void(const std::string&)>& note) {
  if (tensor.empty() || ranges.count(tensor) || keep.count(tensor)) return Status::Ok();
  std::optional<LoHi> cur = run.Current(tensor);
  if (!cur) return Status::Ok();
  std::optional<LoHi> seen;
  if (auto it = o.observed.find(tensor); it != o.observed.end()) seen = it->second;
  if (!run.Asymmetric(tensor)) {  // symmetric: the candidates are amax values
    if (seen)
      seen = LoHi{-std::max(std::fabs(seen->first), std::fabs(seen->second)),
                  std::max(std::fabs(seen->first), std::fabs(seen->second))};
  }
  double best = r.final_score;
  std::optional<LoHi> pick;
  for (LoHi c : Candidates(*cur, seen)) {
    Ranges trial = ranges;
    trial[tensor] = c;
    CALIB8_ASSIGN_OR_RETURN(double s, run.Score(keep, trial));
    if (s > best + 1e-9) best = s, pick = c;
  }
  note("ranges of " + tensor + ": best " + Num(best));
  if (!pick) return Status::Ok();
  ranges[tensor] = *pick;
  r.ranges.push_back({tensor, run.Asymmetric(tensor), cur->first, cur->second, pick->first,
                      pick->second, r.final_score, best});
  r.final_score = best;
  r.met = run.Meets(best);
  return Status::Ok();
}

}  // namespace

Result<SensitivityResult> AnalyzeSensitivity(const ir::Graph& graph,
                                             const table::CalibrationTable& table,
                                             const data::MultiInputData& data,
                                             const std::vector<int64_t>& labels,
                                             const SensitivityOptions& options) {
  SensitivityRunner run(graph, table, data, labels, options);
  CALIB8_RETURN_IF_ERROR(run.Init());
  // INT8 runs: 1 (all INT8) + 2 per layer to rank, then the plan search (count not known ahead).
  int64_t rank_runs = 1;
  std::function<void(const std::string&)> note = [&](const std::string& s) {
    if (!options.progress) return;
    if (run.evaluations <= rank_runs)
      options.progress({"sensitivity ranking layers", run.evaluations, rank_runs, "runs", s});
    else
      options.progress(
          {"sensitivity choosing FP32 layers", run.evaluations - rank_runs, 0, "runs", s});
  };
  SensitivityResult r;
  r.samples = data.NumSamples();
  CALIB8_ASSIGN_OR_RETURN(quant::Int8Plan plan, PlanChecked(graph, table, options.compare.int8,
                                                            options.compare.table_name));
  CALIB8_ASSIGN_OR_RETURN(r.int8_score, run.Score({}));
  note("all INT8: " + Num(r.int8_score));
  CALIB8_RETURN_IF_ERROR(RankLayers(run, plan, r, note, &rank_runs));
  r.fp32_score = run.fp32_score;
  r.classifier = run.classifier;
  r.labelled = run.labelled;
  r.metric = r.classifier ? (r.labelled ? "accuracy %" : "top-1 agreement %") : "output SQNR dB";

  // Greedy, in rank order until the bound holds: first other ranges for the layer's input and
  // output (try_ranges), then the layer's output kept FP32. Then drop the FP32 layers the bound
  // does not need (fewest FP32 layers).
  std::set<std::string> keep;
  std::vector<std::string> order;
  Ranges ranges;
  r.final_score = r.int8_score;
  r.met = run.Meets(r.final_score);
  for (size_t i = 0; i < r.layers.size() && !r.met; ++i) {
    const LayerSensitivity& l = r.layers[i];
    if (options.try_ranges) {
      CALIB8_RETURN_IF_ERROR(TryRanges(run, options, l.input, keep, ranges, r, note));
      if (!r.met) CALIB8_RETURN_IF_ERROR(TryRanges(run, options, l.output, keep, ranges, r, note));
      if (r.met) break;
    }
    keep.insert(l.output);
    order.push_back(l.output);
    CALIB8_ASSIGN_OR_RETURN(r.final_score, run.Score(keep, ranges));
    r.met = run.Meets(r.final_score);
    note("keep " + std::to_string(keep.size()) + " layer(s) FP32: " + Num(r.final_score));
  }
  if (r.met && !order.empty() && (order.size() > 1 || !ranges.empty())) {
    for (size_t i = order.size(); i-- > 0;) {
      std::set<std::string> trial = keep;
      trial.erase(order[i]);
      CALIB8_ASSIGN_OR_RETURN(double s, run.Score(trial, ranges));
      if (run.Meets(s)) {
        keep = trial;
        r.final_score = s;
        note("not needed: " + order[i]);
      }
    }
  }
  for (const auto& o : order)
    if (keep.count(o)) r.keep.push_back(o);
  std::erase_if(r.ranges, [&](const RangeChange& c) { return keep.count(c.tensor) > 0; });
  r.evaluations = run.evaluations;
  return r;
}

std::string SensitivityToText(const SensitivityResult& r, const SensitivityOptions& o) {
  std::ostringstream os;
  os << "samples: " << r.samples << "; metric: " << r.metric << "; FP32 " << Num(r.fp32_score)
     << ", all INT8 " << Num(r.int8_score) << "\n";
  os << "layers (most harmful first):\n";
  os << "  " << std::left << std::setw(10) << "alone" << std::setw(10) << "harm" << std::setw(10)
     << "kept FP32" << std::setw(10) << "gain" << std::setw(22) << "op"
     << " node -> tensor\n";
  // With an SQNR metric FP32 scores +inf: there is no finite harm, layers rank by the SQNR with
  // only them INT8 (lower first).
  const bool sqnr = std::isinf(r.fp32_score);
  for (const auto& l : r.layers)
    os << "  " << std::left << std::setw(10) << Num(l.alone) << std::setw(10)
       << (sqnr ? std::string("-") : Num(l.harm)) << std::setw(10) << Num(l.keep) << std::setw(10)
       << Num(l.gain) << std::setw(22) << l.op << " " << l.node << " -> " << l.output << "\n";
  if (sqnr)
    os << "  (SQNR metric: FP32 is +inf, so harm is not a number; layers rank by 'alone', "
          "lowest first)\n";
  std::string bound = r.classifier ? "drop <= " + Num(o.max_drop) + " points"
                                   : "SQNR >= " + Num(o.min_sqnr_db) + " dB";
  for (const auto& c : r.ranges)
    os << "range: " << c.tensor << " [" << Num(c.lo_before, 4) << ", " << Num(c.hi_before, 4)
       << "] -> [" << Num(c.lo, 4) << ", " << Num(c.hi, 4) << "]: " << r.metric << " "
       << Num(c.score_before) << " -> " << Num(c.score) << "\n";
  if (r.met) {
    os << "plan: " << r.keep.size() << " layer(s) FP32 meet(s) the bound (" << bound
       << "): " << r.metric << " " << Num(r.final_score);
    if (r.classifier) os << ", drop " << Num(r.fp32_score - r.final_score);
    os << "\n";
  } else {
    os << "plan: the bound (" << bound << ") cannot be met even with all " << r.keep.size()
       << " INT8 layer(s) FP32 (" << r.metric << " " << Num(r.final_score)
       << "): the remaining error comes from nodes outside the ranked layers\n";
  }
  os << "evaluations: " << r.evaluations << "\n";
  return os.str();
}

std::string SensitivityPlanFile(const SensitivityResult& r, const SensitivityOptions& o,
                                const std::string& model, const std::string& table) {
  std::ostringstream os;
  os << "# calib8 sensitivity: tensors to keep FP32 (--keep-fp32 FILE for run, plan, compare,\n";
  os << "# export-qdq). model " << model << ", table " << table << ", " << r.samples
     << " samples, metric " << r.metric << "\n";
  os << "# FP32 " << Num(r.fp32_score) << ", all INT8 " << Num(r.int8_score) << ", with this plan "
     << Num(r.final_score) << "; bound "
     << (r.classifier ? "drop <= " + Num(o.max_drop) : "SQNR >= " + Num(o.min_sqnr_db))
     << (r.met ? " (met)" : " (NOT met)") << "\n";
  if (!r.ranges.empty())
    os << "# with " << r.ranges.size() << " activation range(s) changed in the table this plan was "
       << "made for (sensitivity --table-out, calibrate --max-drop)\n";
  for (const auto& k : r.keep) {
    for (const auto& l : r.layers)
      if (l.output == k)
        os << "# " << l.op << " '" << l.node << "': quantized alone " << Num(l.alone)
           << (std::isinf(r.fp32_score) ? std::string() : " (harm " + Num(l.harm) + ")")
           << ", kept FP32 alone " << Num(l.keep) << " (gain " << Num(l.gain) << ")\n";
    os << k << "\n";
  }
  return os.str();
}

std::map<std::string, std::pair<float, float>> ObservedRanges(const std::string& table_path) {
  std::map<std::string, std::pair<float, float>> out;
  auto sc = table::ReadSidecarFile(table::SidecarPathFor(table_path));
  if (!sc.ok()) return out;
  for (const auto& t : sc->tensors)
    if (t.max > t.min) out[t.name] = {static_cast<float>(t.min), static_cast<float>(t.max)};
  return out;
}

Status ApplyRangeChanges(const std::string& table_path, const std::vector<RangeChange>& changes,
                         const std::string& out_path) {
  CALIB8_ASSIGN_OR_RETURN(std::string bytes, core::ReadFile(table_path, "table"));
  CALIB8_ASSIGN_OR_RETURN(table::TableFormat format, table::DetectFormat(bytes, table_path));
  CALIB8_ASSIGN_OR_RETURN(table::CalibrationTable t, table::ParseTable(bytes, table_path, format));
  const std::string in_sidecar = table::SidecarPathFor(table_path);
  std::error_code ec;
  table::Sidecar sc;
  const bool has_sidecar = std::filesystem::exists(in_sidecar, ec);
  if (has_sidecar) {
    CALIB8_ASSIGN_OR_RETURN(sc, table::ReadSidecarFile(in_sidecar));
  }
  // A sidecar written for other table bytes is left as it is: updating its fingerprint would
  // pass it off as this table's.
  const bool current = has_sidecar && (sc.table_fingerprint.empty() ||
                                       sc.table_fingerprint == table::BytesFingerprint(bytes));
  const bool asymmetric = std::any_of(changes.begin(), changes.end(),
                                      [](const RangeChange& c) { return c.asymmetric; });
  const bool symmetric = std::any_of(changes.begin(), changes.end(),
                                     [](const RangeChange& c) { return !c.asymmetric; });
  if (asymmetric && !current) {
    return InvalidArgument(table_path, ": asymmetric ranges live in the sidecar ", in_sidecar,
                           ", which is missing or was written for other table bytes");
  }
  for (const auto& c : changes) {
    auto it = std::find_if(sc.tensors.begin(), sc.tensors.end(),
                           [&](const auto& ts) { return ts.name == c.tensor; });
    if (c.asymmetric) {
      if (it == sc.tensors.end() || !it->has_range)
        return InvalidArgument(in_sidecar, ": no asymmetric range for tensor '", c.tensor, "'");
      it->lo = c.lo, it->hi = c.hi;
    } else {
      if (t.Find(c.tensor) < 0)
        return InvalidArgument(table_path, ": no entry for tensor '", c.tensor, "'");
      t.SetScaleBits(c.tensor, std::bit_cast<uint32_t>(c.hi / 127.0f));
      if (it != sc.tensors.end()) it->amax = c.hi;
    }
  }
  std::string out_bytes = bytes;
  if (symmetric) {
    CALIB8_ASSIGN_OR_RETURN(out_bytes, table::SerializeTable(t, format));
  }
  if (current) {
    sc.table_file = std::filesystem::path(out_path).filename().string();
    sc.table_fingerprint = table::BytesFingerprint(out_bytes);
    CALIB8_RETURN_IF_ERROR(table::WriteSidecarFile(table::SidecarPathFor(out_path), sc));
  }
  return core::WriteFileAtomic(out_path, out_bytes);
}

}  // namespace calib8::eval
