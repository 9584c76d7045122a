// calib/range_search.cc — see range_search.h. (Lives beside the calibration driver in api/ until
// the driver moves into calib/; it needs the executor, the FP32 kernels and the numeric contract.)
#include "calib/range_search.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <set>

#include "exec/session.h"
#include "ir/op_traits.h"
#include "quant/quant_params.h"
#include "runtime/engine.h"
#include "runtime/int8_engine.h"

namespace calib8::calib {

namespace {

// Samples per FP32 run of the search: fixed, whatever --batch is.
constexpr size_t kSearchGroup = 8;

bool IsWeighted(const std::string& op) { return ir::IsInt8Compute(op); }

// Ops that carry their input's 8-bit encoding in the INT8 plan (ir/op_traits.h carries_scale).
bool CarriesScale(const std::string& op) { return ir::TraitsOf(op).carries_scale; }

// One weighted consumer of a tensor, runnable on its own: a graph of that single node whose
// only input is the tensor (its other inputs are the model's constants).
struct Consumer {
  std::unique_ptr<exec::Session> session;
  std::string input, output;
  std::string root;  // the tensor whose candidates are scored here (RootOf(input))
};

Result<Consumer> MakeConsumer(const ir::Graph& g, const ir::Node& n, const std::string& tensor,
                              int threads) {
  ir::Graph one;
  one.name = n.name;
  one.source = g.source + " (node '" + n.name + "')";
  one.opsets = g.opsets;
  ir::ValueInfo in;
  in.name = tensor;
  in.dtype = DataType::kFloat32;
  one.inputs.push_back(in);
  for (size_t k = 1; k < n.inputs.size(); ++k) {
    if (n.inputs[k].empty()) continue;
    auto it = g.initializers.find(n.inputs[k]);
    if (it == g.initializers.end())
      return InvalidArgument("node '", n.name, "': input '", n.inputs[k], "' is not a constant");
    one.initializers[n.inputs[k]] = it->second;
  }
  ir::ValueInfo out;
  out.name = n.outputs.at(0);
  out.dtype = DataType::kFloat32;
  one.outputs.push_back(out);
  one.nodes.push_back(n);
  exec::SessionOptions so;
  so.num_threads = threads;
  so.fuse_epilogues = false;
  so.channels_last = false;
  Consumer c;
  CALIB8_ASSIGN_OR_RETURN(c.session, exec::Session::Create(one, so));
  c.input = tensor;
  c.output = out.name;
  return c;
}

// The tensor whose 8-bit encoding `t` carries: itself, or the input of the chain of
// scale-carrying ops that produced it.
std::string RootOf(const ir::Graph& g, const std::map<std::string, const ir::Node*>& producer,
                   std::string t) {
  for (int guard = 0; guard < 1000; ++guard) {
    auto p = producer.find(t);
    if (p == producer.end() || !(p->second->domain.empty() || p->second->domain == "ai.onnx") ||
        !CarriesScale(p->second->op_type) || p->second->inputs.empty())
      break;
    t = p->second->inputs[0];
  }
  return t;
}

Tensor FakeQuantize(const Tensor& x, const quant::QParams& p) {
  Tensor y(DataType::kFloat32, x.shape());
  const float* px = x.data<float>();
  float* py = y.data<float>();
  for (int64_t i = 0; i < x.numel(); ++i) py[i] = quant::DequantizeQ(quant::QuantizeQ(px[i], p), p);
  return y;
}

double SquaredError(const Tensor& a, const Tensor& b) {
  double s = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    double d = static_cast<double>(a.data<float>()[i]) - b.data<float>()[i];
    s += d * d;
  }
  return s;
}

// Scores every candidate of every observed tensor with weighted consumers (see the header).
class Scorer : public exec::TensorObserver {
 public:
  Scorer(const std::map<std::string, RangeCandidates>& candidates,
         std::map<std::string, std::vector<Consumer>>& consumers,
         std::map<std::string, RangeChoice>& choices)
      : candidates_(candidates), consumers_(consumers), choices_(choices) {}

