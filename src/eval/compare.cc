// eval/compare.cc — `calib8 compare` and `calib8 sensitivity` as library calls. Sits in api
// because it drives two sessions (runtime/engine.h FP32, runtime/int8_engine.h INT8) over a data
// source (data/) and scores them with eval/metrics.h. The INT8 session's 8-bit tensors are read by
// making them graph outputs of a copy of the plan graph: no change to the executor or the INT8
// engine.
#include "eval/compare.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <span>
#include <sstream>

#include "calib/calibrate.h"
#include "core/file_util.h"
#include "data/idx_source.h"
#include "eval/compare_internal.h"
#include "runtime/engine.h"

namespace calib8::eval {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Stores float copies of what an INT8 run produces.
class CopyObserver : public exec::TensorObserver {
 public:
  void OnTensor(const std::string& name, const ir::Node*, const Tensor& value) override {
    tensors[name] = value.Clone();
  }
  exec::TensorMap tensors;
};

// Compares the FP32 run's tensors, as they are produced, with the INT8 run's.
class CompareObserver : public exec::TensorObserver {
 public:
  CompareObserver(const exec::TensorMap& test, std::map<std::string, eval::TensorComparison>& cmp,
                  std::map<std::string, std::string>& producer,
                  const std::function<eval::TensorComparison(const std::string&)>& make)
      : test_(test), cmp_(cmp), producer_(producer), make_(make) {}

  void OnTensor(const std::string& name, const ir::Node* node, const Tensor& ref) override {
    if (!status.ok()) return;
    auto it = test_.find(name);
    if (it == test_.end()) return;
    if (it->second.numel() != ref.numel()) {
      status = Internal("tensor '", name, "': FP32 shape ", ShapeToString(ref.shape()),
                        " but the INT8 run has ", ShapeToString(it->second.shape()));
      return;
    }
    auto c = cmp_.find(name);
    if (c == cmp_.end()) {
      c = cmp_.emplace(name, make_(name)).first;
      producer_[name] = node ? node->op_type : "";
    }
    auto n = static_cast<size_t>(ref.numel());
    status = c->second.Add({ref.data<float>(), n}, {it->second.data<float>(), n});
  }
  Status status;

 private:
  const exec::TensorMap& test_;
  std::map<std::string, eval::TensorComparison>& cmp_;
  std::map<std::string, std::string>& producer_;
  const std::function<eval::TensorComparison(const std::string&)>& make_;
};

}  // namespace

