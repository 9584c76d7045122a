// quant/qdq_placement_ort.cc — the --target ort Q/DQ placement as a pass on calib8's IR
// (qdq_placement.h, docs/qdq.md), run after ir::FoldIntoConv: ONNX Runtime's QDQ node units with
// uint8/int8 activations, carried scales and int32 biases (PlaceOrt).
#include <map>
#include <set>
#include <sstream>

#include "ir/op_traits.h"
#include "quant/qdq_placement.h"
#include "quant/qdq_placement_util.h"
#include "quant/quant_params.h"

namespace calib8::quant {

namespace {

using namespace qdq_internal;  // NOLINT(google-build-using-namespace): the placements' helpers

// Removes the initializers named in `names` that nothing reads any more (the weights/biases an
// --target ort export replaced; ORT warns about unused initializers).
void DropUnread(ir::Graph* g, const std::set<std::string>& names) {
  std::set<std::string> read;
  for (const auto& n : g->nodes) read.insert(n.inputs.begin(), n.inputs.end());
  for (const auto& o : g->outputs) read.insert(o.name);
  for (const auto& i : g->inputs) read.insert(i.name);
  for (const auto& t : names)
    if (!read.count(t)) g->initializers.erase(t);
}

// Clip's lower bound when it is a constant (input 1, or the `min` attribute before opset 11).
bool ClipMinNonNegative(const ir::Graph& g, const ir::Node& n) {
  if (n.HasAttr("min")) return n.GetFloat("min", -1.0f) >= 0.0f;
  if (n.inputs.size() < 2 || n.inputs[1].empty()) return false;
  const Tensor* t = g.FindInitializer(n.inputs[1]);
  return t && t->dtype() == DataType::kFloat32 && t->numel() == 1 && t->data<float>()[0] >= 0;
}

// An int32 bias behind a DequantizeLinear (ONNX Runtime's QDQ Conv/Gemm node unit): q_c =
// round(b_c / (s_in * s_w,c)) as calib8's own lowering does (quant::QuantizeBias), DQ scale
// s_in * s_w,c, int32 zero point 0, axis 0.
Pair BuildBias(const std::string& bias, const std::vector<int32_t>& q,
               const std::vector<float>& scales, Names* names) {
  Pair p;
  const std::string qname = names->Unique(bias + "_int32");
  const std::string scale = names->Unique(bias + "_scale");
  const std::string zp = names->Unique(bias + "_zero_point");
  p.dq_output = names->Unique(bias + "_dequantized");
  const int64_t n = static_cast<int64_t>(q.size());
  Tensor qt(DataType::kInt32, {n}), zt(DataType::kInt32, {n});
  std::copy(q.begin(), q.end(), qt.data<int32_t>());
  std::fill_n(zt.data<int32_t>(), n, 0);
  p.inits.emplace_back(qname, std::move(qt));
  p.inits.emplace_back(scale, Floats(scales, false));
  p.inits.emplace_back(zp, std::move(zt));
  p.nodes.push_back(QdqNode("DequantizeLinear", names->Unique(bias + "_DequantizeLinear"),
                            {qname, scale, zp}, p.dq_output, 0));
  return p;
}

// The scale and zero point resolved for a tensor that gets an activation pair.
struct Q {
  uint32_t bits = 0;  // the table's (int8) scale bits
  std::string entry;  // table entry it came from
  ZeroPoint zp = ZeroPoint::kS8Zero;
  uint8_t u8_value = 0;  // kU8Range
  bool asym = false;     // scale and zero point from the tensor's asymmetric range
  float scale = 0;
};

// One --target ort placement (PlaceOrt): what it reads, and what its steps build up in order:
// the consumers and non-negative tensors of the graph, the tensors that get a pair and where each
// pair's scale comes from, the resolved scales, the activation, weight and bias pairs, and the
// rewiring of the graph to them. The graph is not changed before the last step.
class OrtPlacement {
 public:
  OrtPlacement(ir::Graph* g, const table::CalibrationTable& table, const std::string& table_name,
               const std::string& source, const QdqExportOptions& options, QdqExportReport* rep)
      : g_(g),
        table_(table),
        table_name_(table_name),
        source_(source),
        options_(options),
        rep_(*rep),
        mode_(options.ort_activations),
        plan_(options.from_plan),
        names_(*g) {
    GraphIndex ix = IndexGraph(*g, options.keep_fp32, source, &rep_.warnings);
    producer_ = std::move(ix.producer);
    tensors_ = std::move(ix.tensors);
    kept_nodes_ = std::move(ix.kept_nodes);
  }

