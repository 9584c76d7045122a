// calib/calibrate.cc — the calibration driver (see calibrate.h). Wires data sources, the executor,
// the statistics collector, the calibrators and the table/sidecar builders together.
#include "core/std_regex.h"  // first: see there (g++ 12 + ASan false positive in <regex>)

#include "calib/calibrate.h"

#include "calib/range_search.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <set>
#include <tuple>

#include "calib/range_search.h"
#include "data/data_source.h"
#include "ir/op_traits.h"
#include "runtime/engine.h"
#include "table/fingerprint.h"

namespace calib8::calib {

namespace {

Result<int> ParseInt(const std::string& key, const std::string& v) {
  try {
    size_t used = 0;
    int x = std::stoi(v, &used);
    if (used == v.size()) return x;
  } catch (...) {
  }
  return InvalidArgument("method parameter ", key, "=", v, ": expected an integer");
}

Result<double> ParseDouble(const std::string& key, const std::string& v) {
  try {
    size_t used = 0;
    double x = std::stod(v, &used);
    if (used == v.size()) return x;
  } catch (...) {
  }
  return InvalidArgument("method parameter ", key, "=", v, ": expected a number");
}

Result<calib::AsymmetricRangeOptions> AsymOptions(
    const std::map<std::string, std::string>& params) {
  calib::AsymmetricRangeOptions a;
  auto it = params.find("asym_percentile");
  if (it != params.end()) {
    CALIB8_ASSIGN_OR_RETURN(a.percentile, ParseDouble("asym_percentile", it->second));
  }
  CALIB8_RETURN_IF_ERROR(a.Validate());
  return a;
}

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Graph order of float tensors: inputs, then node outputs.
std::vector<std::string> GraphOrder(const ir::Graph& g) {
  std::vector<std::string> order;
  for (const auto& in : g.inputs) order.push_back(in.name);
  for (const auto& n : g.nodes)
    for (const auto& o : n.outputs)
      if (!o.empty()) order.push_back(o);
  return order;
}

}  // namespace

namespace {

// Runs samples [begin, end) (this process's shard) through the session in batches.
Status RunPass(exec::Session& session, const data::MultiInputData& d,
               const std::vector<std::string>& names, stats::Collector& collector, int batch,
               int64_t begin, int64_t end, int pass, int passes, const CalibrateOptions& o) {
  const int64_t total = end - begin;
  auto t0 = std::chrono::steady_clock::now();
  if (o.progress) o.progress({pass, passes, 0, total, 0.0});
  try {
    for (int64_t first = begin; first < end; first += batch) {
      int64_t count = std::min<int64_t>(batch, end - first);
      CALIB8_ASSIGN_OR_RETURN(std::vector<Tensor> tensors, d.Read(first, count));
      exec::TensorMap feeds;
      for (size_t i = 0; i < names.size(); ++i) feeds[names[i]] = std::move(tensors[i]);
      collector.BeginBatch(first, count);
      auto out = session.Run(feeds, &collector);
      if (!out.ok())
        return out.status().WithContext("samples " + std::to_string(first) + "-" +
                                        std::to_string(first + count - 1));
      if (!collector.status().ok()) return collector.status();
      if (o.progress) o.progress({pass, passes, first + count - begin, total, Seconds(t0)});
    }
  } catch (const std::bad_alloc&) {
    // A distributed run must report this to the other processes rather than die silently.
    return Internal("out of memory in calibration pass ", pass, " (batch ", batch, ")");
  }
  return Status::Ok();
}

}  // namespace

// asym_search / sym_search: the samples each output search scores (0: no search).
static Result<int> SearchSamples(const std::map<std::string, std::string>& params,
                                 const std::string& key, int default_samples) {
  auto it = params.find(key);
  if (it == params.end()) return default_samples;
  CALIB8_ASSIGN_OR_RETURN(int n, ParseInt(key, it->second));
  if (n < 0) {
    std::string option = "--" + key;
    std::replace(option.begin(), option.end(), '_', '-');
    return InvalidArgument(option, " must be 0 (off) or a number of samples, got ", n);
  }
  return n;
}
static Result<int> AsymSearchSamples(const std::map<std::string, std::string>& params) {
  return SearchSamples(params, "asym_search", kDefaultAsymSearchSamples);
}
static Result<int> SymSearchSamples(const std::map<std::string, std::string>& params) {
  return SearchSamples(params, "sym_search", kDefaultSymSearchSamples);
}

// Sets the method's own parameters (percentile, threshold, zero_bin, floor_percentile,
// start_bin: whichever the method has) from `params` and validates; `used` gets their keys.
static Status ApplyMethodParams(const std::map<std::string, std::string>& params,
                                calib::CalibratorOptions* opts, std::set<std::string>* used) {
  Status st;
  auto take = [&](const std::string& key) -> const std::string* {
    auto it = params.find(key);
    if (it == params.end()) return nullptr;
    used->insert(key);
    return &it->second;
  };
  std::visit(
      [&](auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, calib::PercentileOptions>) {
          if (auto* v = take("percentile")) {
            auto x = ParseDouble("percentile", *v);
            if (!x.ok())
              st = x.status();
            else
              o.percentile = *x;
          }
        }
        if constexpr (std::is_base_of_v<calib::Entropy2Options, T>) {
          if (auto* v = take("threshold")) {
            if (*v == "edge")
              o.threshold_at = calib::ThresholdAt::kRightEdge;
            else if (*v == "centre" || *v == "center")
              o.threshold_at = calib::ThresholdAt::kBinCentre;
            else
              st = InvalidArgument("threshold=", *v, ": expected edge or centre");
          }
          if (auto* v = take("zero_bin")) {
            if (*v == "replace")
              o.replace_zero_bin = true;
            else if (*v == "keep")
              o.replace_zero_bin = false;
            else
              st = InvalidArgument("zero_bin=", *v, ": expected replace or keep");
          }
        }
        if constexpr (requires { o.floor_percentile; }) {
          if (auto* v = take("floor_percentile")) {
            auto x = ParseDouble("floor_percentile", *v);
            if (!x.ok())
              st = x.status();
            else
              o.floor_percentile = *x;
          }
        }
        if constexpr (requires { o.start_bin; }) {
          if (auto* v = take("start_bin")) {
            auto x = ParseInt("start_bin", *v);
            if (!x.ok())
              st = x.status();
            else
              o.start_bin = *x;
          }
        }
        if (st.ok()) st = o.Validate();
      },
      *opts);
  return st;
}