// Shared with eval/sensitivity.cc (eval/compare_internal.h).
namespace detail {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Plans INT8, refusing a table that covers nothing the model needs (a table for another model).
Result<quant::Int8Plan> PlanChecked(const ir::Graph& graph, const table::CalibrationTable& table,
                                    const runtime::Int8Options& io, const std::string& table_name) {
  CALIB8_ASSIGN_OR_RETURN(quant::Int8Plan plan, runtime::PlanInt8(graph, table, io));
  const quant::Coverage& c = plan.coverage;
  if (c.needed > 0 && c.found == 0)
    return InvalidArgument(table_name, " does not fit ", graph.source,
                           ": it has no usable entry for any tensor an INT8 node needs (",
                           runtime::CoverageSummary(c, 4), "); is it a table for another model?");
  return plan;
}

// [N, C] class scores, or [N, T, C] per-position class scores (sequence models: CTC text
// recognition), C > 1: compared by top-1 agreement rather than by SQNR alone.
bool IsClassifierOutput(const Tensor& t) {
  return (t.rank() == 2 || t.rank() == 3) && t.shape().back() > 1;
}

Status AddOutputs(const exec::TensorMap& ref, const exec::TensorMap& test,
                  const std::vector<ir::ValueInfo>& outputs, const std::vector<int64_t>& labels,
                  int64_t first, std::vector<OutputAcc>& acc) {
  for (size_t i = 0; i < outputs.size(); ++i) {
    const std::string& name = outputs[i].name;
    auto r = ref.find(name);
    auto t = test.find(name);
    if (r == ref.end() || t == test.end())
      return Internal("output '", name, "' missing from the ", r == ref.end() ? "FP32" : "INT8",
                      " run");
    if (r->second.dtype() != DataType::kFloat32 || t->second.dtype() != DataType::kFloat32)
      continue;
    if (r->second.numel() != t->second.numel())
      return Internal("output '", name, "': FP32 shape ", ShapeToString(r->second.shape()),
                      " but INT8 shape ", ShapeToString(t->second.shape()));
    auto n = static_cast<size_t>(r->second.numel());
    std::span<const float> rs(r->second.data<float>(), n), ts(t->second.data<float>(), n);
    OutputAcc& a = acc[i];
    if (!a.seen) {
      a.classifier = IsClassifierOutput(r->second);
      a.per_position = a.classifier && r->second.rank() == 3;
    }
    a.seen = true;
    CALIB8_RETURN_IF_ERROR(a.tensor.Add(rs, ts));
    if (a.classifier && IsClassifierOutput(r->second)) {
      int64_t cls = r->second.shape().back(), rows = r->second.numel() / cls;
      std::span<const int64_t> lab;
      if (!labels.empty() && !a.per_position) {
        lab = std::span<const int64_t>(labels).subspan(static_cast<size_t>(first),
                                                       static_cast<size_t>(rows));
        for (int64_t k = 0; k < rows; ++k)
          if (lab[static_cast<size_t>(k)] < 0 || lab[static_cast<size_t>(k)] >= cls)
            return InvalidArgument("--labels: label ", lab[static_cast<size_t>(k)], " of sample ",
                                   first + k, " is outside [0, ", cls, ") for output '", name, "'");
      }
      CALIB8_RETURN_IF_ERROR(a.classes.Add(rs, ts, rows, cls, lab));
    }
  }
  return Status::Ok();
}

std::vector<OutputResult> FinishOutputs(const std::vector<ir::ValueInfo>& outputs,
                                        const std::vector<OutputAcc>& acc) {
  std::vector<OutputResult> out;
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (!acc[i].seen) continue;
    OutputResult o;
    o.name = outputs[i].name;
    o.classifier = acc[i].classifier;
    o.per_position = acc[i].per_position;
    o.metrics = acc[i].tensor.Finish();
    if (o.classifier) o.classes = acc[i].classes.Finish();
    out.push_back(std::move(o));
  }
  return out;
}

Result<exec::TensorMap> Feeds(const data::MultiInputData& data,
                              const std::vector<std::string>& names, int64_t first, int64_t count) {
  CALIB8_ASSIGN_OR_RETURN(std::vector<Tensor> tensors, data.Read(first, count));
  exec::TensorMap feeds;
  for (size_t i = 0; i < names.size(); ++i) feeds[names[i]] = std::move(tensors[i]);
  return feeds;
}

std::string Range(int64_t first, int64_t count) {
  return "samples " + std::to_string(first) + "-" + std::to_string(first + count - 1);
}

Status CheckLabels(const std::vector<int64_t>& labels, const data::MultiInputData& data) {
  if (!labels.empty() && static_cast<int64_t>(labels.size()) < data.NumSamples())
    return InvalidArgument("--labels has ", labels.size(), " labels but the data has ",
                           data.NumSamples(), " samples");
  return Status::Ok();
}

std::string Num(double v, int precision) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  std::ostringstream os;
  os << std::fixed << std::setprecision(precision) << v;
  return os.str();
}

}  // namespace detail

namespace {
using detail::Num;

nlohmann::json JNum(double v) {
  if (std::isfinite(v)) return v;
  return Num(v);
}

nlohmann::json MetricsJson(const eval::TensorMetrics& m) {
  return {{"sqnr_db", JNum(m.sqnr_db)},
          {"cosine", JNum(m.cosine)},
          {"max_abs_error", JNum(m.max_abs_error)},
          {"relative_error", JNum(m.relative_error)},
          {"saturation_rate", JNum(m.saturation_rate)},
          {"count", m.count},
          {"nonfinite", m.nonfinite}};
}

}  // namespace

using namespace detail;  // NOLINT(google-build-using-namespace): this file's own helpers

