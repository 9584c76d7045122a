// quant/qdq_placement.cc — explicit Q/DQ placement on calib8's IR (qdq_placement.h): the helpers
// both placements share (table look-ups, coverage, weight scales) and the --target tensorrt
// placement. The rules are docs/qdq.md's; onnx/ serializes the graph.
#include "quant/qdq_placement.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "ir/op_traits.h"
#include "quant/qdq_placement_util.h"
#include "quant/quant_params.h"

namespace calib8::quant {

Result<std::vector<float>> WeightScales(const Tensor& w, int64_t axis, const std::string& where) {
  const auto& shape = w.shape();
  int64_t channels = axis < 0 ? 1 : shape[axis];
  int64_t inner = 1;
  if (axis >= 0)
    for (size_t d = axis + 1; d < shape.size(); ++d) inner *= shape[d];
  std::vector<float> amax(channels, 0.0f);
  const float* v = w.data<float>();
  for (int64_t i = 0; i < w.numel(); ++i) {
    float a = std::fabs(v[i]);
    if (!std::isfinite(a))
      return InvalidArgument(where, ": value ", i, " is ", v[i], ": expected finite weights");
    int64_t c = axis < 0 ? 0 : (i / inner) % channels;
    if (a > amax[c]) amax[c] = a;
  }
  std::vector<float> scales(channels);
  for (int64_t c = 0; c < channels; ++c)
    scales[c] = amax[c] > 0.0f ? quant::ScaleFromAmax(amax[c]) : 1.0f;
  return scales;
}

Result<Lookup> LookupActivation(const table::CalibrationTable& table, const std::string& table_name,
                                const std::string& t, uint32_t* bits, QdqExportReport* rep) {
  int idx = table.Find(t);
  if (idx < 0 || table.entries()[idx].kind != table::EntryKind::kActivation ||
      table.entries()[idx].scale_bits.empty())
    return Lookup::kMissing;
  *bits = table.entries()[idx].bits();
  float scale = table::BitsToFloat(*bits);
  std::string where = table_name + ": tensor '" + t + "'";
  if (std::isnan(scale) || std::isinf(scale))
    return InvalidArgument(where, ": scale bits ", table::HexBits(*bits), " are ",
                           std::isnan(scale) ? "NaN" : "inf",
                           ": expected a finite positive scale (amax / 127)");
  if (table::BitsAreNegative(*bits) && scale != 0.0f)
    return InvalidArgument(where, ": scale ", table::ShortestDecimal(scale),
                           " is negative: expected a finite positive scale (amax / 127)");
  if (!std::isnormal(scale)) {  // 0, or denormal (1/scale overflows; TensorRT flushes it to 0)
    std::string m = where + ": scale is ";
    if (scale == 0.0f) {
      m += "0 (amax 0)";
    } else {
      m += "denormal (";
      m += table::ShortestDecimal(scale);
      m += ")";
    }
    m += ": no Q/DQ on it, its consumers read FP32 (QuantizeLinear cannot take a zero scale)";
    rep->warnings.push_back(m);
    return Lookup::kZero;
  }
  return Lookup::kFound;
}

Status FinishCoverage(const table::CalibrationTable& table, const std::string& table_name,
                      const std::string& source, const std::set<std::string>& tensors,
                      const std::set<std::string>& paired, const std::set<std::string>& asked,
                      const QdqExportOptions& options, QdqExportReport& rep,
                      const std::map<std::string, std::string>& carried_from) {
  for (const auto& e : table.entries()) {
    if (e.kind != table::EntryKind::kActivation || paired.count(e.name)) continue;
    auto c = carried_from.find(e.name);
    std::string why = c != carried_from.end()  ? "its pair carries the scale of '" + c->second + "'"
                      : !tensors.count(e.name) ? "not a tensor of the model"
                      : options.keep_fp32.count(e.name) ? "in --keep-fp32"
                      : asked.count(e.name)             ? "zero scale"
                                            : "no op the placement rule quantizes reads it";
    rep.unused_entries.push_back(e.name + ": " + why);
  }
  int matching = 0;
  for (const auto& e : table.entries()) matching += tensors.count(e.name) ? 1 : 0;
  if (matching == 0)
    return InvalidArgument(table_name, ": none of its ", table.size(),
                           " entries names a tensor of ", source,
                           ": expected the table calibrated for this model");
  if (options.strict) {
    if (!rep.uncovered.empty())
      return InvalidArgument("--strict: ", table_name, " has no usable entry for ",
                             rep.uncovered.size(), " of ", rep.candidates,
                             " activation(s) the placement rule quantizes, first '",
                             rep.uncovered.front(), "'");
    if (matching != static_cast<int>(table.size()))
      return InvalidArgument("--strict: ", table.size() - matching, " entr",
                             table.size() - matching == 1 ? "y" : "ies", " of ", table_name,
                             " name no tensor of ", source);
  }
  return Status::Ok();
}

namespace {

using namespace qdq_internal;  // NOLINT(google-build-using-namespace): the placements' helpers

using UseMap = std::map<std::string, std::vector<std::pair<int, int>>>;

// One --target tensorrt placement: which activation inputs ask for a pair, the pairs of the
// activations, of the INT8 custom ops and of the weights, and the rewiring of the graph to them.
// The graph is not changed before PlacePlugins.
class TrtPlacement {
 public:
  TrtPlacement(ir::Graph* g, const table::CalibrationTable& table, const std::string& table_name,
               const std::string& source, const QdqExportOptions& options, QdqExportReport* rep)
      : g_(g),
        table_(table),
        table_name_(table_name),
        source_(source),
        options_(options),
        rep_(*rep),
        names_(*g) {
    GraphIndex ix = IndexGraph(*g, options.keep_fp32, source, &rep_.warnings);
    producer_ = std::move(ix.producer);
    tensors_ = std::move(ix.tensors);
    kept_nodes_ = std::move(ix.kept_nodes);
  }