  void OnTensor(const std::string& name, const ir::Node*, const Tensor& value) override {
    if (!status_.ok() || value.dtype() != DataType::kFloat32) return;
    auto c = consumers_.find(name);
    if (c == consumers_.end()) return;
    Tensor x = value;  // the view is valid only during the call
    for (Consumer& con : c->second) {
      auto k = candidates_.find(con.root);
      if (k == candidates_.end()) continue;
      RangeChoice& choice = choices_[con.root];
      choice.scores.resize(k->second.ranges.size(), 0.0);
      auto ref = con.session->Run({{con.input, x}});
      if (!ref.ok()) {
        status_ = ref.status();
        return;
      }
      const Tensor& want = ref->at(con.output);
      for (size_t j = 0; j < k->second.ranges.size(); ++j) {
        const auto& [lo, hi] = k->second.ranges[j];
        auto got =
            con.session->Run({{con.input, FakeQuantize(x, quant::AsymmetricParams(lo, hi))}});
        if (!got.ok()) {
          status_ = got.status();
          return;
        }
        choice.scores[j] += SquaredError(want, got->at(con.output));
      }
    }
  }
  const Status& status() const { return status_; }

 private:
  const std::map<std::string, RangeCandidates>& candidates_;
  std::map<std::string, std::vector<Consumer>>& consumers_;
  std::map<std::string, RangeChoice>& choices_;
  Status status_;
};

// Sample i's slice (along the batch axis) of each of `batch`'s tensors.
void HashSample(const std::vector<Tensor>& batch, int64_t i, data::ContentHasher& h) {
  for (const Tensor& t : batch) {
    const size_t per = t.dim(0) ? t.nbytes() / static_cast<size_t>(t.dim(0)) : 0;
    h.Bytes(static_cast<const char*>(t.raw()) + per * static_cast<size_t>(i), per);
  }
}

// The samples at `indices`, read one at a time and stacked along the batch axis.
Result<std::vector<Tensor>> ReadStacked(const data::MultiInputData& data,
                                        const std::vector<int64_t>& indices) {
  std::vector<Tensor> out;
  for (size_t k = 0; k < indices.size(); ++k) {
    CALIB8_ASSIGN_OR_RETURN(std::vector<Tensor> one, data.Read(indices[k], 1));
    if (k == 0) {
      for (const Tensor& t : one) {
        Shape shape = t.shape();
        shape[0] = static_cast<int64_t>(indices.size());
        out.emplace_back(t.dtype(), shape);
      }
    }
    for (size_t i = 0; i < one.size() && i < out.size(); ++i) {
      const size_t per = one[i].nbytes();
      if (per * indices.size() != out[i].nbytes())
        return InvalidArgument("sample ", indices[k], " of input ", i, " has shape ",
                               ShapeToString(one[i].shape()), ": expected every sample to have ",
                               "the shape of the first");
      std::memcpy(static_cast<char*>(out[i].raw()) + per * k, one[i].raw(), per);
    }
  }
  return out;
}

}  // namespace

Result<std::vector<int64_t>> SamplesByContent(const data::MultiInputData& data, int64_t count,
                                              int batch) {
  std::vector<std::pair<std::string, int64_t>> keyed;  // (content hash, index)
  const int64_t total = data.NumSamples();
  for (int64_t first = 0; first < total; first += batch) {
    const int64_t n = std::min<int64_t>(batch, total - first);
    CALIB8_ASSIGN_OR_RETURN(std::vector<Tensor> tensors, data.Read(first, n));
    for (int64_t i = 0; i < n; ++i) {
      data::ContentHasher h;
      HashSample(tensors, i, h);
      keyed.emplace_back(h.HexDigest(), first + i);
    }
  }
  // Equal contents (duplicates) hash alike; any of them gives the same scores.
  const size_t keep = static_cast<size_t>(std::min<int64_t>(count, total));
  std::partial_sort(keyed.begin(), keyed.begin() + static_cast<std::ptrdiff_t>(keep), keyed.end());
  std::vector<int64_t> out;
  for (size_t i = 0; i < keep; ++i) out.push_back(keyed[i].second);
  return out;
}