Result<std::vector<int64_t>> ReadLabels(const std::string& spec) {
  if (spec.rfind("idx:", 0) == 0) {
    auto labels = data::ReadIdxLabels(spec.substr(4));
    if (!labels.ok()) return labels.status().WithContext("--labels");
    return labels;
  }
  CALIB8_ASSIGN_OR_RETURN(std::string text, core::ReadFile(spec, "--labels file"));
  std::vector<int64_t> labels;
  std::istringstream is(text);
  std::string line;
  int line_no = 0;
  while (std::getline(is, line)) {
    ++line_no;
    size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos || line[b] == '#') continue;
    size_t e = line.find_last_not_of(" \t\r");
    std::string word = line.substr(b, e - b + 1);
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(word, &used);
    } catch (...) {
      used = 0;
    }
    if (used != word.size())
      return InvalidArgument("--labels file '", spec, "' line ", line_no, ": '", word,
                             "' is not an integer class index (one per line expected)");
    labels.push_back(v);
  }
  if (labels.empty()) return InvalidArgument("--labels file '", spec, "' holds no labels");
  return labels;
}

std::vector<Int8TensorInfo> ListInt8Tensors(const quant::Int8Plan& plan) {
  std::vector<Int8TensorInfo> list;
  std::map<std::string, size_t> index;
  for (const auto& n : plan.graph.nodes) {
    for (size_t k = 0; k < n.outputs.size(); ++k) {
      const std::string& out = n.outputs[k];
      bool s8 = EndsWith(out, ":s8"), u8 = EndsWith(out, ":u8");
      if (!s8 && !u8) continue;
      Int8TensorInfo info;
      info.stored = out;
      info.tensor = out.substr(0, out.size() - 3);
      info.is_unsigned = u8;
      const std::vector<float> plugin_scales = n.GetFloats(quant::kPluginOutScalesAttr);
      if (k < plugin_scales.size()) {  // an INT8 plugin: each output its own symmetric scale
        info.scale = plugin_scales[k];
      } else if (n.HasAttr("out_scale")) {
        info.scale = n.GetFloat("out_scale", 0);
        info.zero_point = static_cast<int32_t>(n.GetInt("out_zp", 0));
      } else if (n.HasAttr("scale")) {
        info.scale = n.GetFloat("scale", 0);
        info.zero_point = static_cast<int32_t>(n.GetInt("zero_point", 0));
      } else {  // pass-through and pools: the input's scale and zero point
        auto it = index.find(n.input(0));
        if (it != index.end()) {
          info.scale = list[it->second].scale;
          info.zero_point = list[it->second].zero_point;
        }
      }
      info.nhwc = n.HasAttr("out_nhwc") ? n.GetInt("out_nhwc", 0) != 0 : n.GetInt("nhwc", 0) != 0;
      index[out] = list.size();
      list.push_back(std::move(info));
    }
  }
  return list;
}

Result<Tensor> DequantizeInt8(const Tensor& q, const Int8TensorInfo& info) {
  if (q.dtype() != DataType::kInt8 && q.dtype() != DataType::kUint8)
    return Internal("tensor '", info.stored, "' is ", DataTypeName(q.dtype()), ", not 8-bit");
  Shape shape = q.shape();
  const bool nhwc = info.nhwc && shape.size() == 4;
  if (nhwc) shape = {shape[0], shape[3], shape[1], shape[2]};
  Tensor out(DataType::kFloat32, shape);
  float* o = out.data<float>();
  const float s = info.scale;
  const auto zp = static_cast<float>(info.zero_point);
  auto get = [&](int64_t i) -> float {
    return (q.dtype() == DataType::kInt8 ? static_cast<float>(q.data<int8_t>()[i])
                                         : static_cast<float>(q.data<uint8_t>()[i])) -
           zp;
  };
  if (!nhwc) {
    for (int64_t i = 0; i < q.numel(); ++i) o[i] = get(i) * s;
    return out;
  }
  const int64_t n = shape[0], c = shape[1], hw = shape[2] * shape[3];
  for (int64_t b = 0; b < n; ++b)
    for (int64_t p = 0; p < hw; ++p)
      for (int64_t k = 0; k < c; ++k) o[(b * c + k) * hw + p] = get((b * hw + p) * c + k) * s;
  return out;
}