  // Placement (docs/qdq.md): which activation inputs ask for a pair.
  void ChooseInputs() {
    for (size_t k = 0; k < g_->nodes.size(); ++k) {
      const int i = static_cast<int>(k);
      const ir::Node& n = g_->nodes[k];
      if (!IsDefaultDomain(n.domain)) {
        if (!options_.int8_custom_ops.count(n.domain + "::" + n.op_type) || kept_nodes_.count(i))
          continue;
        plugins_.push_back(i);
        for (size_t j = 0; j < n.inputs.size(); ++j) Ask(n.inputs[j], i, static_cast<int>(j));
        continue;
      }
      const std::string& op = n.op_type;
      if (ir::IsInt8Compute(op)) {
        int64_t axis = -1;
        if (CheckWeighted(*g_, i, kept_nodes_, options_.keep_fp32, &axis, &rep_) != 1) continue;
        Ask(n.inputs[0], i, 0);
        weighted_.push_back({i, n.inputs[0], n.inputs[1], axis});
      } else if (kept_nodes_.count(i)) {
        continue;
      } else if (ir::TraitsOf(op).pooling) {
        Ask(n.input(0), i, 0);
      } else if (op == "Concat") {
        for (size_t j = 0; j < n.inputs.size(); ++j) Ask(n.inputs[j], i, static_cast<int>(j));
      } else if (op == "Add" && n.inputs.size() == 2 && !g_->FindInitializer(n.inputs[0]) &&
                 !g_->FindInitializer(n.inputs[1])) {
        // Residual Add: quantize the skip branch; the branch straight out of a weighted op stays
        // FP32 so that TensorRT fuses the Add into that op's epilogue.
        bool w0 = IsWeightedOutput(n.inputs[0]), w1 = IsWeightedOutput(n.inputs[1]);
        if (!w0) Ask(n.inputs[0], i, 0);
        if (!w1 || w0) Ask(n.inputs[1], i, 1);
      }
    }
  }

  // Resolves each asked tensor against the table, checks the coverage and places the INT8
  // custom ops.
  Status PairActivations() {
    for (const auto& t : order_) {
      ++rep_.candidates;
      uint32_t bits = 0;
      CALIB8_ASSIGN_OR_RETURN(Lookup found, LookupActivation(table_, table_name_, t, &bits, &rep_));
      if (found == Lookup::kMissing) rep_.uncovered.push_back(t);
      if (found != Lookup::kFound) continue;
      int after = producer_.count(t) ? producer_.at(t) : -1;
      pairs_[t] = BuildPair(t, {table::BitsToFloat(bits)}, -1, after, &names_);
      paired_.insert(t);
      rep_.activations.push_back(t);
    }
    std::set<std::string> asked;
    for (const auto& [t, list] : uses_) asked.insert(t);
    CALIB8_RETURN_IF_ERROR(
        FinishCoverage(table_, table_name_, source_, tensors_, paired_, asked, options_, rep_));
    for (int i : plugins_) CALIB8_RETURN_IF_ERROR(PlacePlugin(i));
    return Status::Ok();
  }