// The sidecar's record of the method: its name, variant and every parameter that changes the
// table (so that a change invalidates reuse).
static void FillMethodSpec(const std::string& method, const calib::CalibratorOptions& opts,
                           const std::map<std::string, std::string>& params,
                           const calib::AsymmetricRangeOptions& asym, int search, int sym_search,
                           table::MethodSpec* spec) {
  auto at = params.find("asym_search_at");
  spec->name = method;
  spec->parameters.clear();
  // The record comes from a calibration: build the list from a dry run.
  stats::RunningStats rs;
  rs.absmax = 1;
  rs.count = 1;
  stats::AbsHistogram h(1.0, 2048);
  h.mutable_counts()[0] = 1;
  auto r = calib::Calibrate(opts, rs, h);
  if (r.ok()) {
    spec->parameters["variant"] = r->record.variant;
    for (const auto& [k, v] : r->record.params) spec->parameters[k] = v;
  }
  auto nb = params.find("num_bins");
  spec->parameters["num_bins"] = nb == params.end() ? "2048" : nb->second;
  // Every method also chooses the sidecar's asymmetric ranges: a changed percentile must
  // invalidate reuse like any other parameter.
  char buf[64];
  auto end = std::to_chars(buf, buf + sizeof(buf), asym.percentile).ptr;  // shortest round trip
  spec->parameters["asym_percentile"] = std::string(buf, end);
  if (search > 0) {
    spec->parameters["asym_search"] = std::to_string(search);
    spec->parameters["asym_search_at"] = at != params.end() ? at->second : kDefaultAsymSearchAt;
  }
  if (sym_search > 0) spec->parameters["sym_search"] = std::to_string(sym_search);
}

Result<calib::CalibratorOptions> MethodOptions(const std::string& method,
                                               const std::map<std::string, std::string>& params,
                                               table::MethodSpec* spec) {
  auto defaults = calib::DefaultOptions(method);
  if (!defaults.ok()) {
    std::string names;
    for (const auto& c : calib::Calibrators())
      names += (names.empty() ? "" : ", ") + std::string(c.name);
    return InvalidArgument("unknown --method '", method, "': expected one of ", names);
  }
  calib::CalibratorOptions opts = *defaults;
  std::set<std::string> used;
  CALIB8_RETURN_IF_ERROR(ApplyMethodParams(params, &opts, &used));
  calib::AsymmetricRangeOptions asym;
  CALIB8_ASSIGN_OR_RETURN(asym, AsymOptions(params));
  CALIB8_ASSIGN_OR_RETURN(int search, AsymSearchSamples(params));
  CALIB8_ASSIGN_OR_RETURN(int sym_search, SymSearchSamples(params));
  auto at = params.find("asym_search_at");
  if (at != params.end()) {
    if (at->second != "consumers" && at->second != "output")
      return InvalidArgument("--asym-search-at must be 'consumers' or 'output', got '", at->second,
                             "'");
    if (search == 0)
      return InvalidArgument("--asym-search-at ", at->second,
                             " needs --asym-search N (N > 0): the search is off");
  }
  for (const auto& [k, v] : params)
    if (!used.count(k) && k != "num_bins" && k != "asym_percentile" && k != "asym_search" &&
        k != "asym_search_at" && k != "sym_search")
      return InvalidArgument("parameter '", k, "' does not apply to --method ", method);
  if (spec) FillMethodSpec(method, opts, params, asym, search, sym_search, spec);
  return opts;
}