Result<CompareResult> CompareFp32Int8(const ir::Graph& graph, const table::CalibrationTable& table,
                                      const data::MultiInputData& data,
                                      const std::vector<int64_t>& labels,
                                      const CompareOptions& options) {
  if (options.batch < 1) return InvalidArgument("--batch must be at least 1, got ", options.batch);
  if (data.NumSamples() == 0) return InvalidArgument("--data holds no samples");
  CALIB8_RETURN_IF_ERROR(CheckLabels(labels, data));
  std::vector<std::string> names;
  CALIB8_RETURN_IF_ERROR(runtime::CheckDataFitsModel(graph, data, options.batch, &names));
  CompareResult r;
  CALIB8_ASSIGN_OR_RETURN(r.plan, PlanChecked(graph, table, options.int8, options.table_name));

  // The INT8 graph, with every 8-bit tensor made an output so that Run returns it.
  quant::Int8Plan exposed = r.plan;
  std::vector<Int8TensorInfo> q8 = ListInt8Tensors(r.plan);
  if (options.per_tensor)
    for (const auto& info : q8) {
      ir::ValueInfo vi;
      vi.name = info.stored;
      vi.dtype = info.is_unsigned ? DataType::kUint8 : DataType::kInt8;
      exposed.graph.outputs.push_back(vi);
    }
  CALIB8_ASSIGN_OR_RETURN(auto int8_session, runtime::CreateInt8Session(exposed, options.session));
  exec::SessionOptions fo = options.session;
  fo.fuse_epilogues = false;
  CALIB8_ASSIGN_OR_RETURN(auto fp32_session, runtime::CreateSession(graph, fo));

  std::map<std::string, eval::TensorComparison> cmp;
  std::map<std::string, std::string> producer;
  std::map<std::string, std::string> held_as;
  for (const auto& info : q8) held_as[info.tensor] = info.is_unsigned ? "u8" : "s8";
  std::function<eval::TensorComparison(const std::string&)> make = [&](const std::string& name) {
    int i = table.Find(name);
    if (i >= 0) {
      double sc = table.entries()[static_cast<size_t>(i)].scale();
      if (std::isfinite(sc) && sc >= 0) return eval::TensorComparison(sc);
    }
    return eval::TensorComparison();
  };
  std::vector<OutputAcc> outs(graph.outputs.size());
  const int64_t total = data.NumSamples();
  const char* kStage = "compare FP32 vs INT8";
  if (options.progress) options.progress({kStage, 0, total, "samples", ""});
  for (int64_t first = 0; first < total; first += options.batch) {
    int64_t count = std::min<int64_t>(options.batch, total - first);
    CALIB8_ASSIGN_OR_RETURN(exec::TensorMap feeds, Feeds(data, names, first, count));
    CopyObserver copy;
    auto int8_out = int8_session->Run(feeds, options.per_tensor ? &copy : nullptr);
    if (!int8_out.ok()) return int8_out.status().WithContext("INT8 run, " + Range(first, count));
    // What the INT8 run holds per model tensor: 8 bits (dequantized) where it has them.
    exec::TensorMap test = std::move(copy.tensors);
    for (const auto& info : q8) {
      auto it = int8_out->find(info.stored);
      if (it == int8_out->end()) continue;
      CALIB8_ASSIGN_OR_RETURN(test[info.tensor], DequantizeInt8(it->second, info));
    }
    CompareObserver observer(test, cmp, producer, make);
    auto fp32_out = fp32_session->Run(feeds, options.per_tensor ? &observer : nullptr);
    if (!fp32_out.ok()) return fp32_out.status().WithContext("FP32 run, " + Range(first, count));
    CALIB8_RETURN_IF_ERROR(observer.status);
    CALIB8_RETURN_IF_ERROR(AddOutputs(*fp32_out, *int8_out, graph.outputs, labels, first, outs));
    r.samples += count;
    if (options.progress) options.progress({kStage, r.samples, total, "samples", ""});
  }
  for (auto& [name, c] : cmp) {
    TensorResult t;
    t.name = name;
    t.producer = producer[name];
    auto h = held_as.find(name);
    t.held = h == held_as.end() ? "f32" : h->second;
    t.metrics = c.Finish();
    r.tensors.push_back(std::move(t));
  }
  std::stable_sort(r.tensors.begin(), r.tensors.end(), [](const auto& a, const auto& b) {
    double x = a.metrics.sqnr_db, y = b.metrics.sqnr_db;
    if (std::isnan(x) != std::isnan(y)) return std::isnan(y);
    return x < y;
  });
  r.outputs = FinishOutputs(graph.outputs, outs);
  return r;
}