// The samples a search scores, chosen by their content and run in a fixed grouping (so the
// choice depends neither on the order of the data nor on --batch): the feeds of each group. A
// model whose input fixes the batch size is run in groups of exactly that size.
Result<std::vector<exec::TensorMap>> SearchGroups(const ir::Graph& graph,
                                                  const data::MultiInputData& data,
                                                  const std::vector<std::string>& input_names,
                                                  int64_t samples, int batch) {
  size_t group_size = kSearchGroup;
  for (const auto& in : graph.inputs)
    if (in.has_shape && !in.dims.empty() && in.dims[0].known() && in.dims[0].value > 0 &&
        std::find(input_names.begin(), input_names.end(), in.name) != input_names.end())
      group_size = static_cast<size_t>(in.dims[0].value);
  int64_t wanted = std::min(samples, data.NumSamples());
  if (group_size != kSearchGroup)
    wanted = std::max<int64_t>(
        wanted / static_cast<int64_t>(group_size) * static_cast<int64_t>(group_size),
        std::min<int64_t>(static_cast<int64_t>(group_size), data.NumSamples()));
  CALIB8_ASSIGN_OR_RETURN(std::vector<int64_t> chosen, SamplesByContent(data, wanted, batch));
  std::vector<exec::TensorMap> groups;
  for (size_t first = 0; first < chosen.size(); first += group_size) {
    const std::vector<int64_t> group(
        chosen.begin() + static_cast<std::ptrdiff_t>(first),
        chosen.begin() + static_cast<std::ptrdiff_t>(std::min(chosen.size(), first + group_size)));
    CALIB8_ASSIGN_OR_RETURN(std::vector<Tensor> tensors, ReadStacked(data, group));
    exec::TensorMap feeds;
    for (size_t i = 0; i < input_names.size() && i < tensors.size(); ++i)
      feeds[input_names[i]] = std::move(tensors[i]);
    groups.push_back(std::move(feeds));
  }
  return groups;
}

std::map<std::string, std::string> CarriedScales(const ir::Graph& graph) {
  std::map<std::string, const ir::Node*> producer;
  for (const auto& n : graph.nodes)
    for (const auto& o : n.outputs) producer[o] = &n;
  std::map<std::string, std::string> carried;
  for (const auto& n : graph.nodes)
    for (const auto& o : n.outputs) {
      std::string root = RootOf(graph, producer, o);
      if (root != o) carried[o] = std::move(root);
    }
  return carried;
}

Result<std::map<std::string, RangeChoice>> SearchAsymmetricRanges(
    const ir::Graph& graph, const data::MultiInputData& data,
    const std::vector<std::string>& input_names,
    const std::map<std::string, RangeCandidates>& candidates, int64_t samples, int batch,
    int threads) {
  std::map<std::string, const ir::Node*> producer;
  for (const auto& n : graph.nodes)
    for (const auto& o : n.outputs) producer[o] = &n;
  std::map<std::string, std::vector<Consumer>> consumers;  // by the tensor the consumer reads
  for (const auto& n : graph.nodes) {
    if (!(n.domain.empty() || n.domain == "ai.onnx") || !IsWeighted(n.op_type)) continue;
    if (n.inputs.empty() || n.outputs.size() != 1) continue;
    const std::string root = RootOf(graph, producer, n.inputs[0]);
    if (!candidates.count(root)) continue;
    bool constant = true;
    for (size_t k = 1; k < n.inputs.size(); ++k)
      constant = constant && (n.inputs[k].empty() || graph.initializers.count(n.inputs[k]));
    if (!constant) continue;
    CALIB8_ASSIGN_OR_RETURN(Consumer c, MakeConsumer(graph, n, n.inputs[0], threads));
    c.root = root;
    consumers[n.inputs[0]].push_back(std::move(c));
  }
  std::map<std::string, RangeChoice> choices;
  exec::SessionOptions so;
  so.num_threads = threads;
  so.fuse_epilogues = false;
  CALIB8_ASSIGN_OR_RETURN(auto session, runtime::CreateSession(graph, so));
  Scorer scorer(candidates, consumers, choices);
  CALIB8_ASSIGN_OR_RETURN(std::vector<exec::TensorMap> groups,
                          SearchGroups(graph, data, input_names, samples, batch));
  for (const exec::TensorMap& feeds : groups) {
    auto out = session->Run(feeds, &scorer);
    if (!out.ok()) return out.status().WithContext("asymmetric range search");
    CALIB8_RETURN_IF_ERROR(scorer.status());
  }
  for (auto& [name, choice] : choices) {
    size_t best = 0;
    for (size_t j = 1; j < choice.scores.size(); ++j)
      if (choice.scores[j] < choice.scores[best]) best = j;
    choice.index = best;
  }
  for (const auto& [name, c] : candidates)
    if (!choices.count(name)) choices[name] = RangeChoice{};
  return choices;
}

