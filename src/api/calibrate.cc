// api/calibrate.cc — the calibration driver (see calibrate.h). Wires data sources, the executor,
// the statistics collector, the calibrators and the table/sidecar builders together.
#include "core/std_regex.h"  // first: see there (g++ 12 + ASan false positive in <regex>)

#include "api/calibrate.h"

#include <chrono>
#include <cmath>
#include <set>

#include "api/engine.h"
#include "data/data_source.h"
#include "table/fingerprint.h"

namespace calib8::api {

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

Status CheckDataFitsModel(const ir::Graph& g, const data::MultiInputData& d, int batch,
                          std::vector<std::string>* names) {
  names->clear();
  for (size_t i = 0; i < d.size(); ++i) {
    std::string name = d.name(i);
    if (name.empty()) {
      if (g.inputs.size() != 1)
        return InvalidArgument("the model has ", g.inputs.size(),
                               " inputs: give --data NAME=SPEC for each");
      name = g.inputs[0].name;
    }
    const ir::ValueInfo* vi = nullptr;
    for (const auto& in : g.inputs)
      if (in.name == name) vi = &in;
    if (!vi) return InvalidArgument("--data names input '", name, "', which the model does not have");
    const Shape& s = d.source(i).SampleShape();
    std::string want = vi->ShapeString();
    std::string got = "[N," + ShapeToString(s).substr(1);
    if (vi->has_shape) {
      bool ok = vi->dims.size() == s.size() + 1;
      for (size_t k = 0; ok && k < s.size(); ++k)
        if (vi->dims[k + 1].known() && vi->dims[k + 1].value != s[k]) ok = false;
      if (!ok)
        return InvalidArgument("data for input '", name, "' has samples of shape ", ShapeToString(s),
                               " (batches ", got, "), but the model expects ", want);
      if (vi->dims[0].known() && vi->dims[0].value != batch)
        return InvalidArgument("input '", name, "' has a fixed batch size of ", vi->dims[0].value,
                               " (shape ", want, "): use --batch ", vi->dims[0].value);
    }
    if (vi->dtype != DataType::kUndefined && vi->dtype != d.source(i).SampleType())
      return InvalidArgument("data for input '", name, "' is ", DataTypeName(d.source(i).SampleType()),
                             ", the model expects ", DataTypeName(vi->dtype));
    names->push_back(name);
  }
  for (const auto& in : g.inputs) {
    bool given = std::find(names->begin(), names->end(), in.name) != names->end();
    if (!given) return InvalidArgument("no --data given for model input '", in.name, "'");
  }
  return Status::Ok();
}

Status RunPass(exec::Session& session, const data::MultiInputData& d,
               const std::vector<std::string>& names, stats::Collector& collector, int batch,
               int pass, int passes, const CalibrateOptions& o) {
  const int64_t total = d.NumSamples();
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t first = 0; first < total; first += batch) {
    int64_t count = std::min<int64_t>(batch, total - first);
    CALIB8_ASSIGN_OR_RETURN(std::vector<Tensor> tensors, d.Read(first, count));
    exec::TensorMap feeds;
    for (size_t i = 0; i < names.size(); ++i) feeds[names[i]] = std::move(tensors[i]);
    collector.BeginBatch(first, count);
    auto out = session.Run(feeds, &collector);
    if (!out.ok())
      return out.status().WithContext("samples " + std::to_string(first) + "-" +
                                      std::to_string(first + count - 1));
    if (!collector.status().ok()) return collector.status();
    if (o.progress) o.progress({pass, passes, first + count, total, Seconds(t0)});
  }
  return Status::Ok();
}

}  // namespace