const std::vector<std::string>& TrtCalibratorNames() {
  static const std::vector<std::string> names = {"EntropyCalibration2", "EntropyCalibration",
                                                 "MinMaxCalibration", "LegacyCalibration"};
  return names;
}

std::string TrtAlgorithmFor(const std::string& method) {
  if (method == "minmax") return "MinMaxCalibration";
  if (method == "entropy") return "EntropyCalibration";
  return "EntropyCalibration2";
}

static Result<CalibrationResult> Finish(const ir::Graph& graph, CalibrationResult r,
                                        const calib::CalibratorOptions& copts,
                                        const CalibrateOptions& o,
                                        const std::map<std::string, std::string>& params) {
  CALIB8_ASSIGN_OR_RETURN(calib::AsymmetricRangeOptions asym, AsymOptions(params));
  size_t unsigned_stats = 0;
  std::set<std::string> seen;
  for (const auto& name : GraphOrder(graph)) {
    auto it = r.stats.tensors.find(name);
    if (it == r.stats.tensors.end() || !seen.insert(name).second) continue;
    calib::CalibrateRequest req;
    req.want_curve = o.want_curves;
    auto c = calib::Calibrate(copts, it->second.range, it->second.hist, req);
    if (!c.ok()) return c.status().WithContext("tensor '" + name + "'");
    if (c->all_zero)
      r.warnings.push_back("tensor '" + name +
                           "' is zero on every sample: amax 0 (scale 0); it "
                           "will be all zeros in INT8 too");
    else if (c->zero_amax)
      r.warnings.push_back("tensor '" + name + "': method " + o.method +
                           " chose amax 0 although the tensor is not all zero");
    TensorCalibration tc{name, &it->second, std::move(c).value()};
    const stats::AbsHistogram& h = it->second.hist;
    if (h.has_sign() || it->second.range.absmax == 0.0) {
      auto range = calib::ChooseAsymmetricRange(asym, it->second.range, h);
      if (!range.ok()) return range.status().WithContext("tensor '" + name + "'");
      tc.has_range = true;
      tc.lo = range->lo;
      tc.hi = range->hi;
    } else {
      ++unsigned_stats;
    }
    tc.abs_p999 = calib::AbsPercentile(h, calib::kClipWarnPercentile);
    if (!tc.result.all_zero && tc.result.amax < calib::kClipWarnRatio * tc.abs_p999)
      r.clipped_tensors.push_back(name);
    r.tensors.push_back(std::move(tc));
  }
  if (unsigned_stats)
    r.warnings.push_back(std::to_string(unsigned_stats) +
                         " tensors have statistics without the "
                         "sign split (a statistics file written by an older calib8): the sidecar "
                         "gets no asymmetric range [lo, hi] for them; re-collect the statistics "
                         "with calibrate --data ... --save-stats");
  if (!r.clipped_tensors.empty()) {
    std::string names;
    for (size_t i = 0; i < r.clipped_tensors.size() && i < 5; ++i)
      names += (i ? ", " : "") + ("'" + r.clipped_tensors[i] + "'");
    if (r.clipped_tensors.size() > 5)
      names += " and " + std::to_string(r.clipped_tensors.size() - 5) + " more";
    r.clip_warning =
        "method " + r.method.name + " clips " + std::to_string(r.clipped_tensors.size()) +
        " tensor(s) far below their p99.9 of |x| (amax < 0.5 x p99.9): " + names +
        "; INT8 accuracy may collapse (the default method, " + std::string(calib::kDefaultMethod) +
        ", never clips below p99.9; see "
        "docs/calibration.md)";
  }
  return r;
}

static Status SearchRanges(const ir::Graph& graph, const data::MultiInputData& d,
                           const std::vector<std::string>& names, int samples,
                           const CalibrateOptions& o, CalibrationResult& r);

// Puts each tensor's chosen candidate into `r` with `apply(tensor, range)` (tensors without a
// scored choice keep theirs) and returns the chosen labels counted, in label order:
// " max x2 p99.999 x1" ("" when none). Shared by both searches below.
template <typename Apply>
static std::string ApplyChoices(const std::map<std::string, RangeChoice>& choices,
                                const std::map<std::string, RangeCandidates>& candidates,
                                CalibrationResult& r, Apply apply) {
  std::map<std::string, int> picked;
  for (auto& tc : r.tensors) {
    auto ch = choices.find(tc.name);
    if (ch == choices.end() || ch->second.scores.empty()) continue;
    const RangeCandidates& c = candidates.at(tc.name);
    apply(tc, c.ranges[ch->second.index]);
    ++picked[c.labels[ch->second.index]];
  }
  std::string counts;
  for (const auto& [label, n] : picked) counts += " " + label + " x" + std::to_string(n);
  return counts;
}
static Status SearchScales(const ir::Graph& graph, const data::MultiInputData& d,
                           const std::vector<std::string>& names, int samples,
                           const CalibrateOptions& o, CalibrationResult& r);