  // Weights of the weighted nodes whose activation got a pair.
  Status PairWeights() {
    std::map<std::pair<std::string, int64_t>, std::string> weight_done;
    for (const auto& w : weighted_) {
      const ir::Node& n = g_->nodes[static_cast<size_t>(w.node)];
      if (!paired_.count(w.activation)) {
        rep_.fp32_nodes.push_back(Label(n) + ": activation '" + w.activation +
                                  "' has no usable table entry");
        continue;
      }
      auto key = std::make_pair(w.weight, w.axis);
      if (!weight_done.count(key)) {
        std::string where = source_ + ": " + Label(n) + ": weight '" + w.weight + "'";
        CALIB8_ASSIGN_OR_RETURN(std::vector<float> scales,
                                WeightScales(*g_->FindInitializer(w.weight), w.axis, where));
        Pair p = BuildPair(w.weight, scales, w.axis, -1, &names_);
        weight_done[key] = p.dq_output;
        pairs_[w.weight + "\n" + std::to_string(w.axis)] = std::move(p);
        rep_.weights.push_back(w.weight);
      }
      weight_dq_[w.node] = weight_done[key];
    }
    return Status::Ok();
  }

  // Rewires the chosen consumer inputs and lays the pairs out after their producers.
  void RewireAndEmit() {
    for (const auto& [t, list] : uses_) {
      if (!pairs_.count(t)) continue;
      for (const auto& [node, input] : list) {
        if (kept_nodes_.count(node)) continue;
        g_->nodes[static_cast<size_t>(node)].inputs[static_cast<size_t>(input)] =
            pairs_[t].dq_output;
      }
    }
    for (const auto& [node, dq] : weight_dq_) g_->nodes[static_cast<size_t>(node)].inputs[1] = dq;
    // A pair whose DequantizeLinear nothing reads any more (an INT8 plugin reads the Q output
    // directly) keeps only its QuantizeLinear; one read by nobody is dropped.
    std::set<std::string> read;
    for (const auto& n : g_->nodes) read.insert(n.inputs.begin(), n.inputs.end());
    for (const auto& [key, p] : pairs_)
      for (const auto& x : p.nodes) read.insert(x.inputs.begin(), x.inputs.end());
    std::vector<Pair*> all;
    for (auto& [key, p] : pairs_) {
      if (p.nodes.size() == 2 && !p.q_output.empty() && !read.count(p.dq_output)) {
        if (!read.count(p.q_output)) continue;
        p.nodes.pop_back();  // the DequantizeLinear (BuildPair: Q, then DQ)
      }
      all.push_back(&p);
    }
    EmitPairs(g_, all);
  }

 private:
  // Asks for a pair on activation `t` for input `input` of node `node`.
  void Ask(const std::string& t, int node, int input) {
    if (t.empty() || g_->FindInitializer(t) || options_.keep_fp32.count(t)) return;
    if (!uses_.count(t)) order_.push_back(t);
    uses_[t].push_back({node, input});
  }

  // Whether `t` is the output of a weighted op with a constant weight.
  bool IsWeightedOutput(const std::string& t) const {
    auto it = producer_.find(t);
    if (it == producer_.end()) return false;
    const ir::Node& p = g_->nodes[static_cast<size_t>(it->second)];
    return IsDefaultDomain(p.domain) && ir::IsInt8Compute(p.op_type) && p.inputs.size() > 1 &&
           g_->FindInitializer(p.inputs[1]);
  }