  // Indexes the consumers (node, input) of every tensor and the graph outputs.
  void IndexConsumers() {
    for (size_t i = 0; i < g_->nodes.size(); ++i)
      for (size_t j = 0; j < g_->nodes[i].inputs.size(); ++j)
        if (!g_->nodes[i].inputs[j].empty())
          consumers_[g_->nodes[i].inputs[j]].push_back({static_cast<int>(i), static_cast<int>(j)});
    for (const auto& o : g_->outputs) graph_outputs_.insert(o.name);
  }

  // Tensors that are never negative by construction (as calib8's --unsigned-activations).
  void FindNonNegative() {
    for (const auto& n : g_->nodes) {
      if (!IsDefaultDomain(n.domain) || n.outputs.empty() || n.inputs.empty()) continue;
      const std::string& op = n.op_type;
      const ir::OpTraits& traits = ir::TraitsOf(op);
      bool nn = traits.nonneg_output || (op == "Clip" && ClipMinNonNegative(*g_, n));
      if (traits.keeps_sign && nonneg_.count(n.inputs[0])) nn = true;
      if (traits.int8 == ir::Int8Role::kConcat) {
        nn = true;
        for (const auto& in : n.inputs) nn = nn && nonneg_.count(in);
      }
      if (nn) nonneg_.insert(n.outputs[0]);
    }
  }

  // Picks the node units (weighted ops, pooling, Concat, residual Add) and asks for their pairs.
  void ChooseUnits() {
    for (size_t k = 0; k < g_->nodes.size(); ++k) {
      const int i = static_cast<int>(k);
      const ir::Node& n = g_->nodes[k];
      if (!IsDefaultDomain(n.domain) || n.outputs.empty()) continue;
      const std::string& op = n.op_type;
      if (ir::IsInt8Compute(op)) {
        int64_t axis = -1;
        if (CheckWeighted(*g_, i, kept_nodes_, options_.keep_fp32, &axis, &rep_) != 1) continue;
        Ask(n.inputs[0]);
        reads_8bit_.insert(i);
        weighted_.push_back({i, n.inputs[0], n.inputs[1], axis});
        UnitOutput(i, op == "Gemm" || op == "MatMul");
      } else if (kept_nodes_.count(i)) {
        continue;
      } else if (ir::TraitsOf(op).pooling) {
        Ask(n.input(0));
        reads_8bit_.insert(i);
        Carry(n.outputs[0], n.input(0), "pooling keeps its input's scale");
      } else if (op == "Concat") {
        // Only float activations the table knows (not shape arithmetic on int64 tensors): a node
        // unit with a missing pair gains nothing in ORT, and calib8 runs such a Concat FP32 too.
        bool all = InTable(n.outputs[0]);
        for (const auto& in : n.inputs) all = all && !g_->FindInitializer(in) && InTable(in);
        if (!all) continue;
        for (const auto& in : n.inputs) Ask(in);
        reads_8bit_.insert(i);
        Ask(n.outputs[0]);
      } else if (op == "Add" && n.inputs.size() == 2 && !g_->FindInitializer(n.inputs[0]) &&
                 !g_->FindInitializer(n.inputs[1]) && InTable(n.inputs[0]) &&
                 InTable(n.inputs[1])) {
        // Under the plan placement too: ORT runs a residual Add of two activations as QLinearAdd
        // (calib8 adds in float); keeping the unit keeps ResNet-style models integer in ORT, and
        // it did not cost accuracy where the float epilogues did (docs/qdq.md).
        residual_unit_ = true;
        Ask(n.inputs[0]);
        Ask(n.inputs[1]);
        reads_8bit_.insert(i);
        UnitOutput(i, false);
        residual_unit_ = false;
      }
    }
  }