Result<CalibrationResult> CalibrateFromStats(const ir::Graph& graph, stats::StatsState st,
                                             const CalibrateOptions& o) {
  CalibrationResult r;
  auto params = o.params;
  CALIB8_ASSIGN_OR_RETURN(calib::CalibratorOptions copts,
                          MethodOptions(o.method, params, &r.method));
  r.method.parameters["num_bins"] = std::to_string(st.num_bins);
  if (!st.data.complete())
    return InvalidArgument("the statistics hold only ", st.data.ShardText(),
                           ": merge-stats the files of every shard first");
  r.data_fingerprint = st.data.fingerprint;
  r.data_description = st.data.description;
  r.stats = std::move(st);
  r.model_fingerprint = table::ModelFingerprint(graph);
  CALIB8_ASSIGN_OR_RETURN(r, Finish(graph, std::move(r), copts, o, params));
  CALIB8_ASSIGN_OR_RETURN(int samples, AsymSearchSamples(params));
  CALIB8_ASSIGN_OR_RETURN(int sym_samples, SymSearchSamples(params));
  if (samples == 0 && sym_samples == 0) {
    if (!o.data_specs.empty())
      r.notes.push_back(
          "--data not read: with --from-stats it is only for the searches, which "
          "--asym-search 0 and --sym-search 0 turn off");
    return r;
  }
  if (o.data_specs.empty()) {
    // No data, no search: the sidecar must not claim one.
    r.method.parameters.erase("asym_search");
    r.method.parameters.erase("asym_search_at");
    r.method.parameters.erase("sym_search");
    if (samples > 0)
      r.notes.push_back(
          "no asymmetric range search (it needs the data: give --data with "
          "--from-stats); the asymmetric ranges are the p" +
          r.method.parameters["asym_percentile"] + " ones");
    if (sym_samples > 0)
      r.notes.push_back(
          "no symmetric scale search (it needs the data: give --data with --from-stats); the "
          "table holds the method's scales");
    return r;
  }
  data::OpenOptions oo = runtime::DataOptionsFor(graph, o.preprocess, o.max_samples);
  CALIB8_ASSIGN_OR_RETURN(data::MultiInputData d, data::MultiInputData::Open(o.data_specs, oo));
  std::vector<std::string> names;
  CALIB8_RETURN_IF_ERROR(runtime::CheckDataFitsModel(graph, d, o.batch, &names));
  if (!r.data_fingerprint.empty()) {
    CALIB8_ASSIGN_OR_RETURN(std::string fp, d.Fingerprint(o.hashing_progress));
    if (fp != r.data_fingerprint)
      return InvalidArgument("--data ", o.data_specs[0], " has fingerprint ", fp,
                             " but the statistics were collected from data with fingerprint ",
                             r.data_fingerprint,
                             ": give the same data (and --preprocess, "
                             "--max-samples) as the runs that saved them");
  }
  if (sym_samples > 0) CALIB8_RETURN_IF_ERROR(SearchScales(graph, d, names, sym_samples, o, r));
  if (samples > 0) CALIB8_RETURN_IF_ERROR(SearchRanges(graph, d, names, samples, o, r));
  return r;
}