  // A custom op whose plugin has an INT8 compute: input -> Q -> plugin -> DQ, the form TensorRT
  // accepts for an INT8 plugin (a Q -> DQ -> plugin -> Q -> DQ sandwich fails with "All of the
  // candidates were removed", TensorRT issue 3055; docs/custom-layers.md). Each input that got a
  // pair is read as its QuantizeLinear output; each output y is written as int8 to a new tensor
  // and a DequantizeLinear with y's table scale (output 0: input 0's scale when the plugin says
  // so) gives y back, which also serves consumers that asked for a pair on y. A plugin whose
  // inputs or outputs lack a table scale stays FP32 and reads float inputs.
  Status PlacePlugin(int i) {
    ir::Node& n = g_->nodes[static_cast<size_t>(i)];
    std::string why;
    for (const auto& x : n.inputs)
      if (!x.empty() && why.empty() && (!paired_.count(x) || !pairs_.count(x)))
        why = paired_.count(x) ? "input '" + x + "' is written by another INT8 custom op"
                               : "input '" + x + "' has no usable table entry";
    std::vector<float> out_scales;
    const bool same = options_.int8_custom_ops.at(n.domain + "::" + n.op_type) && !n.inputs.empty();
    for (size_t k = 0; k < n.outputs.size() && why.empty(); ++k) {
      const std::string& y = n.outputs[k];
      uint32_t bits = 0;
      const std::string& looked_up = k == 0 && same ? n.inputs[0] : y;
      CALIB8_ASSIGN_OR_RETURN(Lookup found,
                              LookupActivation(table_, table_name_, looked_up, &bits, &rep_));
      if (found != Lookup::kFound) why = "output '" + y + "' has no usable table entry";
      out_scales.push_back(table::BitsToFloat(bits));
    }
    for (auto& [t, list] : uses_)
      list.erase(std::remove_if(list.begin(), list.end(),
                                [i](const std::pair<int, int>& u) { return u.first == i; }),
                 list.end());
    const std::string label = Label(n);
    if (!why.empty()) {
      rep_.fp32_nodes.push_back(label + ": custom op with INT8 compute left FP32: " + why);
      return Status::Ok();
    }
    for (auto& x : n.inputs)
      if (!x.empty()) x = pairs_[x].q_output;
    for (size_t k = 0; k < n.outputs.size(); ++k) {
      const std::string y = n.outputs[k];
      pairs_.erase(y);  // the DQ below is y's pair
      Pair p;
      p.after = i;
      const std::string yq = names_.Unique(y + "_quantized");
      const std::string scale = names_.Unique(y + "_scale"), zp = names_.Unique(y + "_zero_point");
      p.inits.emplace_back(scale, Floats({out_scales[k]}, true));
      p.inits.emplace_back(zp, ZeroPoints(1, true, ZeroPoint::kS8Zero));
      p.nodes.push_back(QdqNode("DequantizeLinear", names_.Unique(y + "_DequantizeLinear"),
                                {yq, scale, zp}, y, -1));
      p.q_output = yq;
      p.dq_output = y;
      n.outputs[k] = yq;
      pairs_[y + "\n" + label] = std::move(p);
      uses_[y].clear();
    }
    rep_.notes.push_back(label + ": INT8 (input -> Q -> plugin -> DQ, the plugin's compute_int8)");
    return Status::Ok();
  }

  ir::Graph* g_;
  const table::CalibrationTable& table_;
  const std::string& table_name_;
  const std::string& source_;
  const QdqExportOptions& options_;
  QdqExportReport& rep_;
  Names names_;
  std::map<std::string, int> producer_;
  std::set<std::string> tensors_;  // activations: graph inputs and node outputs
  std::set<int> kept_nodes_;       // nodes whose output is in --keep-fp32
  UseMap uses_;                    // tensor -> (node, input)
  std::vector<std::string> order_;
  std::vector<WeightedUse> weighted_;
  std::vector<int> plugins_;  // custom ops with an INT8 compute (options.int8_custom_ops)
  std::map<std::string, Pair> pairs_;
  std::set<std::string> paired_;
  std::map<int, std::string> weight_dq_;  // node -> dequantized weight tensor
};

}  // namespace

Status PlaceTensorRt(ir::Graph* g, const table::CalibrationTable& table,
                     const std::string& table_name, const std::string& source,
                     const QdqExportOptions& options, QdqExportReport* rep) {
  TrtPlacement p(g, table, table_name, source, options, rep);
  p.ChooseInputs();
  CALIB8_RETURN_IF_ERROR(p.PairActivations());
  CALIB8_RETURN_IF_ERROR(p.PairWeights());
  p.RewireAndEmit();
  return Status::Ok();
}

}  // namespace calib8::quant