  // Shape ops between paired tensors keep their input's scale, as calib8's INT8 run does (ORT then
  // drops the DQ -> Reshape/Flatten/... -> Q around them); a Relu absorbed into its unit in s8
  // mode still gets its own pair.
  void CarryThroughShapeOps() {
    static const std::set<std::string> kShapeOps = {"Reshape",   "Flatten",   "Squeeze",
                                                    "Unsqueeze", "Transpose", "Identity"};
    for (size_t k = 0; k < g_->nodes.size(); ++k) {
      const ir::Node& n = g_->nodes[k];
      if (!IsDefaultDomain(n.domain) || !kShapeOps.count(n.op_type) || n.inputs.empty() ||
          n.outputs.empty() || kept_nodes_.count(static_cast<int>(k)))
        continue;
      auto it = scale_from_.find(n.outputs[0]);
      if (it != scale_from_.end() && it->second == n.outputs[0] && scale_from_.count(n.inputs[0]))
        Carry(n.outputs[0], n.inputs[0], n.op_type + " keeps its input's scale");
    }
    if (mode_ == OrtActivations::kS8)
      for (const auto& [t, from] : std::map<std::string, std::string>(scale_from_))
        if (from != t) {
          auto p = producer_.find(from);
          if (p != producer_.end() && g_->nodes[static_cast<size_t>(p->second)].op_type == "Relu")
            Ask(from);
        }
  }

  // Resolves the scale of every tensor asked for.
  Status ResolveAll() {
    for (const auto& t : order_) CALIB8_RETURN_IF_ERROR(Resolve(t).status());
    return Status::Ok();
  }

  Status BuildActivationPairs();
  Status BuildWeightAndBiasPairs();
  void RewireAndEmit(std::string* sources);

 private:
  // Asks for a pair on `t` with its own scale.
  void Ask(const std::string& t) {
    if (t.empty() || g_->FindInitializer(t) || options_.keep_fp32.count(t)) return;
    if (plan_ && !residual_unit_ && !options_.int8_tensors.count(t)) return;
    if (!scale_from_.count(t)) {
      order_.push_back(t);
      scale_from_[t] = t;
    }
  }

  // Asks for a pair on `t` with the scale of `from` (`why` says why, for the report).
  void Carry(const std::string& t, const std::string& from, const std::string& why) {
    if (t.empty() || g_->FindInitializer(t) || options_.keep_fp32.count(t)) return;
    if (plan_ && !options_.int8_tensors.count(t)) return;
    if (!scale_from_.count(t)) order_.push_back(t);
    scale_from_[t] = from;
    carried_why_[t] = why;
  }

  // The output of a unit (weighted op or Add): through a Relu that only it feeds.
  void UnitOutput(int i, bool float_ok) {
    const std::string& u = g_->nodes[static_cast<size_t>(i)].outputs[0];
    auto it = consumers_.find(u);
    const ir::Node* relu = nullptr;
    if (it != consumers_.end() && it->second.size() == 1 && !graph_outputs_.count(u)) {
      const int c = it->second[0].first;
      const ir::Node& cn = g_->nodes[static_cast<size_t>(c)];
      if (cn.op_type == "Relu" && IsDefaultDomain(cn.domain) && !kept_nodes_.count(c)) relu = &cn;
    }
    const std::string out = relu ? relu->outputs[0] : u;
    // Gemm/MatMul whose result only leaves the graph: ORT runs them with a float output, as
    // calib8 does (no requantize of the logits).
    if (float_ok && !consumers_.count(out)) return;
    if (relu && mode_ == OrtActivations::kS8) {
      Carry(u, out,
            "int8 with zero point 0 cannot absorb the Relu: the op's output takes the "
            "Relu output's scale");
    } else {
      Ask(out);
    }
  }