// --asym-search N (issue 10 item 4; default 32): each tensor's asymmetric range among the p99.9,
// p99.99, p99.999 and full [min, max] ranges of its statistics, scored on N samples chosen by
// their content, at the model's outputs in INT8 (default) or at the tensor's weighted consumers
// (calib/range_search.h).
static Status SearchRanges(const ir::Graph& graph, const data::MultiInputData& d,
                           const std::vector<std::string>& names, int samples,
                           const CalibrateOptions& o, CalibrationResult& r) {
  static const double kPercentiles[] = {99.9, 99.99, 99.999, 100.0};
  std::map<std::string, RangeCandidates> candidates;
  for (const auto& tc : r.tensors) {
    if (!tc.has_range || tc.record == nullptr) continue;
    RangeCandidates& c = candidates[tc.name];
    for (double p : kPercentiles) {
      calib::AsymmetricRangeOptions ao;
      ao.percentile = p;
      CALIB8_ASSIGN_OR_RETURN(calib::AsymmetricRange ar,
                              calib::ChooseAsymmetricRange(ao, tc.record->range, tc.record->hist));
      c.labels.push_back(p == 100.0 ? "max" : "p" + table::ShortestDecimal(static_cast<float>(p)));
      c.ranges.push_back({static_cast<float>(ar.lo), static_cast<float>(ar.hi)});
    }
  }
  auto at = r.method.parameters.find("asym_search_at");
  const bool at_output = at != r.method.parameters.end() && at->second == "output";
  const bool asked = o.params.count("asym_search") > 0;
  std::map<std::string, RangeChoice> choices;
  if (at_output) {
    std::map<std::string, std::pair<float, float>> start;
    for (const auto& tc : r.tensors)
      if (tc.has_range) start[tc.name] = {tc.lo, tc.hi};
    auto searched = SearchRangesAtOutput(graph, MakeTable(r, ""), d, names, candidates, start,
                                         samples, o.batch, o.threads, o.search_progress);
    if (!searched.ok() && !asked) {
      // The default search must not make a model calibrate cannot otherwise handle fail (an op
      // the INT8 runtime cannot lower, say): the fixed ranges are written, with the reason.
      r.method.parameters.erase("asym_search");
      r.method.parameters.erase("asym_search_at");
      r.warnings.push_back("the asymmetric range search at the output failed (" +
                           searched.status().message() + "): the sidecar holds the fixed p" +
                           r.method.parameters["asym_percentile"] + " ranges");
      return Status::Ok();
    }
    CALIB8_ASSIGN_OR_RETURN(choices, std::move(searched));
  } else {
    CALIB8_ASSIGN_OR_RETURN(
        choices, SearchAsymmetricRanges(graph, d, names, candidates, samples, o.batch, o.threads));
  }
  const std::string picked =
      ApplyChoices(choices, candidates, r, [](TensorCalibration& tc, std::pair<float, float> c) {
        tc.lo = c.first;
        tc.hi = c.second;
      });
  std::string summary =
      "asymmetric range search " + std::string(at_output ? "at the model output " : "") + "on " +
      std::to_string(std::min<int64_t>(samples, d.NumSamples())) +
      " sample(s) chosen by content:" + (at_output ? " moved from the fixed ranges:" : "");
  if (at_output && picked.empty()) summary += " none";
  r.notes.push_back(summary + picked);
  return Status::Ok();
}

// --sym-search N: each tensor's symmetric amax (the table's scale, what TensorRT runs) among the
// method's own and the p99.9, p99.99, p99.999 and max of |x| of its statistics, scored on N
// samples chosen by content at the model's outputs in calib8's symmetric INT8 runtime
// (calib/range_search.h SearchScalesAtOutput). Runs before the asymmetric search, which then
// starts from the table it leaves.
static Status SearchScales(const ir::Graph& graph, const data::MultiInputData& d,
                           const std::vector<std::string>& names, int samples,
                           const CalibrateOptions& o, CalibrationResult& r) {
  static const double kPercentiles[] = {99.9, 99.99, 99.999};
  std::map<std::string, RangeCandidates> candidates;
  for (const auto& tc : r.tensors) {
    if (tc.record == nullptr || tc.result.all_zero) continue;
    RangeCandidates& c = candidates[tc.name];
    for (double p : kPercentiles) {
      const auto amax = static_cast<float>(calib::AbsPercentile(tc.record->hist, p));
      if (!(amax > 0)) continue;
      c.labels.push_back("p" + table::ShortestDecimal(static_cast<float>(p)));
      c.ranges.push_back({-amax, amax});
    }
    const auto max = static_cast<float>(tc.record->range.absmax);
    c.labels.push_back("max");
    c.ranges.push_back({-max, max});
  }
  // The cost grows with the samples' size: at most kSymSearchInputBudget input elements in all.
  int64_t per_sample = 0;
  for (size_t i = 0; i < d.size(); ++i) per_sample += NumElements(d.source(i).SampleShape());
  const int64_t wanted = std::min<int64_t>(samples, d.NumSamples());
  const int64_t scored = std::min(
      wanted, std::max<int64_t>(1, kSymSearchInputBudget / std::max<int64_t>(1, per_sample)));
  auto searched = SearchScalesAtOutput(graph, MakeTable(r, ""), d, names, candidates, scored,
                                       o.batch, o.threads, o.search_progress);
  if (!searched.ok() && !o.params.count("sym_search")) {
    // As the asymmetric search: the default must not make calibrate fail where it otherwise
    // works; the table keeps the method's scales, with the reason.
    r.method.parameters.erase("sym_search");
    r.warnings.push_back("the symmetric scale search at the output failed (" +
                         searched.status().message() + "): the table holds the method's scales");
    return Status::Ok();
  }
  CALIB8_ASSIGN_OR_RETURN(auto choices, std::move(searched));
  const std::string picked =
      ApplyChoices(choices, candidates, r, [](TensorCalibration& tc, std::pair<float, float> c) {
        tc.result.amax = c.second;  // the candidate [-amax, amax]
      });
  // A tensor carried from a moved one (a MaxPool's output, say) takes its scale: the table then
  // says what calib8 ran, and an export or TensorRT quantizes the carried tensor alike.
  std::map<std::string, float> moved;
  for (const auto& tc : r.tensors)
    if (choices.count(tc.name)) moved[tc.name] = tc.result.amax;
  const std::map<std::string, std::string> carried = CarriedScales(graph);
  for (auto& tc : r.tensors) {
    auto c = carried.find(tc.name);
    auto m = c == carried.end() ? moved.end() : moved.find(c->second);
    if (m != moved.end()) tc.result.amax = m->second;
  }
  std::string summary = "symmetric scale search at the model output on " + std::to_string(scored) +
                        " sample(s) chosen by content";
  if (scored < wanted)
    summary += " (" + std::to_string(wanted) + " asked; at most " +
               std::to_string(kSymSearchInputBudget) + " input elements, " +
               std::to_string(per_sample) + " per sample)";
  summary += ": moved from the method's scales:";
  if (picked.empty()) summary += " none";
  r.notes.push_back(summary + picked);
  return Status::Ok();
}