namespace {

// Sum over the model's float outputs of the squared difference from `ref` (same order). The sum
// only grows, so once it reaches `bound` the candidate has lost: the groups left are skipped and
// the partial sum (>= bound) is returned. The decision is the one the full sum gives.
Result<double> OutputError(exec::Session& session, const std::vector<exec::TensorMap>& groups,
                           const std::vector<std::string>& outputs,
                           const std::vector<std::vector<Tensor>>& ref, const std::string& stage,
                           double bound = std::numeric_limits<double>::infinity()) {
  double err = 0.0;
  for (size_t g = 0; g < groups.size() && err < bound; ++g) {
    auto out = session.Run(groups[g]);
    if (!out.ok()) return out.status().WithContext(stage);
    for (size_t k = 0; k < outputs.size(); ++k) {
      const Tensor& a = out->at(outputs[k]);
      const Tensor& b = ref[g][k];
      if (a.numel() != b.numel())
        return Internal("output '", outputs[k], "': INT8 and FP32 sizes differ");
      const float* pa = a.data<float>();
      const float* pb = b.data<float>();
      for (int64_t i = 0; i < a.numel(); ++i) {
        const double d = static_cast<double>(pa[i]) - static_cast<double>(pb[i]);
        err += d * d;
      }
    }
  }
  return err;
}

// What the output search moves: the asymmetric ranges of the lowering options (u8 with zero
// points), or the symmetric table's scales (TensorRT mode: s8, a range [-amax, amax]).
class OutputSearchState {
 public:
  OutputSearchState(const table::CalibrationTable& table,
                    const std::map<std::string, std::pair<float, float>>& start, bool symmetric)
      : table_(table), symmetric_(symmetric) {
    io_.lowering.ranges = start;
    runtime::SetSpeedRule(&io_, /*int8_all=*/false);  // symmetric: none, as TensorRT
  }
  std::pair<float, float> Get(const std::string& name) const {
    if (!symmetric_) return io_.lowering.ranges.at(name);
    const int k = table_.Find(name);
    const float amax = k < 0 ? 0.0f : table_.entries()[static_cast<size_t>(k)].amax();
    return {-amax, amax};
  }
  void Set(const std::string& name, std::pair<float, float> range) {
    if (symmetric_)
      table_.SetScaleBits(name, table::ScaleBitsFromAmax(range.second));
    else
      io_.lowering.ranges[name] = range;
  }
  // Whether a candidate gives nearly the current grid (not tried: its score would differ only by
  // noise): each end within half a step of the current one (255 steps; 254 symmetric).
  bool SameGrid(const std::string& name, std::pair<float, float> c) const {
    const std::pair<float, float> b = Get(name);
    const double half_step =
        (static_cast<double>(b.second) - b.first) / (symmetric_ ? 508.0 : 510.0);
    return std::abs(static_cast<double>(c.first) - b.first) <= half_step &&
           std::abs(static_cast<double>(c.second) - b.second) <= half_step;
  }
  Result<std::unique_ptr<exec::Session>> Session(const ir::Graph& graph,
                                                 const exec::SessionOptions& so,
                                                 quant::Int8Plan* plan = nullptr) const {
    return runtime::CreateInt8Session(graph, table_, io_, so, plan);
  }