Result<calib::CalibratorOptions> MethodOptions(const std::string& method,
                                               const std::map<std::string, std::string>& params,
                                               table::MethodSpec* spec) {
  auto defaults = calib::DefaultOptions(method);
  if (!defaults.ok()) {
    std::string names;
    for (const auto& c : calib::Calibrators()) names += (names.empty() ? "" : ", ") + std::string(c.name);
    return InvalidArgument("unknown --method '", method, "': expected one of ", names);
  }
  calib::CalibratorOptions opts = *defaults;
  std::set<std::string> used;
  Status st;
  auto take = [&](const std::string& key) -> const std::string* {
    auto it = params.find(key);
    if (it == params.end()) return nullptr;
    used.insert(key);
    return &it->second;
  };
  std::visit(
      [&](auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, calib::PercentileOptions>) {
          if (auto* v = take("percentile")) {
            auto x = ParseDouble("percentile", *v);
            if (!x.ok()) st = x.status(); else o.percentile = *x;
          }
        }
        if constexpr (std::is_same_v<T, calib::Entropy2Options>) {
          if (auto* v = take("threshold")) {
            if (*v == "edge") o.threshold_at = calib::ThresholdAt::kRightEdge;
            else if (*v == "centre" || *v == "center") o.threshold_at = calib::ThresholdAt::kBinCentre;
            else st = InvalidArgument("threshold=", *v, ": expected edge or centre");
          }
          if (auto* v = take("zero_bin")) {
            if (*v == "replace") o.replace_zero_bin = true;
            else if (*v == "keep") o.replace_zero_bin = false;
            else st = InvalidArgument("zero_bin=", *v, ": expected replace or keep");
          }
        }
        if constexpr (requires { o.start_bin; }) {
          if (auto* v = take("start_bin")) {
            auto x = ParseInt("start_bin", *v);
            if (!x.ok()) st = x.status(); else o.start_bin = *x;
          }
        }
        if (st.ok()) st = o.Validate();
      },
      opts);
  CALIB8_RETURN_IF_ERROR(st);
  for (const auto& [k, v] : params)
    if (!used.count(k) && k != "num_bins")
      return InvalidArgument("parameter '", k, "' does not apply to --method ", method);
  if (spec) {
    spec->name = method;
    spec->parameters.clear();
    calib::Calibration probe;  // records come from a calibration; build the list from a dry run
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
  }
  return opts;
}

std::string TrtAlgorithmFor(const std::string& method) {
  if (method == "minmax") return "MinMaxCalibration";
  if (method == "entropy") return "EntropyCalibration";
  return "EntropyCalibration2";
}

static Result<CalibrationResult> Finish(const ir::Graph& graph, CalibrationResult r,
                                        const calib::CalibratorOptions& copts,
                                        const CalibrateOptions& o) {
  std::set<std::string> seen;
  for (const auto& name : GraphOrder(graph)) {
    auto it = r.stats.tensors.find(name);
    if (it == r.stats.tensors.end() || !seen.insert(name).second) continue;
    calib::CalibrateRequest req;
    req.want_curve = o.want_curves;
    auto c = calib::Calibrate(copts, it->second.range, it->second.hist, req);
    if (!c.ok()) return c.status().WithContext("tensor '" + name + "'");
    if (c->all_zero)
      r.warnings.push_back("tensor '" + name + "' is zero on every sample: amax 0 (scale 0); it "
                           "will be all zeros in INT8 too");
    else if (c->zero_amax)
      r.warnings.push_back("tensor '" + name + "': method " + o.method +
                           " chose amax 0 although the tensor is not all zero");
    r.tensors.push_back({name, &it->second, std::move(c).value()});
  }
  return r;
}

Result<CalibrationResult> CalibrateFromStats(const ir::Graph& graph, stats::StatsState st,
                                             const CalibrateOptions& o) {
  CalibrationResult r;
  auto params = o.params;
  CALIB8_ASSIGN_OR_RETURN(calib::CalibratorOptions copts, MethodOptions(o.method, params, &r.method));
  r.method.parameters["num_bins"] = std::to_string(st.num_bins);
  r.stats = std::move(st);
  r.model_fingerprint = table::ModelFingerprint(graph);
  return Finish(graph, std::move(r), copts, o);
}