std::pair<int64_t, int64_t> ShardSamples(int64_t samples, int batch, int index, int count) {
  const int64_t batches = (samples + batch - 1) / batch;
  const int64_t b0 = batches * index / count, b1 = batches * (index + 1) / count;
  return {std::min(samples, b0 * batch), std::min(samples, b1 * batch)};
}

// Everything that can fail on one machine only (its files, its memory) happens between
// collective steps and is agreed on before the next one: every process returns the failure.
static Status AgreeOn(stats::Comm* comm, const Status& s) { return comm ? comm->Agree(s) : s; }

// Opens the data, checks that it fits the model, cuts this process's shard, fingerprints the data
// and creates the session that observes every tensor.
static Status PrepareCalibration(const ir::Graph& graph, const CalibrateOptions& o, int shard_index,
                                 int shard_count, stats::Comm* comm, CalibrationResult& r,
                                 data::MultiInputData& d, std::vector<std::string>& names,
                                 std::unique_ptr<exec::Session>& session) {
  data::OpenOptions oo = runtime::DataOptionsFor(graph, o.preprocess, o.max_samples);
  CALIB8_ASSIGN_OR_RETURN(d, data::MultiInputData::Open(o.data_specs, oo));
  if (d.NumSamples() == 0)
    return InvalidArgument("the calibration data set is empty (", o.data_specs[0], ")");
  CALIB8_RETURN_IF_ERROR(runtime::CheckDataFitsModel(graph, d, o.batch, &names));
  std::tie(r.shard_first, r.shard_end) =
      ShardSamples(d.NumSamples(), o.batch, shard_index, shard_count);
  if (r.shard_first == r.shard_end)
    return InvalidArgument(shard_count, " shards but only ",
                           (d.NumSamples() + o.batch - 1) / o.batch, " batches of ", o.batch,
                           " sample(s): shard ", shard_index,
                           " would be empty; use fewer shards or a smaller --batch");
  r.data_description = d.Describe();
  // The data fingerprint is the whole data set's, computed as a single process does (by rank
  // 0, or by shard 0 in the pass that makes the histograms), so that the sidecar is the same.
  const bool hash =
      comm ? shard_index == 0 : shard_count == 1 || (shard_index == 0 && !o.range_only);
  if (!o.data_fingerprint.empty()) {
    r.data_fingerprint = o.data_fingerprint;
  } else if (hash) {
    CALIB8_ASSIGN_OR_RETURN(r.data_fingerprint, d.Fingerprint(o.hashing_progress));
  }
  if (o.ranges && o.ranges->data.shard_count > 0) {
    if (o.ranges->data.shard_count != shard_count)
      return InvalidArgument("--ranges file was made from ", o.ranges->data.shard_count,
                             " shards, this run is shard ", shard_index, " of ", shard_count);
    if (o.ranges->data.description != r.data_description)
      return InvalidArgument("--ranges file was made from other data (",
                             o.ranges->data.description.dump(), "), this run reads ",
                             r.data_description.dump());
  }
  exec::SessionOptions so;
  so.num_threads = o.threads;
  so.fuse_epilogues = false;  // the observer must see every tensor
  try {
    CALIB8_ASSIGN_OR_RETURN(session, runtime::CreateSession(graph, so));
  } catch (const std::bad_alloc&) {
    return Internal("out of memory creating the session");
  }
  return Status::Ok();
}

