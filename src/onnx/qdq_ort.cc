// onnx/qdq_ort.cc — the --target ort placement of export-qdq (docs/qdq.md): ONNX Runtime's QDQ
// node units (PlaceOrt), with BatchNormalization and per-channel Mul/Add folded into the Conv
// before them first (FoldIntoConvForOrt), as calib8's loader does, and int32 biases.
#include <onnx/onnx_pb.h>

#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "ir/op_traits.h"
#include "onnx/onnx_import.h"
#include "onnx/qdq_util.h"
#include "quant/quant_params.h"

namespace calib8::onnx_io::qdq_detail {

namespace {

// Removes the initializers and Constant nodes named in `names` that nothing reads any more (the
// weights/biases an --target ort export replaced; ORT warns about unused initializers).
void DropUnread(onnx::GraphProto* g, const std::set<std::string>& names) {
  std::set<std::string> read;
  for (const auto& n : g->node())
    for (const auto& in : n.input()) read.insert(in);
  for (const auto& o : g->output()) read.insert(o.name());
  for (const auto& i : g->input()) read.insert(i.name());
  auto dead = [&](const std::string& t) { return names.count(t) && !read.count(t); };
  google::protobuf::RepeatedPtrField<onnx::TensorProto> inits;
  for (auto& init : *g->mutable_initializer())
    if (!dead(init.name())) *inits.Add() = init;
  g->mutable_initializer()->Swap(&inits);
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  for (auto& n : *g->mutable_node())
    if (!(n.op_type() == "Constant" && n.output_size() == 1 && dead(n.output(0)))) *nodes.Add() = n;
  g->mutable_node()->Swap(&nodes);
}

// An int32 bias behind a DequantizeLinear (ONNX Runtime's QDQ Conv/Gemm node unit): q_c =
// round(b_c / (s_in * s_w,c)) as calib8's own lowering does (quant::QuantizeBias), DQ scale
// s_in * s_w,c, int32 zero point 0, axis 0.
Pair BuildBias(const std::string& bias, const std::vector<int32_t>& q,
               const std::vector<float>& scales, NameSet* names) {
  Pair p;
  std::string qname = names->Unique(bias + "_int32");
  std::string scale = names->Unique(bias + "_scale");
  std::string zp = names->Unique(bias + "_zero_point");
  p.dq_output = names->Unique(bias + "_dequantized");
  onnx::TensorProto qt;
  qt.set_name(qname);
  qt.set_data_type(onnx::TensorProto::INT32);
  qt.add_dims(static_cast<int64_t>(q.size()));
  qt.set_raw_data(q.data(), q.size() * sizeof(int32_t));
  p.inits.push_back(qt);
  p.inits.push_back(MakeFloatTensor(scale, scales, false));
  onnx::TensorProto z;
  z.set_name(zp);
  z.set_data_type(onnx::TensorProto::INT32);
  z.add_dims(static_cast<int64_t>(q.size()));
  z.set_raw_data(std::string(q.size() * sizeof(int32_t), '\0'));
  p.inits.push_back(z);
  p.nodes.push_back(MakeNode("DequantizeLinear", names->Unique(bias + "_DequantizeLinear"),
                             {qname, scale, zp}, p.dq_output, 0));
  return p;
}

// One pass of FoldIntoConvForOrt over the graph: its constants (initializers and Constant nodes),
// its outputs and the consumers of each tensor, as they are before the pass folds a node.
struct FoldPass {
  FoldPass(const onnx::GraphProto& g, const std::string& source, const std::string& dir)
      : source(source), dir(dir) {
    for (const auto& i : g.initializer()) inits[i.name()] = &i;
    for (const auto& n : g.node())
      if (n.op_type() == "Constant" && IsDefaultDomain(n.domain()) && n.output_size() == 1)
        for (const auto& a : n.attribute())
          if (a.name() == "value" && a.has_t()) inits[n.output(0)] = &a.t();
    for (const auto& o : g.output()) graph_outputs.insert(o.name());
    for (int i = 0; i < g.node_size(); ++i)
      for (const auto& in : g.node(i).input())
        if (!in.empty()) consumers[in].push_back(i);
  }