 private:
  table::CalibrationTable table_;
  runtime::Int8Options io_;
  bool symmetric_;
};

Result<std::map<std::string, RangeChoice>> SearchAtOutput(
    const ir::Graph& graph, OutputSearchState& state, const data::MultiInputData& data,
    const std::vector<std::string>& input_names,
    const std::map<std::string, RangeCandidates>& candidates, int64_t samples, int batch,
    int threads, const std::string& stage, const core::ProgressCallback& progress) {
  CALIB8_ASSIGN_OR_RETURN(std::vector<exec::TensorMap> groups,
                          SearchGroups(graph, data, input_names, samples, batch));
  exec::SessionOptions so;
  so.num_threads = threads;
  CALIB8_ASSIGN_OR_RETURN(auto fp32, runtime::CreateSession(graph, so));
  std::vector<std::string> outputs;  // the float outputs, in model order
  std::vector<std::vector<Tensor>> ref(groups.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    auto out = fp32->Run(groups[g]);
    if (!out.ok()) return out.status().WithContext(stage);
    for (const auto& o : graph.outputs) {
      auto it = out->find(o.name);
      if (it == out->end() || it->second.dtype() != DataType::kFloat32) continue;
      if (g == 0) outputs.push_back(o.name);
      ref[g].push_back(std::move(it->second));
    }
  }
  fp32.reset();
  quant::Int8Plan plan;
  CALIB8_ASSIGN_OR_RETURN(auto session, state.Session(graph, so, &plan));
  CALIB8_ASSIGN_OR_RETURN(double best, OutputError(*session, groups, outputs, ref, stage));
  session.reset();
  // The tensors the plan holds in 8 bits: the activation inputs of its INT8 nodes, model order.
  std::set<std::string> int8_nodes;
  for (const auto& d : plan.nodes)
    if (d.precision == quant::Precision::kInt8) int8_nodes.insert(d.node);
  std::vector<std::string> held;
  for (const auto& n : graph.nodes) {
    if (!int8_nodes.count(n.name)) continue;
    for (const auto& in : n.inputs)
      if (!in.empty() && !graph.initializers.count(in) && candidates.count(in) &&
          std::find(held.begin(), held.end(), in) == held.end())
        held.push_back(in);
  }
  std::map<std::string, RangeChoice> choices;
  const auto total = static_cast<int64_t>(held.size());
  if (progress) progress({stage, 0, total, "tensors", ""});
  for (size_t t = 0; t < held.size(); ++t) {
    const std::string& name = held[t];
    const RangeCandidates& c = candidates.at(name);
    RangeChoice choice;
    choice.scores.assign(c.ranges.size(), best);
    bool moved = false;
    for (size_t j = 0; j < c.ranges.size(); ++j) {
      if (state.SameGrid(name, c.ranges[j])) continue;
      const std::pair<float, float> kept = state.Get(name);
      state.Set(name, c.ranges[j]);
      CALIB8_ASSIGN_OR_RETURN(session, state.Session(graph, so));
      CALIB8_ASSIGN_OR_RETURN(double err, OutputError(*session, groups, outputs, ref, stage, best));
      choice.scores[j] = err;
      if (err < best) {
        best = err;
        choice.index = j;
        moved = true;
      } else {
        state.Set(name, kept);
      }
    }
    if (moved) choices[name] = std::move(choice);
    if (progress) progress({stage, static_cast<int64_t>(t) + 1, total, "tensors", name});
  }
  return choices;
}

}  // namespace

Result<std::map<std::string, RangeChoice>> SearchRangesAtOutput(
    const ir::Graph& graph, const table::CalibrationTable& table, const data::MultiInputData& data,
    const std::vector<std::string>& input_names,
    const std::map<std::string, RangeCandidates>& candidates,
    const std::map<std::string, std::pair<float, float>>& start, int64_t samples, int batch,
    int threads, const core::ProgressCallback& progress) {
  OutputSearchState state(table, start, /*symmetric=*/false);
  return SearchAtOutput(graph, state, data, input_names, candidates, samples, batch, threads,
                        "asymmetric range search at the output", progress);
}

Result<std::map<std::string, RangeChoice>> SearchScalesAtOutput(
    const ir::Graph& graph, const table::CalibrationTable& table, const data::MultiInputData& data,
    const std::vector<std::string>& input_names,
    const std::map<std::string, RangeCandidates>& candidates, int64_t samples, int batch,
    int threads, const core::ProgressCallback& progress) {
  OutputSearchState state(table, {}, /*symmetric=*/true);
  return SearchAtOutput(graph, state, data, input_names, candidates, samples, batch, threads,
                        "symmetric scale search at the output", progress);
}

}  // namespace calib8::calib