// The passes over this process's samples (one, or ranges then histograms), each reduced over
// `comm` when there is one; their times go to `r`.
static Status RunPasses(exec::Session& session, const data::MultiInputData& d,
                        const std::vector<std::string>& names, stats::Collector& collector,
                        const CalibrateOptions& o, stats::Comm* comm, int passes,
                        CalibrationResult& r) {
  auto t0 = std::chrono::steady_clock::now();
  if (o.single_pass) {
    collector.BeginPass(stats::Pass::kSinglePass);
    CALIB8_RETURN_IF_ERROR(
        RunPass(session, d, names, collector, o.batch, r.shard_first, r.shard_end, 1, 1, o));
    r.seconds_pass1 = Seconds(t0);
  } else {
    if (!o.ranges) {
      collector.BeginPass(stats::Pass::kRange);
      CALIB8_RETURN_IF_ERROR(AgreeOn(comm, RunPass(session, d, names, collector, o.batch,
                                                   r.shard_first, r.shard_end, 1, passes, o)));
      if (comm) {
        CALIB8_ASSIGN_OR_RETURN(r.reduce_bytes_pass1, stats::AllReduceRanges(*comm, r.stats));
      }
      r.seconds_pass1 = Seconds(t0);
    }
    if (!o.range_only) {
      auto t1 = std::chrono::steady_clock::now();
      collector.BeginPass(stats::Pass::kHistogram);
      if (o.ranges) r.stats.samples += r.shard_end - r.shard_first;
      CALIB8_RETURN_IF_ERROR(AgreeOn(comm, RunPass(session, d, names, collector, o.batch,
                                                   r.shard_first, r.shard_end, passes, passes, o)));
      if (comm) {
        CALIB8_ASSIGN_OR_RETURN(r.reduce_bytes_pass2, stats::ReduceHistograms(*comm, r.stats));
      }
      r.seconds_pass2 = Seconds(t1);
    }
  }
  return Status::Ok();
}

Result<CalibrationResult> Calibrate(const ir::Graph& graph, const CalibrateOptions& o) {
  if (o.batch < 1) return InvalidArgument("--batch must be at least 1, got ", o.batch);
  if (o.num_bins < 128 && o.method != "minmax")
    return InvalidArgument("--num-bins must be at least 128, got ", o.num_bins);
  stats::Comm* comm = o.comm;
  const int shard_index = comm ? comm->rank() : o.shard_index;
  const int shard_count = comm ? comm->size() : o.shard_count;
  if (shard_count < 1 || shard_index < 0 || shard_index >= shard_count)
    return InvalidArgument("shard ", shard_index, " of ", shard_count, ": expected 0 <= I < N");
  if (shard_count > 1 && o.single_pass)
    return InvalidArgument(
        "--single-pass cannot be sharded (its histograms grow with the data "
        "order); use the two-pass default");
  if (comm && (o.ranges || o.range_only))
    return InvalidArgument("--mpi runs both passes: --range-only and --ranges are for --shard");
  if (o.ranges && !o.ranges->data.complete())
    return InvalidArgument("--ranges file holds the ranges of ", o.ranges->data.ShardText(),
                           " only: merge-stats the --range-only files of every shard first");
  CalibrationResult r;
  auto params = o.params;
  params["num_bins"] = std::to_string(o.num_bins);
  CALIB8_ASSIGN_OR_RETURN(calib::CalibratorOptions copts,
                          MethodOptions(o.method, params, &r.method));
  if (o.data_specs.empty()) return InvalidArgument("no calibration data: give --data SPEC");
  std::vector<std::regex> exclude;
  for (const auto& p : o.exclude) {
    try {
      exclude.emplace_back(p);
    } catch (const std::regex_error&) {
      return InvalidArgument("--exclude '", p, "' is not a valid regular expression");
    }
  }
  data::MultiInputData d;
  std::vector<std::string> names;
  std::unique_ptr<exec::Session> session;
  Status prepared =
      PrepareCalibration(graph, o, shard_index, shard_count, comm, r, d, names, session);
  CALIB8_RETURN_IF_ERROR(AgreeOn(comm, prepared));
  if (comm) {
    // Every rank must cut the same data the same way.
    CALIB8_RETURN_IF_ERROR(stats::CheckSame(
        *comm, stats::Fnv1a64(r.data_description.dump() + "|" + std::to_string(o.batch)),
        "the calibration data (sample count, files, preprocessing) or --batch"));
  }
  r.model_fingerprint = table::ModelFingerprint(graph);

  r.stats.num_bins = o.num_bins;
  if (o.ranges) {
    r.stats = *o.ranges;
    r.stats.given_ranges = true;
    if (r.stats.num_bins != o.num_bins)
      return InvalidArgument("--ranges file has ", r.stats.num_bins, " bins, --num-bins is ",
                             o.num_bins);
  }
  stats::Collector collector(&r.stats, exclude);
  const int passes = o.single_pass || o.range_only ? 1 : (o.ranges ? 1 : 2);
  CALIB8_RETURN_IF_ERROR(RunPasses(*session, d, names, collector, o, comm, passes, r));
  r.stats.data = stats::DataRecord{r.data_fingerprint, r.data_description, 0, {}};
  if (!comm && shard_count > 1) {
    r.stats.data.shard_count = shard_count;
    r.stats.data.shards = {shard_index};
  }
  if (o.range_only) return r;
  // The amax of every tensor, and --asym-search (rank 0 alone under --mpi: it has the sums).
  auto finish = [&]() -> Status {
    CALIB8_ASSIGN_OR_RETURN(r, Finish(graph, std::move(r), copts, o, params));
    CALIB8_ASSIGN_OR_RETURN(int sym_samples, SymSearchSamples(params));
    if (sym_samples > 0) CALIB8_RETURN_IF_ERROR(SearchScales(graph, d, names, sym_samples, o, r));
    CALIB8_ASSIGN_OR_RETURN(int samples, AsymSearchSamples(params));
    if (samples > 0) CALIB8_RETURN_IF_ERROR(SearchRanges(graph, d, names, samples, o, r));
    return Status::Ok();
  };
  if (!comm) {
    CALIB8_RETURN_IF_ERROR(finish());
    return r;
  }
  CALIB8_RETURN_IF_ERROR(comm->Agree(comm->rank() == 0 ? finish() : Status::Ok()));
  r.partial = comm->rank() != 0;
  return r;
}