  bool InTable(const std::string& t) const { return table_.Find(t) >= 0; }

  Result<bool> Resolve(const std::string& t);
  Status BiasPair(const WeightedUse& w, const std::vector<float>& wscales);

  ir::Graph* g_;
  const table::CalibrationTable& table_;
  const std::string& table_name_;
  const std::string& source_;
  const QdqExportOptions& options_;
  QdqExportReport& rep_;
  const OrtActivations mode_;
  const bool plan_;
  Names names_;
  std::map<std::string, int> producer_;
  std::set<std::string> tensors_;  // activations: graph inputs and node outputs
  std::set<int> kept_nodes_;       // nodes whose output is in --keep-fp32
  std::map<std::string, std::vector<std::pair<int, int>>> consumers_;
  std::set<std::string> graph_outputs_;
  std::set<std::string> nonneg_;
  // Which tensors get a pair, and where each pair's scale comes from (the tensor itself, or the
  // tensor it is carried from).
  std::vector<std::string> order_;
  std::map<std::string, std::string> scale_from_;
  std::map<std::string, std::string> carried_why_;
  bool residual_unit_ = false;  // inside a residual Add's node unit (kept under the plan placement)
  std::vector<WeightedUse> weighted_;
  std::set<int> reads_8bit_;  // nodes whose activation inputs were asked for (the node units)
  std::map<std::string, Q> resolved_;
  std::set<std::string> failed_;
  std::map<std::string, Pair> pairs_;
  std::set<std::string> paired_;
  std::ostringstream meta_;
  std::vector<std::pair<int, std::string>> renames_;  // producer output renamed (graph outputs)
  std::vector<Pair> extra_;                           // weight and bias pairs
  std::map<int, std::pair<std::string, std::string>> rewire_wb_;  // node -> (weight dq, bias dq)
};

// Resolves the scale of `t`: own entries from the table, carried ones from their source's
// resolved scale. False (and `t` in `failed_`) when there is no usable scale.
Result<bool> OrtPlacement::Resolve(const std::string& t) {
  if (resolved_.count(t)) return true;
  if (failed_.count(t)) return false;
  Q q;
  const std::string from = scale_from_.count(t) ? scale_from_[t] : t;
  if (from != t) {
    CALIB8_ASSIGN_OR_RETURN(bool ok, Resolve(from));
    if (!ok) {
      failed_.insert(t);
      return false;
    }
    q = resolved_[from];
  } else {
    ++rep_.candidates;
    CALIB8_ASSIGN_OR_RETURN(Lookup found, LookupActivation(table_, table_name_, t, &q.bits, &rep_));
    if (found == Lookup::kMissing) rep_.uncovered.push_back(t);
    if (found != Lookup::kFound) {
      failed_.insert(t);
      return false;
    }
    q.entry = t;
    const float s = table::BitsToFloat(q.bits);
    q.scale = s;
    auto range = options_.ranges.find(t);
    const QParams asym = range == options_.ranges.end()
                             ? QParams{}
                             : AsymmetricParams(range->second.first, range->second.second);
    if (mode_ == OrtActivations::kU8 && asym.scale > 0.0f) {
      q.zp = asym.zero_point == 0 ? ZeroPoint::kU8Zero : ZeroPoint::kU8Range;
      q.u8_value = static_cast<uint8_t>(asym.zero_point);
      q.scale = asym.scale;
      q.asym = true;
    } else if (mode_ != OrtActivations::kS8 && nonneg_.count(t)) {
      q.zp = ZeroPoint::kU8Zero;
      q.scale = ScaleFromAmax(AmaxFromScale(s), true);
    } else if (mode_ == OrtActivations::kU8) {
      q.zp = ZeroPoint::kU8Mid;
    }
  }
  resolved_[t] = q;
  return true;
}

// Builds the pair of every resolved tensor, records where its scale came from in `meta_`, and
// checks the table's coverage.
Status OrtPlacement::BuildActivationPairs() {
  for (const auto& t : order_) {
    if (!resolved_.count(t)) continue;
    const Q& q = resolved_[t];
    auto pit = producer_.find(t);
    const int after = pit != producer_.end() ? pit->second : -1;
    Pair p = BuildPair(t, {q.scale}, -1, after, &names_, q.zp, q.u8_value);
    std::string q_input = t;
    if (graph_outputs_.count(t) && after >= 0) {
      // The op must feed only the Q: it writes a new tensor, the DQ writes the graph output.
      q_input = names_.Unique(t + "_float");
      p.nodes[0].inputs[0] = q_input;
      p.nodes[1].outputs[0] = t;
      p.dq_output = t;
      renames_.push_back({after, t});
    }
    if (q.entry == t) {
      paired_.insert(t);
      rep_.activations.push_back(t);
      meta_ << q_input << '\t' << t << '\t' << table::HexBits(q.bits) << '\n';
      // An asymmetric pair's scale is not derived from the table's: record it so that import
      // can tell the export's own pair from an edited one.
      if (q.asym)
        meta_ << q_input << "\t@asym\t" << table::HexBits(table::FloatToBits(q.scale)) << '\n';
    } else {
      rep_.carried.push_back(t + " <- " + scale_from_[t] + ": " + carried_why_[t]);
      meta_ << q_input << "\t-\t" << scale_from_[t] << '\n';
    }
    if (q.zp != ZeroPoint::kS8Zero) ++rep_.unsigned_pairs;
    pairs_[t] = std::move(p);
  }
  std::set<std::string> asked(order_.begin(), order_.end());
  std::map<std::string, std::string> carried_from;
  for (const auto& [t, from] : scale_from_)
    if (from != t) carried_from[t] = from;
  return FinishCoverage(table_, table_name_, source_, tensors_, paired_, asked, options_, rep_,
                        carried_from);
}

// Weights and int32 biases of the weighted ops whose activation got a pair.
Status OrtPlacement::BuildWeightAndBiasPairs() {
  std::map<std::pair<std::string, int64_t>, std::pair<std::string, std::vector<float>>> weight_done;
  for (const auto& w : weighted_) {
    const ir::Node& n = g_->nodes[static_cast<size_t>(w.node)];
    if (!resolved_.count(w.activation)) {
      rep_.fp32_nodes.push_back(
          Label(n) + ": activation '" + w.activation +
          (plan_ && !options_.int8_tensors.count(w.activation)
               ? "' is not held in 8 bits by calib8's INT8 plan (`calib8 plan` says why)"
               : "' has no usable table entry"));
      continue;
    }
    auto key = std::make_pair(w.weight, w.axis);
    if (!weight_done.count(key)) {
      const std::string where = source_ + ": " + Label(n) + ": weight '" + w.weight + "'";
      CALIB8_ASSIGN_OR_RETURN(std::vector<float> scales,
                              WeightScales(*g_->FindInitializer(w.weight), w.axis, where));
      Pair p = BuildPair(
          w.weight, scales, w.axis, -1, &names_,
          options_.ort_weights == OrtWeights::kU8 ? ZeroPoint::kU8Mid : ZeroPoint::kS8Zero);
      weight_done[key] = {p.dq_output, scales};
      extra_.push_back(std::move(p));
      rep_.weights.push_back(w.weight);
    }
    rewire_wb_[w.node].first = weight_done[key].first;
    CALIB8_RETURN_IF_ERROR(BiasPair(w, weight_done[key].second));
  }
  return Status::Ok();
}

// The int32 bias of weighted node `w`: Conv/ConvTranspose input 2; Gemm C when alpha = beta = 1
// and C is one row of N.
Status OrtPlacement::BiasPair(const WeightedUse& w, const std::vector<float>& wscales) {
  const ir::Node& n = g_->nodes[static_cast<size_t>(w.node)];
  const std::string& op = n.op_type;
  if (n.inputs.size() < 3 || n.inputs[2].empty() || op == "MatMul") return Status::Ok();
  const Tensor* b = g_->FindInitializer(n.inputs[2]);
  if (!b || b->dtype() != DataType::kFloat32) return Status::Ok();
  if (op == "Gemm" && (n.GetFloat("alpha", 1.0f) != 1.0f || n.GetFloat("beta", 1.0f) != 1.0f))
    return Status::Ok();
  const int64_t count = b->numel();
  const bool row = b->shape().size() == 1 || (b->shape().size() == 2 && b->shape()[0] == 1);
  if (!row || (wscales.size() != 1 && static_cast<int64_t>(wscales.size()) != count))
    return Status::Ok();
  const float s_in = resolved_[w.activation].scale;
  std::vector<int32_t> q(count);
  std::vector<float> bs(count);
  for (int64_t c = 0; c < count; ++c) {
    const float sw = wscales.size() == 1 ? wscales[0] : wscales[c];
    q[c] = QuantizeBias(b->data<float>()[c], s_in, sw);
    bs[c] = s_in * sw;
  }
  Pair p = BuildBias(n.inputs[2], q, bs, &names_);
  rewire_wb_[w.node].second = p.dq_output;
  extra_.push_back(std::move(p));
  rep_.biases.push_back(n.inputs[2]);
  return Status::Ok();
}

// Rewires every consumer of a paired tensor to the DQ output (and the weighted ops to their
// weight and bias pairs), lays the pairs out and drops the FP32 biases nothing reads any more.
void OrtPlacement::RewireAndEmit(std::string* sources) {
  for (const auto& [t, p] : pairs_) {
    auto it = consumers_.find(t);
    if (it == consumers_.end() || p.dq_output == t) continue;
    const bool only_8bit = plan_ && options_.quantized_at_use.count(t);
    for (const auto& [node, input] : it->second)
      if (!only_8bit || reads_8bit_.count(node))
        g_->nodes[static_cast<size_t>(node)].inputs[static_cast<size_t>(input)] = p.dq_output;
  }
  for (const auto& [node, out] : renames_)
    for (auto& o : g_->nodes[static_cast<size_t>(node)].outputs)
      if (o == out) o = pairs_[out].nodes[0].inputs[0];
  for (const auto& [node, wb] : rewire_wb_) {
    ir::Node& n = g_->nodes[static_cast<size_t>(node)];
    n.inputs[1] = wb.first;
    if (!wb.second.empty()) n.inputs[2] = wb.second;
  }
  const std::set<std::string> biases(rep_.biases.begin(), rep_.biases.end());
  std::vector<Pair*> all;
  for (auto& [t, p] : pairs_) all.push_back(&p);
  for (auto& p : extra_) all.push_back(&p);
  EmitPairs(g_, all);
  DropUnread(g_, biases);
  *sources = meta_.str();
}

}  // namespace

Status PlaceOrt(ir::Graph* g, const table::CalibrationTable& table, const std::string& table_name,
                const std::string& source, const QdqExportOptions& options, QdqExportReport* rep,
                std::string* sources) {
  OrtPlacement p(g, table, table_name, source, options, rep);
  p.IndexConsumers();
  p.FindNonNegative();
  p.ChooseUnits();
  p.CarryThroughShapeOps();
  CALIB8_RETURN_IF_ERROR(p.ResolveAll());
  CALIB8_RETURN_IF_ERROR(p.BuildActivationPairs());
  CALIB8_RETURN_IF_ERROR(p.BuildWeightAndBiasPairs());
  p.RewireAndEmit(sources);
  return Status::Ok();
}

}  // namespace calib8::quant