Result<CalibrationResult> Calibrate(const ir::Graph& graph, const CalibrateOptions& o) {
  if (o.batch < 1) return InvalidArgument("--batch must be at least 1, got ", o.batch);
  if (o.num_bins < 128 && o.method != "minmax")
    return InvalidArgument("--num-bins must be at least 128, got ", o.num_bins);
  CalibrationResult r;
  auto params = o.params;
  params["num_bins"] = std::to_string(o.num_bins);
  CALIB8_ASSIGN_OR_RETURN(calib::CalibratorOptions copts, MethodOptions(o.method, params, &r.method));
  if (o.data_specs.empty()) return InvalidArgument("no calibration data: give --data SPEC");
  data::OpenOptions oo;
  oo.preprocess = o.preprocess;
  oo.max_samples = o.max_samples;
  if (!graph.inputs.empty() && graph.inputs[0].has_shape)
    oo.sample_rank = static_cast<int>(graph.inputs[0].dims.size()) - 1;
  CALIB8_ASSIGN_OR_RETURN(data::MultiInputData d, data::MultiInputData::Open(o.data_specs, oo));
  if (d.NumSamples() == 0)
    return InvalidArgument("the calibration data set is empty (", o.data_specs[0], ")");
  std::vector<std::string> names;
  CALIB8_RETURN_IF_ERROR(CheckDataFitsModel(graph, d, o.batch, &names));
  CALIB8_ASSIGN_OR_RETURN(r.data_fingerprint, d.Fingerprint());
  r.data_description = d.Describe();
  r.model_fingerprint = table::ModelFingerprint(graph);

  std::vector<std::regex> exclude;
  for (const auto& p : o.exclude) {
    try {
      exclude.emplace_back(p);
    } catch (const std::regex_error&) {
      return InvalidArgument("--exclude '", p, "' is not a valid regular expression");
    }
  }
  exec::SessionOptions so;
  so.num_threads = o.threads;
  so.fuse_epilogues = false;  // the observer must see every tensor
  CALIB8_ASSIGN_OR_RETURN(auto session, CreateSession(graph, so));

  r.stats.num_bins = o.num_bins;
  if (o.ranges) {
    r.stats = *o.ranges;
    if (r.stats.num_bins != o.num_bins)
      return InvalidArgument("--ranges file has ", r.stats.num_bins, " bins, --num-bins is ", o.num_bins);
  }
  stats::Collector collector(&r.stats, exclude);
  const int passes = o.single_pass || o.range_only ? 1 : (o.ranges ? 1 : 2);
  auto t0 = std::chrono::steady_clock::now();
  if (o.single_pass) {
    collector.BeginPass(stats::Pass::kSinglePass);
    CALIB8_RETURN_IF_ERROR(RunPass(*session, d, names, collector, o.batch, 1, 1, o));
    r.seconds_pass1 = Seconds(t0);
  } else {
    if (!o.ranges) {
      collector.BeginPass(stats::Pass::kRange);
      CALIB8_RETURN_IF_ERROR(RunPass(*session, d, names, collector, o.batch, 1, passes, o));
      r.seconds_pass1 = Seconds(t0);
    }
    if (o.range_only) return r;
    auto t1 = std::chrono::steady_clock::now();
    collector.BeginPass(stats::Pass::kHistogram);
    if (o.ranges) r.stats.samples += d.NumSamples();
    CALIB8_RETURN_IF_ERROR(RunPass(*session, d, names, collector, o.batch, passes, passes, o));
    r.seconds_pass2 = Seconds(t1);
  }
  return Finish(graph, std::move(r), copts, o);
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
    if (!n.domain.empty()) continue;
    int64_t axis;
    std::string wname;
    if (n.op_type == "Conv") { wname = n.input(1); axis = 0; }
    else if (n.op_type == "ConvTranspose") { wname = n.input(1); axis = 1; }
    else if (n.op_type == "Gemm") { wname = n.input(1); axis = n.GetInt("transB", 0) ? 0 : 1; }
    else if (n.op_type == "MatMul") { wname = n.input(1); axis = -1; }
    else continue;
    const Tensor* w = g.FindInitializer(wname);
    if (!w || w->dtype() != DataType::kFloat32 || w->rank() < 2) continue;
    if (axis < 0) axis += w->rank();
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
    table::WeightScales ws{wname, axis, {}};
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
    s.tensors.push_back(std::move(ts));
  }
  s.weights = WeightScalesOf(graph);
  return s;
}

}  // namespace calib8::api