table::CalibrationTable MakeTable(const CalibrationResult& r, const std::string& algorithm) {
  table::CalibrationTable t;
  t.header.algorithm = algorithm;
  t.header.writer_version = table::kDefaultTrtVersion;
  for (const auto& tc : r.tensors) {
    table::TableEntry e;
    e.name = tc.name;
    e.scale_bits = {table::ScaleBitsFromAmax(tc.result.amax)};
    t.Put(std::move(e));
  }
  return t;
}

std::vector<table::WeightScales> WeightScalesOf(const ir::Graph& g) {
  std::vector<table::WeightScales> out;
  for (const auto& n : g.nodes) {
    if (!n.domain.empty() || !ir::IsInt8Compute(n.op_type)) continue;
    const Tensor* w = g.FindInitializer(n.input(1));
    if (!w || w->dtype() != DataType::kFloat32 || w->rank() < 2) continue;
    const int64_t axis = ir::WeightAxis(n.op_type, n.GetInt("transB", 0) != 0, w->rank());
    const int64_t channels = w->dim(static_cast<int>(axis));
    // W viewed as [outer, channels, inner]: channel c owns every inner run at (o, c).
    int64_t outer = 1, inner = 1;
    for (int k = 0; k < axis; ++k) outer *= w->dim(k);
    for (int k = static_cast<int>(axis) + 1; k < w->rank(); ++k) inner *= w->dim(k);
    std::vector<float> amax(static_cast<size_t>(channels), 0.0f);
    const float* p = w->data<float>();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t c = 0; c < channels; ++c) {
        const float* run = p + (o * channels + c) * inner;
        float m = amax[c];
        for (int64_t i = 0; i < inner; ++i) m = std::max(m, std::fabs(run[i]));
        amax[c] = m;
      }
    table::WeightScales ws{n.input(1), axis, {}};
    for (float a : amax) ws.scales.push_back(a / 127.0f);
    out.push_back(std::move(ws));
  }
  return out;
}

table::Sidecar MakeSidecar(const CalibrationResult& r, const ir::Graph& graph,
                           const std::string& model_file, const std::string& table_file,
                           const std::string& table_bytes) {
  table::Sidecar s;
  s.calib8_version = CALIB8_VERSION;
  s.table_file = table_file;
  s.table_fingerprint = table::BytesFingerprint(table_bytes);
  s.method = r.method;
  s.model_file = model_file;
  s.model_fingerprint = r.model_fingerprint;
  s.data.fingerprint = r.data_fingerprint;
  s.data.num_samples = r.stats.samples;
  if (!r.data_description.is_null()) {
    s.data.source = r.data_description.dump();
    std::string pre;
    for (const auto& in : r.data_description.value("inputs", nlohmann::json::array()))
      if (in.contains("source") && in["source"].contains("preprocessing"))
        pre += in["source"]["preprocessing"].dump();
    s.data.preprocessing = pre;
  }
  for (const auto& tc : r.tensors) {
    table::TensorStatistics ts;
    ts.name = tc.name;
    ts.min = tc.record->range.count ? tc.record->range.min : 0;
    ts.max = tc.record->range.count ? tc.record->range.max : 0;
    ts.absmax = tc.record->range.absmax;
    ts.amax = static_cast<float>(tc.result.amax);
    ts.sample_count = tc.record->range.count;
    ts.has_range = tc.has_range;
    ts.lo = static_cast<float>(tc.lo);
    ts.hi = static_cast<float>(tc.hi);
    s.tensors.push_back(std::move(ts));
  }
  s.weights = WeightScalesOf(graph);
  return s;
}

}  // namespace calib8::calib