std::string CompareToText(const CompareResult& r, size_t max_tensors) {
  std::ostringstream os;
  os << "samples: " << r.samples << "; INT8 plan: " << r.plan.num_int8 << " INT8 / "
     << r.plan.num_fp32 << " FP32 node(s), " << runtime::CoverageSummary(r.plan.coverage, 3)
     << "\n";
  os << "outputs:\n";
  for (const auto& o : r.outputs) {
    os << "  " << o.name << ": SQNR " << Num(o.metrics.sqnr_db) << " dB, relative error "
       << Num(o.metrics.relative_error, 4);
    if (o.classifier) {
      os << (o.per_position ? ", per-position top-1 agreement " : ", top-1 agreement ")
         << Num(100 * o.classes.top1_agreement) << "% (" << o.classes.agree << "/"
         << o.classes.samples << (o.per_position ? " positions" : "") << ")";
      if (o.classes.labelled > 0)
        os << ", accuracy FP32 " << Num(100 * o.classes.ref_accuracy) << "% INT8 "
           << Num(100 * o.classes.test_accuracy) << "% (" << o.classes.labelled << " labelled)";
    }
    os << "\n";
  }
  os << "tensors (worst SQNR first):\n";
  os << "  " << std::left << std::setw(9) << "SQNR dB" << std::setw(9) << "cosine" << std::setw(12)
     << "max abs err" << std::setw(8) << "sat %" << std::setw(5) << "held" << std::setw(12)
     << "producer"
     << "tensor\n";
  size_t shown = 0;
  for (const auto& t : r.tensors) {
    if (max_tensors && shown++ >= max_tensors) break;
    const auto& m = t.metrics;
    os << "  " << std::left << std::setw(9) << Num(m.sqnr_db) << std::setw(9) << Num(m.cosine, 5)
       << std::setw(12) << Num(m.max_abs_error, 4) << std::setw(8)
       << Num(100 * m.saturation_rate, 3) << std::setw(5) << t.held << std::setw(12)
       << (t.producer.empty() ? "(input)" : t.producer) << t.name << "\n";
  }
  return os.str();
}

std::string CompareToJson(const CompareResult& r) {
  nlohmann::json j;
  j["samples"] = r.samples;
  j["plan"] = {
      {"int8", r.plan.num_int8},
      {"fp32", r.plan.num_fp32},
      {"coverage", {{"needed", r.plan.coverage.needed}, {"found", r.plan.coverage.found}}}};
  j["outputs"] = nlohmann::json::array();
  for (const auto& o : r.outputs) {
    nlohmann::json jo = MetricsJson(o.metrics);
    jo["name"] = o.name;
    jo["classifier"] = o.classifier;
    if (o.per_position) jo["per_position"] = true;
    if (o.classifier) {
      jo["samples"] = o.classes.samples;
      jo["top1_agreement"] = JNum(o.classes.top1_agreement);
      if (o.classes.labelled > 0) {
        jo["labelled"] = o.classes.labelled;
        jo["fp32_accuracy"] = JNum(o.classes.ref_accuracy);
        jo["int8_accuracy"] = JNum(o.classes.test_accuracy);
      }
    }
    j["outputs"].push_back(jo);
  }
  j["tensors"] = nlohmann::json::array();
  for (const auto& t : r.tensors) {
    nlohmann::json jt = MetricsJson(t.metrics);
    jt["name"] = t.name;
    jt["producer"] = t.producer;
    jt["held"] = t.held;
    j["tensors"].push_back(jt);
  }
  return j.dump(2) + "\n";
}

}  // namespace calib8::eval