  // The float32 constant `name` as a Tensor; nothing when it is no float constant or unreadable.
  std::optional<Tensor> F32(const std::string& name, const std::string& what) const {
    auto it = inits.find(name);
    if (it == inits.end() || it->second->data_type() != onnx::TensorProto::FLOAT)
      return std::nullopt;
    auto t = TensorFromProto(*it->second, source + ": " + what + " '" + name + "'", dir);
    if (!t.ok()) return std::nullopt;
    return std::move(*t);
  }

  const std::string& source;
  const std::string& dir;
  std::map<std::string, const onnx::TensorProto*> inits;  // initializers and Constant nodes
  std::set<std::string> graph_outputs;
  std::map<std::string, std::vector<int>> consumers;
};

// The per-channel affine y' = y * scale + shift that node `next` applies to the output `y` of a
// Conv with weight `w` and `oc` output channels: a BatchNormalization, or a Mul/Add by a constant
// that is one value or one per channel. False when `next` is none of these (nothing is folded).
bool FoldableAffine(const FoldPass& pass, const onnx::NodeProto& next, const std::string& y,
                    const Tensor& w, int64_t oc, std::vector<float>& scale,
                    std::vector<float>& shift) {
  if (next.op_type() == "BatchNormalization" && next.input_size() >= 5) {
    bool extra = false;
    for (int k = 1; k < next.output_size(); ++k) extra |= !next.output(k).empty();
    if (extra) return false;
    auto gamma = pass.F32(next.input(1), "scale"), beta = pass.F32(next.input(2), "B"),
         mean = pass.F32(next.input(3), "mean"), var = pass.F32(next.input(4), "var");
    if (!gamma || !beta || !mean || !var || gamma->numel() != oc || beta->numel() != oc ||
        mean->numel() != oc || var->numel() != oc)
      return false;
    float eps = FloatAttr(next, "epsilon", 1e-5f);
    for (int64_t o = 0; o < oc; ++o) {
      scale[o] = gamma->data<float>()[o] / std::sqrt(var->data<float>()[o] + eps);
      shift[o] = beta->data<float>()[o] - mean->data<float>()[o] * scale[o];
    }
  } else if ((next.op_type() == "Mul" || next.op_type() == "Add") && next.input_size() == 2 &&
             next.output_size() == 1) {
    const std::string& other = next.input(0) == y ? next.input(1) : next.input(0);
    auto k = pass.F32(other, "constant");
    if (!k) return false;
    // One value, or one per channel shaped [..., OC, 1, ..., 1] (the spatial axes are 1).
    const size_t spatial = w.shape().size() - 2;
    const auto& ks = k->shape();
    bool ok = k->numel() == 1;
    if (!ok && k->numel() == oc && ks.size() >= spatial + 1 && ks.size() <= spatial + 2) {
      ok = true;
      for (size_t d = 0; d < ks.size(); ++d)
        ok = ok && (d == ks.size() - spatial - 1 ? ks[d] == oc : ks[d] == 1);
    }
    if (!ok) return false;
    for (int64_t o = 0; o < oc; ++o) {
      float v = k->data<float>()[k->numel() == 1 ? 0 : o];
      if (next.op_type() == "Mul")
        scale[o] = v;
      else
        shift[o] = v;
    }
  } else {
    return false;
  }
  return true;
}

// Folds y' = y * scale + shift into Conv `ci` (weight `w`, bias `b` if any): writes the new weight
// and bias initializers, makes the Conv read them and write the output of node `ni`, removes `ni`,
// and adds the initializers no longer read by these two nodes to `*replaced`.
void FoldIntoConv(onnx::GraphProto* g, int ci, int ni, const Tensor& w,
                  const std::optional<Tensor>& b, int64_t oc, const std::vector<float>& scale,
                  const std::vector<float>& shift, NameSet* names,
                  std::set<std::string>* replaced) {
  const auto& conv = g->node(ci);
  const std::string& y = conv.output(0);
  const auto& next = g->node(ni);
  const int64_t per = w.numel() / oc;
  std::vector<float> nw(w.data<float>(), w.data<float>() + w.numel()), nb(oc);
  for (int64_t o = 0; o < oc; ++o) {
    for (int64_t e = 0; e < per; ++e) nw[o * per + e] *= scale[o];
    nb[o] = (b ? b->data<float>()[o] : 0.0f) * scale[o] + shift[o];
  }
  std::string base = conv.name().empty() ? y : conv.name();
  onnx::TensorProto wt = MakeFloatTensor(names->Unique(base + "_folded_W"), nw, false);
  wt.clear_dims();
  for (int64_t d : w.shape()) wt.add_dims(d);
  onnx::TensorProto bt = MakeFloatTensor(names->Unique(base + "_folded_B"), nb, false);
  *g->add_initializer() = wt;
  *g->add_initializer() = bt;
  auto* c = g->mutable_node(ci);
  replaced->insert(c->input(1));
  if (c->input_size() > 2) replaced->insert(c->input(2));
  c->set_input(1, wt.name());
  if (c->input_size() > 2)
    c->set_input(2, bt.name());
  else
    c->add_input(bt.name());
  c->set_output(0, next.output(0));
  for (const auto& in : next.input()) replaced->insert(in);
  g->mutable_node()->DeleteSubrange(ni, 1);
}

// Clip's lower bound when it is a constant (input 1, or the `min` attribute before opset 11).
bool ClipMinNonNegative(const onnx::NodeProto& n, const ConstantMap& constants,
                        const std::string& dir) {
  for (const auto& a : n.attribute())
    if (a.name() == "min") return a.f() >= 0.0f;
  if (n.input_size() < 2 || n.input(1).empty() || !constants.count(n.input(1))) return false;
  auto t = TensorFromProto(*constants.at(n.input(1)), "Clip min", dir);
  return t.ok() && t->dtype() == DataType::kFloat32 && t->numel() == 1 && t->data<float>()[0] >= 0;
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
struct OrtPlacement : PlacementInputs {
  explicit OrtPlacement(const PlacementInputs& in)
      : PlacementInputs(in), mode(options.ort_activations), plan(options.from_plan), names(*g) {}

  // Indexes the consumers (node, input) of every tensor and the graph outputs.
  void IndexConsumers() {
    for (int i = 0; i < g->node_size(); ++i)
      for (int j = 0; j < g->node(i).input_size(); ++j)
        if (!g->node(i).input(j).empty()) consumers[g->node(i).input(j)].push_back({i, j});
    for (const auto& o : g->output()) graph_outputs.insert(o.name());
  }

  // Tensors that are never negative by construction (as calib8's --unsigned-activations).
  void FindNonNegative() {
    for (int i = 0; i < g->node_size(); ++i) {
      const auto& n = g->node(i);
      if (!IsDefaultDomain(n.domain()) || n.output_size() < 1 || n.input_size() < 1) continue;
      const std::string& op = n.op_type();
      const ir::OpTraits& traits = ir::TraitsOf(op);
      bool nn = traits.nonneg_output || (op == "Clip" && ClipMinNonNegative(n, constants, dir));
      if (traits.keeps_sign && nonneg.count(n.input(0))) nn = true;
      if (traits.int8 == ir::Int8Role::kConcat) {
        nn = true;
        for (const auto& in : n.input()) nn = nn && nonneg.count(in);
      }
      if (nn) nonneg.insert(n.output(0));
    }
  }

  // Asks for a pair on `t` with its own scale.
  void Ask(const std::string& t) {
    if (t.empty() || constants.count(t) || options.keep_fp32.count(t)) return;
    if (plan && !residual_unit && !options.int8_tensors.count(t)) return;
    if (!scale_from.count(t)) {
      order.push_back(t);
      scale_from[t] = t;
    }
  }

  // Asks for a pair on `t` with the scale of `from` (`why` says why, for the report).
  void Carry(const std::string& t, const std::string& from, const std::string& why) {
    if (t.empty() || constants.count(t) || options.keep_fp32.count(t)) return;
    if (plan && !options.int8_tensors.count(t)) return;
    if (!scale_from.count(t)) order.push_back(t);
    scale_from[t] = from;
    carried_why[t] = why;
  }

  // The output of a unit (weighted op or Add): through a Relu that only it feeds.
  void UnitOutput(int i, bool float_ok) {
    const std::string& u = g->node(i).output(0);
    auto it = consumers.find(u);
    bool one_relu = it != consumers.end() && it->second.size() == 1 && !graph_outputs.count(u) &&
                    g->node(it->second[0].first).op_type() == "Relu" &&
                    IsDefaultDomain(g->node(it->second[0].first).domain()) &&
                    !kept_nodes.count(it->second[0].first);
    std::string out = one_relu ? g->node(it->second[0].first).output(0) : u;
    // Gemm/MatMul whose result only leaves the graph: ORT runs them with a float output, as
    // calib8 does (no requantize of the logits).
    if (float_ok && !consumers.count(out)) return;
    if (one_relu && mode == OrtActivations::kS8) {
      Carry(u, out,
            "int8 with zero point 0 cannot absorb the Relu: the op's output takes the "
            "Relu output's scale");
    } else {
      Ask(u == out ? u : out);
    }
  }

  bool InTable(const std::string& t) const { return table.Find(t) >= 0; }

  // Picks the node units (weighted ops, pooling, Concat, residual Add) and asks for their pairs.
  void ChooseUnits() {
    for (int i = 0; i < g->node_size(); ++i) {
      const auto& n = g->node(i);
      if (!IsDefaultDomain(n.domain()) || n.output_size() < 1) continue;
      const std::string& op = n.op_type();
      if (IsWeightedOp(op)) {
        int64_t axis = -1;
        if (CheckWeighted(n, i, constants, kept_nodes, options.keep_fp32, &axis, &rep) != 1)
          continue;
        Ask(n.input(0));
        reads_8bit.insert(i);
        weighted.push_back({i, n.input(0), n.input(1), axis});
        UnitOutput(i, op == "Gemm" || op == "MatMul");
      } else if (kept_nodes.count(i)) {
        continue;
      } else if (IsPoolingOp(op)) {
        Ask(n.input(0));
        reads_8bit.insert(i);
        Carry(n.output(0), n.input(0), "pooling keeps its input's scale");
      } else if (op == "Concat") {
        // Only float activations the table knows (not shape arithmetic on int64 tensors): a node
        // unit with a missing pair gains nothing in ORT, and calib8 runs such a Concat FP32 too.
        bool all = InTable(n.output(0));
        for (const auto& in : n.input()) all = all && !constants.count(in) && InTable(in);
        if (!all) continue;
        for (const auto& in : n.input()) Ask(in);
        reads_8bit.insert(i);
        Ask(n.output(0));
      } else if (op == "Add" && n.input_size() == 2 && !constants.count(n.input(0)) &&
                 !constants.count(n.input(1)) && InTable(n.input(0)) && InTable(n.input(1))) {
        // Under the plan placement too: ORT runs a residual Add of two activations as QLinearAdd
        // (calib8 adds in float); keeping the unit keeps ResNet-style models integer in ORT, and
        // it did not cost accuracy where the float epilogues did (docs/qdq.md).
        residual_unit = true;
        Ask(n.input(0));
        Ask(n.input(1));
        reads_8bit.insert(i);
        UnitOutput(i, false);
        residual_unit = false;
      }
    }
  }

  // Shape ops between paired tensors keep their input's scale, as calib8's INT8 run does (ORT then
  // drops the DQ -> Reshape/Flatten/... -> Q around them); a Relu absorbed into its unit in s8
  // mode still gets its own pair.
  void CarryThroughShapeOps() {
    static const std::set<std::string> kShapeOps = {"Reshape",   "Flatten",   "Squeeze",
                                                    "Unsqueeze", "Transpose", "Identity"};
    for (int i = 0; i < g->node_size(); ++i) {
      const auto& n = g->node(i);
      if (!IsDefaultDomain(n.domain()) || !kShapeOps.count(n.op_type()) || n.input_size() < 1 ||
          n.output_size() < 1 || kept_nodes.count(i))
        continue;
      auto it = scale_from.find(n.output(0));
      if (it != scale_from.end() && it->second == n.output(0) && scale_from.count(n.input(0)))
        Carry(n.output(0), n.input(0), n.op_type() + " keeps its input's scale");
    }
    // A Relu absorbed into its unit in s8 mode still needs its own pair (it runs FP32 between
    // them).
    if (mode == OrtActivations::kS8)
      for (const auto& [t, from] : std::map<std::string, std::string>(scale_from))
        if (from != t) {
          auto p = producer.find(from);
          if (p != producer.end() && g->node(p->second).op_type() == "Relu") Ask(from);
        }
  }

  // Resolves the scale of `t`: own entries from the table, carried ones from their source's
  // resolved scale. False (and `t` in `failed`) when there is no usable scale.
  Result<bool> Resolve(const std::string& t) {
    if (resolved.count(t)) return true;
    if (failed.count(t)) return false;
    Q q;
    const std::string& from = scale_from.count(t) ? scale_from[t] : t;
    if (from != t) {
      CALIB8_ASSIGN_OR_RETURN(bool ok, Resolve(from));
      if (!ok) {
        failed.insert(t);
        return false;
      }
      q = resolved[from];
    } else {
      ++rep.candidates;
      CALIB8_ASSIGN_OR_RETURN(Lookup found, LookupActivation(table, table_name, t, &q.bits, &rep));
      if (found == Lookup::kMissing) rep.uncovered.push_back(t);
      if (found != Lookup::kFound) {
        failed.insert(t);
        return false;
      }
      q.entry = t;
      float s = table::BitsToFloat(q.bits);
      q.scale = s;
      auto range = options.ranges.find(t);
      const quant::QParams asym =
          range == options.ranges.end()
              ? quant::QParams{}
              : quant::AsymmetricParams(range->second.first, range->second.second);
      if (mode == OrtActivations::kU8 && asym.scale > 0.0f) {
        q.zp = asym.zero_point == 0 ? ZeroPoint::kU8Zero : ZeroPoint::kU8Range;
        q.u8_value = static_cast<uint8_t>(asym.zero_point);
        q.scale = asym.scale;
        q.asym = true;
      } else if (mode != OrtActivations::kS8 && nonneg.count(t)) {
        q.zp = ZeroPoint::kU8Zero;
        q.scale = quant::ScaleFromAmax(quant::AmaxFromScale(s), true);
      } else if (mode == OrtActivations::kU8) {
        q.zp = ZeroPoint::kU8Mid;
      }
    }
    resolved[t] = q;
    return true;
  }

  // Builds the pair of every resolved tensor, records where its scale came from in `meta`, and
  // checks the table's coverage.
  Status BuildActivationPairs() {
    for (const auto& t : order) {
      if (!resolved.count(t)) continue;
      const Q& q = resolved[t];
      auto pit = producer.find(t);
      int after = pit != producer.end() ? pit->second : -1;
      Pair p = BuildPair(t, {q.scale}, -1, after, &names, q.zp, q.u8_value);
      std::string q_input = t;
      if (graph_outputs.count(t) && after >= 0) {
        // The op must feed only the Q: it writes a new tensor, the DQ writes the graph output.
        q_input = names.Unique(t + "_float");
        p.nodes[0].set_input(0, q_input);
        p.nodes[1].set_output(0, t);
        p.dq_output = t;
        renames.push_back({after, t});
      }
      if (q.entry == t) {
        paired.insert(t);
        rep.activations.push_back(t);
        meta << q_input << '\t' << t << '\t' << table::HexBits(q.bits) << '\n';
        // An asymmetric pair's scale is not derived from the table's: record it so that import
        // can tell the export's own pair from an edited one.
        if (q.asym)
          meta << q_input << "\t@asym\t" << table::HexBits(table::FloatToBits(q.scale)) << '\n';
      } else {
        rep.carried.push_back(t + " <- " + scale_from[t] + ": " + carried_why[t]);
        meta << q_input << "\t-\t" << scale_from[t] << '\n';
      }
      if (q.zp != ZeroPoint::kS8Zero) ++rep.unsigned_pairs;
      pairs[t] = std::move(p);
    }
    std::set<std::string> asked(order.begin(), order.end());
    std::map<std::string, std::string> carried_from;
    for (const auto& [t, from] : scale_from)
      if (from != t) carried_from[t] = from;
    return FinishCoverage(table, table_name, source, tensors, paired, asked, options, rep,
                          carried_from);
  }

  // Weights and int32 biases of the weighted ops whose activation got a pair.
  Status BuildWeightAndBiasPairs() {
    std::map<std::pair<std::string, int64_t>, std::pair<std::string, std::vector<float>>>
        weight_done;
    for (const auto& w : weighted) {
      const auto& n = g->node(w.node);
      if (!resolved.count(w.activation)) {
        rep.fp32_nodes.push_back(
            NodeLabel(n, w.node) + ": activation '" + w.activation +
            (plan && !options.int8_tensors.count(w.activation)
                 ? "' is not held in 8 bits by calib8's INT8 plan (`calib8 plan` says why)"
                 : "' has no usable table entry"));
        continue;
      }
      auto key = std::make_pair(w.weight, w.axis);
      if (!weight_done.count(key)) {
        std::string where = source + ": " + NodeLabel(n, w.node) + ": weight '" + w.weight + "'";
        CALIB8_ASSIGN_OR_RETURN(Tensor t, TensorFromProto(*constants.at(w.weight), where, dir));
        CALIB8_ASSIGN_OR_RETURN(std::vector<float> scales, WeightScales(t, w.axis, where));
        auto pw = producer.find(w.weight);
        Pair p = BuildPair(
            w.weight, scales, w.axis, pw != producer.end() ? pw->second : -1, &names,
            options.ort_weights == OrtWeights::kU8 ? ZeroPoint::kU8Mid : ZeroPoint::kS8Zero);
        weight_done[key] = {p.dq_output, scales};
        extra.push_back(std::move(p));
        rep.weights.push_back(w.weight);
      }
      const auto& [wdq, wscales] = weight_done[key];
      rewire_wb[w.node].first = wdq;
      // Bias: Conv/ConvTranspose input 2; Gemm C when alpha = beta = 1 and C is one row of N.
      const std::string& op = n.op_type();
      if (n.input_size() < 3 || n.input(2).empty() || !constants.count(n.input(2))) continue;
      if (op == "MatMul") continue;
      const auto* bp = constants.at(n.input(2));
      if (bp->data_type() != onnx::TensorProto::FLOAT) continue;
      if (op == "Gemm" &&
          (FloatAttr(n, "alpha", 1.0f) != 1.0f || FloatAttr(n, "beta", 1.0f) != 1.0f))
        continue;
      std::string where = source + ": " + NodeLabel(n, w.node) + ": bias '" + n.input(2) + "'";
      CALIB8_ASSIGN_OR_RETURN(Tensor b, TensorFromProto(*bp, where, dir));
      int64_t count = b.numel();
      bool row = b.shape().size() == 1 || (b.shape().size() == 2 && b.shape()[0] == 1);
      if (!row || (wscales.size() != 1 && static_cast<int64_t>(wscales.size()) != count)) continue;
      const float s_in = resolved[w.activation].scale;
      std::vector<int32_t> q(count);
      std::vector<float> bs(count);
      for (int64_t c = 0; c < count; ++c) {
        float sw = wscales.size() == 1 ? wscales[0] : wscales[c];
        q[c] = quant::QuantizeBias(b.data<float>()[c], s_in, sw);
        bs[c] = s_in * sw;
      }
      Pair p = BuildBias(n.input(2), q, bs, &names);
      rewire_wb[w.node].second = p.dq_output;
      extra.push_back(std::move(p));
      rep.biases.push_back(n.input(2));
    }
    return Status::Ok();
  }

  // Rewires every consumer of a paired tensor to the DQ output (and the weighted ops to their
  // weight and bias pairs), lays the pairs out and drops the FP32 biases nothing reads any more.
  void RewireAndEmit(std::string* sources) {
    for (const auto& [t, p] : pairs) {
      auto it = consumers.find(t);
      if (it == consumers.end() || p.dq_output == t) continue;
      const bool only_8bit = plan && options.quantized_at_use.count(t);
      for (const auto& [node, input] : it->second)
        if (!only_8bit || reads_8bit.count(node))
          g->mutable_node(node)->set_input(input, p.dq_output);
    }
    for (const auto& [node, out] : renames) {
      auto* n = g->mutable_node(node);
      for (int k = 0; k < n->output_size(); ++k)
        if (n->output(k) == out) n->set_output(k, pairs[out].nodes[0].input(0));
    }
    for (const auto& [node, wb] : rewire_wb) {
      auto* n = g->mutable_node(node);
      n->set_input(1, wb.first);
      if (!wb.second.empty()) n->set_input(2, wb.second);
    }
    // Drop the FP32 biases nothing reads any more (before the pairs are laid out: EmitPairs
    // keys on node positions).
    std::set<std::string> biases(rep.biases.begin(), rep.biases.end());

    std::vector<const Pair*> all;
    for (const auto& [t, p] : pairs) all.push_back(&p);
    for (const auto& p : extra) all.push_back(&p);
    EmitPairs(g, all);
    DropUnread(g, biases);
    *sources = meta.str();
  }

  const OrtActivations mode;
  const bool plan;

  std::map<std::string, std::vector<std::pair<int, int>>> consumers;
  std::set<std::string> graph_outputs;
  std::set<std::string> nonneg;
  // Which tensors get a pair, and where each pair's scale comes from (the tensor itself, or the
  // tensor it is carried from).
  std::vector<std::string> order;
  std::map<std::string, std::string> scale_from;
  std::map<std::string, std::string> carried_why;
  bool residual_unit = false;  // inside a residual Add's node unit (kept under the plan placement)
  std::vector<WeightedUse> weighted;
  std::set<int> reads_8bit;  // nodes whose activation inputs were asked for (the node units)
  std::map<std::string, Q> resolved;
  std::set<std::string> failed;
  NameSet names;
  std::map<std::string, Pair> pairs;
  std::set<std::string> paired;
  std::ostringstream meta;
  std::vector<std::pair<int, std::string>> renames;  // producer output renamed (graph outputs)
  std::vector<Pair> extra;                           // weight and bias pairs
  std::map<int, std::pair<std::string, std::string>> rewire_wb;  // node -> (weight dq, bias dq)
};

}  // namespace

Result<int> FoldIntoConvForOrt(onnx::GraphProto* g, const std::string& source,
                               const std::string& dir, NameSet* names,
                               std::set<std::string>* replaced) {
  int folded = 0;
  for (bool changed = true; changed;) {
    changed = false;
    FoldPass pass(*g, source, dir);
    for (int ci = 0; ci < g->node_size() && !changed; ++ci) {
      const auto& conv = g->node(ci);
      if (conv.op_type() != "Conv" || !IsDefaultDomain(conv.domain()) || conv.output_size() != 1 ||
          conv.input_size() < 2)
        continue;
      const std::string& y = conv.output(0);
      auto cit = pass.consumers.find(y);
      if (pass.graph_outputs.count(y) || cit == pass.consumers.end() || cit->second.size() != 1)
        continue;
      const int ni = cit->second[0];
      const auto& next = g->node(ni);
      if (!IsDefaultDomain(next.domain()) || next.output_size() < 1) continue;
      auto w = pass.F32(conv.input(1), "weight");
      if (!w || w->shape().size() < 3) continue;
      const int64_t oc = w->shape()[0];
      std::optional<Tensor> b;
      if (conv.input_size() > 2 && !conv.input(2).empty()) {
        b = pass.F32(conv.input(2), "bias");
        if (!b || b->numel() != oc) continue;
      }
      std::vector<float> scale(oc, 1.0f), shift(oc, 0.0f);  // y' = y * scale + shift
      if (!FoldableAffine(pass, next, y, *w, oc, scale, shift)) continue;
      FoldIntoConv(g, ci, ni, *w, b, oc, scale, shift, names, replaced);
      ++folded;
      changed = true;
    }
  }
  DropUnread(g, *replaced);
  return folded;
}

Status PlaceOrt(onnx::GraphProto* g, const ConstantMap& constants,
                const std::map<std::string, int>& producer, const std::set<std::string>& tensors,
                const std::set<int>& kept_nodes, const table::CalibrationTable& table,
                const std::string& table_name, const std::string& source, const std::string& dir,
                const QdqExportOptions& options, QdqExportReport& rep, std::string* sources) {
  OrtPlacement p(
      {g, constants, producer, tensors, kept_nodes, table, table_name, source, dir, options, rep});
  p.IndexConsumers();
  p.FindNonNegative();
  p.ChooseUnits();
  p.CarryThroughShapeOps();
  for (const auto& t : p.order) CALIB8_RETURN_IF_ERROR(p.Resolve(t).status());
  CALIB8_RETURN_IF_ERROR(p.BuildActivationPairs());
  CALIB8_RETURN_IF_ERROR(p.BuildWeightAndBiasPairs());
  p.RewireAndEmit(sources);
  return Status::Ok();
}

}  // namespace calib8::onnx_io::qdq_detail
