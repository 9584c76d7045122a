// ir/opset_upgrade.cc — see opset_upgrade.h. The version table below lists, per operator, the
// opsets (up to 13) that gave it a new definition (ONNX's since_version); each rewrite names the
// definitions it maps. Written against the ONNX operator specs (docs/Operators.md, Changelog.md).
#include "ir/opset_upgrade.h"

#include <algorithm>
#include <functional>
#include <set>
#include <utility>

namespace calib8::ir {
namespace {

constexpr int64_t kTarget = 13;

bool IsDefaultDomain(const std::string& d) { return d.empty() || d == "ai.onnx"; }

// One graph being upgraded: the nodes written so far, fresh names, what is known of values.
struct Upgrader {
  Graph* g;
  int64_t from;
  std::set<std::string> used;  // every node and value name in the graph
  std::vector<Node> out;       // the upgraded node list (new nodes go before their user)

  std::string Unique(const std::string& base) {
    std::string name = base;
    for (int i = 1; used.count(name); ++i) name = base + "_" + std::to_string(i);
    used.insert(name);
    return name;
  }
  std::string AddInit(const std::string& base, Tensor t) {
    std::string name = Unique(base);
    g->initializers[name] = std::move(t);
    return name;
  }
  std::string Int64s(const std::string& base, const std::vector<int64_t>& v) {
    return AddInit(base, Tensor::FromVector<int64_t>({static_cast<int64_t>(v.size())}, v));
  }
  std::string FloatScalar(const std::string& base, float v) {
    return AddInit(base, Tensor::FromVector<float>({}, {v}));
  }
  // A node of the opset-13 form placed before the node being rewritten.
  Node& Emit(const std::string& op, const std::string& name_base) {
    Node n;
    n.op_type = op;
    n.name = Unique(name_base);
    out.push_back(std::move(n));
    return out.back();
  }
  const ValueInfo* Info(const std::string& name) const {
    for (const auto& v : g->inputs)
      if (v.name == name) return &v;
    auto it = g->value_info.find(name);
    return it != g->value_info.end() ? &it->second : nullptr;
  }
  // Rank of a value: initializer, graph input or inferred value_info; -1 when unknown.
  int Rank(const std::string& name) const {
    if (const Tensor* t = g->FindInitializer(name)) return t->rank();
    const ValueInfo* v = Info(name);
    return v && v->has_shape ? static_cast<int>(v->dims.size()) : -1;
  }
  DataType Type(const std::string& name) const {
    if (const Tensor* t = g->FindInitializer(name)) return t->dtype();
    const ValueInfo* v = Info(name);
    return v ? v->dtype : DataType::kUndefined;
  }
};

// "node 'n' (Op): Op-6 (opset 9) cannot be upgraded to opset 13: " + what.
template <typename... Args>
Status CannotUpgrade(const Upgrader& u, const Node& n, int64_t version, const Args&... what) {
  return InvalidArgument(u.g->source.empty() ? "graph" : u.g->source, ": node ", n.Describe(), ": ",
                         n.op_type, "-", version, " (opset ", u.from,
                         ") cannot be upgraded to opset 13: ", what...);
}

void SetInput(Node& n, size_t i, const std::string& name) {
  if (n.inputs.size() <= i) n.inputs.resize(i + 1);
  n.inputs[i] = name;
}

void Drop(Node& n, std::initializer_list<const char*> names) {
  for (const char* a : names) n.attrs.erase(a);
}

// How a rule changes a node: kRelabel keeps the form, kRewrite changes it (for the report).
enum class Change { kRelabel, kRewrite };
using Rule = std::function<Result<Change>(Upgrader&, Node&, int64_t version)>;

// The node keeps its form at 13 (only types, negative axes or optional parts were added);
// `consumed_inputs` (a memory hint of the version-1 definitions, removed at 6) goes.
Result<Change> Relabel(Upgrader&, Node& n, int64_t) {
  Drop(n, {"consumed_inputs"});
  return Change::kRelabel;
}

// An int64 list attribute that became input `index` (Squeeze/Unsqueeze/ReduceSum "axes" at 13,
// Split "split" at 13, Reshape "shape" at 5). Absent: the input stays absent (same default).
Result<Change> AttrToInput(Upgrader& u, Node& n, int64_t version, const char* attr, size_t index,
                           bool required) {
  const Attribute* a = n.FindAttr(attr);
  if (!a) {
    if (required) return CannotUpgrade(u, n, version, "the '", attr, "' attribute is missing");
    Drop(n, {"consumed_inputs"});
    return Change::kRelabel;
  }
  SetInput(n, index, u.Int64s(n.outputs[0] + "/" + attr, a->ints));
  Drop(n, {attr, "consumed_inputs"});
  return Change::kRewrite;
}

// Relabelled from version `first` on; an earlier definition (a different form) is refused.
Rule RelabelSince(int64_t first) {
  return [first](Upgrader& u, Node& n, int64_t v) -> Result<Change> {
    if (v < first)
      return CannotUpgrade(u, n, v, "its form changed at ", first, " and calib8 has no rewrite");
    return Relabel(u, n, v);
  };
}

Rule AxesRule(const char* attr, size_t index, bool required) {
  return [attr, index, required](Upgrader& u, Node& n, int64_t v) {
    return AttrToInput(u, n, v, attr, index, required);
  };
}

// Clip-1/6: float attributes min and max (defaults: the float range) -> Clip-11 inputs 1, 2.
Result<Change> ClipTo13(Upgrader& u, Node& n, int64_t version) {
  if (version >= 11) return Relabel(u, n, version);  // 12 and 13 added types only
  const DataType type = u.Type(n.input(0));
  if (type != DataType::kFloat32 && type != DataType::kUndefined)
    return CannotUpgrade(u, n, version, "min/max inputs of type ", DataTypeName(type),
                         " (calib8 writes the attributes' values as float32)");
  if (const Attribute* lo = n.FindAttr("min"))
    SetInput(n, 1, u.FloatScalar(n.outputs[0] + "/clip_min", lo->f));
  if (const Attribute* hi = n.FindAttr("max"))
    SetInput(n, 2, u.FloatScalar(n.outputs[0] + "/clip_max", hi->f));
  Drop(n, {"min", "max", "consumed_inputs"});
  return Change::kRewrite;
}

// Slice-1: attributes starts, ends, axes -> Slice-10 inputs 1..3 (steps: default 1 in both).
Result<Change> SliceTo13(Upgrader& u, Node& n, int64_t version) {
  if (version >= 10) return Relabel(u, n, version);  // 11: negative indices, 13: types
  const Attribute* starts = n.FindAttr("starts");
  const Attribute* ends = n.FindAttr("ends");
  if (!starts || !ends) return CannotUpgrade(u, n, version, "'starts' or 'ends' is missing");
  const std::string base = n.outputs[0];
  SetInput(n, 1, u.Int64s(base + "/starts", starts->ints));
  SetInput(n, 2, u.Int64s(base + "/ends", ends->ints));
  if (const Attribute* axes = n.FindAttr("axes"))
    SetInput(n, 3, u.Int64s(base + "/axes", axes->ints));
  Drop(n, {"starts", "ends", "axes"});
  return Change::kRewrite;
}

// Pad-1 ("paddings") / Pad-2 ("pads"), mode, value -> Pad-11: pads input, constant_value input
// of the data's type (written for float32 data; a zero value is the default and is left out).
Result<Change> PadTo13(Upgrader& u, Node& n, int64_t version) {
  if (version >= 11) return Relabel(u, n, version);
  const Attribute* pads = n.FindAttr(version == 1 ? "paddings" : "pads");
  if (!pads) return CannotUpgrade(u, n, version, "the pads attribute is missing");
  const float value = n.GetFloat("value", 0.0f);
  if (value != 0.0f && u.Type(n.input(0)) != DataType::kFloat32)
    return CannotUpgrade(u, n, version, "a constant pad value of ", value,
                         " on data not known to be float32 (its type is needed for "
                         "Pad-13's constant_value input)");
  SetInput(n, 1, u.Int64s(n.outputs[0] + "/pads", pads->ints));
  if (value != 0.0f) SetInput(n, 2, u.FloatScalar(n.outputs[0] + "/pad_value", value));
  Drop(n, {"pads", "paddings", "value"});
  return Change::kRewrite;
}

// Softmax/LogSoftmax/Hardmax-1/11 coerce the input to 2-D [d0*..*d(axis-1), d(axis)*..*dn]
// and normalise each row; from 13 they normalise along `axis` alone. The same when `axis` is the
// last dimension (kept, axis made explicit); otherwise Flatten(axis) -> op(axis=1) ->
// Reshape(Shape(x)) is the old meaning.
Result<Change> SoftmaxTo13(Upgrader& u, Node& n, int64_t version) {
  int64_t axis = n.GetInt("axis", 1);
  const int rank = u.Rank(n.input(0));
  if (rank >= 0) {
    if (axis < -rank || axis >= std::max(rank, 1))
      return CannotUpgrade(u, n, version, "axis ", axis, " is out of range for rank ", rank);
    if (axis < 0) axis += rank;
    if (axis == rank - 1 || rank == 0) {  // same form, but the definition changed: a rewrite
      n.attrs["axis"] = Attribute::Int(-1);
      return Change::kRewrite;
    }
  } else if (axis < 0) {
    return CannotUpgrade(u, n, version, "a negative axis on an input of unknown rank");
  }
  const std::string x = n.input(0), y = n.outputs[0], base = n.name.empty() ? y : n.name;
  Node& flat = u.Emit("Flatten", base + "/flatten");
  flat.inputs = {x};
  flat.outputs = {u.Unique(y + "/flat")};
  flat.attrs["axis"] = Attribute::Int(axis);
  const std::string flat_y = flat.outputs[0];
  Node& shape = u.Emit("Shape", base + "/shape");
  shape.inputs = {x};
  shape.outputs = {u.Unique(y + "/shape")};
  const std::string shape_y = shape.outputs[0];
  // The op itself on the 2-D tensor; the Reshape after it writes the old output name.
  Node op = n;
  op.inputs[0] = flat_y;
  op.outputs = {u.Unique(y + "/flat_out")};
  op.attrs["axis"] = Attribute::Int(1);
  u.out.push_back(op);
  Node reshape;
  reshape.op_type = "Reshape";
  reshape.name = u.Unique(base + "/reshape");
  reshape.inputs = {op.outputs[0], shape_y};
  reshape.outputs = {y};
  n = std::move(reshape);
  return Change::kRewrite;
}

// Nearest rounding of Upsample-7/9 and Resize-10 as calib8 runs them (asymmetric coordinates,
// truncation when enlarging, ceil when shrinking), as a Resize-13 nearest_mode: "floor" when no
// scale is below 1, "ceil" when none is above 1 (with scale 1 both give the same index).
Result<std::string> NearestMode(Upgrader& u, const Node& n, int64_t version,
                                const std::vector<float>* scales, bool may_shrink) {
  if (!scales) {
    if (!may_shrink) return std::string("floor");  // Upsample: scales >= 1 by definition
    return CannotUpgrade(u, n, version,
                         "nearest rounding depends on whether the scales (not a constant) "
                         "enlarge or shrink");
  }
  bool up = false, down = false;
  for (float s : *scales) {
    up = up || s > 1.0f;
    down = down || s < 1.0f;
  }
  if (up && down)
    return CannotUpgrade(u, n, version,
                         "scales that enlarge some axes and shrink others (truncation and ceil "
                         "rounding in one node has no Resize-13 nearest_mode)");
  return std::string(down ? "ceil" : "floor");
}

// Upsample-1 (height_scale/width_scale), -7 (scales attribute), -9 (scales input) and Resize-10
// (scales input) -> Resize-13 (X, roi "", scales) with coordinate_transformation_mode
// "asymmetric", the mode kept (bilinear = linear) and the nearest rounding above.
Result<Change> ResizeTo13(Upgrader& u, Node& n, int64_t version) {
  const bool resize = n.op_type == "Resize";
  if (resize && version >= 11) return Relabel(u, n, version);  // 13: roi/scales optional, types
  std::string mode = n.GetString("mode", "nearest");
  if (mode == "bilinear") mode = "linear";
  if (mode != "nearest" && mode != "linear")
    return CannotUpgrade(u, n, version, "mode '", mode, "' (expected nearest or linear)");
  std::vector<float> values;
  const std::vector<float>* known = nullptr;
  std::string scales;
  if (!resize && version < 9) {
    values = n.GetFloats("scales");
    if (version < 7) {  // Upsample-1: the last two dims (NCHW) scaled by the two attributes
      const int rank = u.Rank(n.input(0));
      if (rank < 2)
        return CannotUpgrade(u, n, version,
                             "the input's rank (unknown or below 2), which the "
                             "height_scale/width_scale attributes need to become scales");
      values.assign(static_cast<size_t>(rank), 1.0f);
      values[values.size() - 2] = n.GetFloat("height_scale", 1.0f);
      values[values.size() - 1] = n.GetFloat("width_scale", 1.0f);
    }
    if (values.empty()) return CannotUpgrade(u, n, version, "the 'scales' attribute is missing");
    scales = u.AddInit(n.outputs[0] + "/scales",
                       Tensor::FromVector<float>({static_cast<int64_t>(values.size())}, values));
    known = &values;
  } else {
    scales = n.input(1);
    if (scales.empty()) return CannotUpgrade(u, n, version, "the scales input is missing");
    if (const Tensor* t = u.g->FindInitializer(scales); t && t->dtype() == DataType::kFloat32) {
      values.assign(t->data<float>(), t->data<float>() + t->numel());
      known = &values;
    }
  }
  Node r;
  r.name = n.name;
  r.op_type = "Resize";
  r.domain = n.domain;
  r.inputs = {n.input(0), "", scales};
  r.outputs = {n.outputs[0]};
  r.attrs["mode"] = Attribute::String(mode);
  r.attrs["coordinate_transformation_mode"] = Attribute::String("asymmetric");
  if (mode == "nearest") {
    CALIB8_ASSIGN_OR_RETURN(std::string nearest, NearestMode(u, n, version, known, resize));
    r.attrs["nearest_mode"] = Attribute::String(nearest);
  }
  n = std::move(r);
  return Change::kRewrite;
}

// BatchNormalization-1/6/7: is_test, spatial (1 = per channel, the only meaning from 9) and
// consumed_inputs go; inference has one output (trailing unnamed optional outputs are dropped).
Result<Change> BatchNormTo13(Upgrader& u, Node& n, int64_t version) {
  if (version >= 9) return Relabel(u, n, version);
  if (n.GetInt("spatial", 1) != 1)
    return CannotUpgrade(u, n, version, "spatial=", n.GetInt("spatial", 1),
                         " (statistics per element) has no form after opset 8");
  while (n.outputs.size() > 1 && n.outputs.back().empty()) n.outputs.pop_back();
  if (n.outputs.size() > 1)
    return CannotUpgrade(u, n, version, n.outputs.size(),
                         " outputs (training mode); only inference (one output) has a form at 13");
  Drop(n, {"spatial", "is_test", "consumed_inputs"});
  return Change::kRewrite;
}

// ONNX TensorProto type codes, for Cast-1's type names and the Dropout mask.
int OnnxCode(DataType t) {
  switch (t) {
#define CALIB8_X(name, ctype, onnx, str) \
  case DataType::name:                   \
    return onnx;
    CALIB8_DATA_TYPES(CALIB8_X)
#undef CALIB8_X
    default:
      return 0;
  }
}

// Dropout: 7 dropped is_test (6) and consumed_inputs (1); 10 made the mask bool (the input's type
// before: here a Cast of the bool mask writes the old mask name); 12 made ratio an input (the
// attribute's value, default 0.5 in both) and added training_mode (absent = inference, the mode
// calib8 runs Dropout in at every opset).
Result<Change> DropoutTo13(Upgrader& u, Node& n, int64_t version) {
  if (version >= 12) return Relabel(u, n, version);
  const bool has_mask = n.outputs.size() > 1 && !n.outputs[1].empty();
  if (version < 10 && has_mask) {
    const int code = OnnxCode(u.Type(n.input(0)));
    if (!code)
      return CannotUpgrade(u, n, version,
                           "the mask output has the input's type before opset 10, which is not "
                           "known here (needed to Cast the opset-13 bool mask)");
    const std::string mask = n.outputs[1];
    n.outputs[1] = u.Unique(mask + "/bool");
    Node cast;
    cast.op_type = "Cast";
    cast.name = u.Unique((n.name.empty() ? mask : n.name) + "/mask_cast");
    cast.inputs = {n.outputs[1]};
    cast.outputs = {mask};
    cast.attrs["to"] = Attribute::Int(code);
    u.out.push_back(n);  // Dropout first, then the Cast (written by the caller as `n`)
    n = std::move(cast);
    Node& drop = u.out.back();
    if (const Attribute* ratio = drop.FindAttr("ratio"))
      SetInput(drop, 1, u.FloatScalar(mask + "/ratio", ratio->f));
    Drop(drop, {"ratio", "is_test", "consumed_inputs"});
    return Change::kRewrite;
  }
  if (const Attribute* ratio = n.FindAttr("ratio"))
    SetInput(n, 1, u.FloatScalar(n.outputs[0] + "/ratio", ratio->f));
  Drop(n, {"ratio", "is_test", "consumed_inputs"});
  return Change::kRewrite;
}

// Cast-1: `to` was the type's name ("FLOAT"); from 6 it is the TensorProto code.
Result<Change> CastTo13(Upgrader& u, Node& n, int64_t version) {
  const Attribute* to = n.FindAttr("to");
  if (version >= 6 || !to || to->kind != Attribute::Kind::kString) return Relabel(u, n, version);
  static const std::map<std::string, int> kCodes = {
      {"FLOAT", 1},   {"UINT8", 2},   {"INT8", 3},    {"UINT16", 4}, {"INT16", 5},
      {"INT32", 6},   {"INT64", 7},   {"STRING", 8},  {"BOOL", 9},   {"FLOAT16", 10},
      {"DOUBLE", 11}, {"UINT32", 12}, {"UINT64", 13},
  };
  auto it = kCodes.find(to->s);
  if (it == kCodes.end()) return CannotUpgrade(u, n, version, "unknown type name '", to->s, "'");
  n.attrs["to"] = Attribute::Int(it->second);
  return Change::kRewrite;
}

// Concat-1: axis optional with default 1; required from 4.
Result<Change> ConcatTo13(Upgrader& u, Node& n, int64_t version) {
  if (version >= 4 || n.HasAttr("axis")) return Relabel(u, n, version);
  n.attrs["axis"] = Attribute::Int(1);
  return Change::kRewrite;
}

// Legacy broadcasting (Add/Sub/Mul/Div-1/6, Pow/Equal/Less/Greater/And/Or/Xor-1): with
// broadcast=1, B's shape matches a run of A's dims starting at `axis` (default: A's trailing
// dims); numpy broadcasting from 7 aligns trailing dims, so B gains trailing 1s through an
// Unsqueeze when `axis` is not the trailing position. Without broadcast the shapes are equal.
Result<Change> LegacyBroadcast(Upgrader& u, Node& n, int64_t version) {
  if (version >= 7) return Relabel(u, n, version);
  const bool broadcast = n.GetInt("broadcast", 0) != 0;
  if (broadcast && n.HasAttr("axis")) {
    const int ra = u.Rank(n.input(0)), rb = u.Rank(n.input(1));
    if (ra < 0 || rb < 0)
      return CannotUpgrade(u, n, version,
                           "broadcast with an explicit axis needs the ranks of A and B (unknown)");
    int64_t axis = n.GetInt("axis", 0);
    if (axis < 0) axis += ra;
    const int64_t trailing = ra - axis - rb;  // dims of A after B's run
    if (axis < 0 || trailing < 0)
      return CannotUpgrade(u, n, version, "axis ", n.GetInt("axis", 0), " does not place B (rank ",
                           rb, ") inside A (rank ", ra, ")");
    if (trailing > 0) {
      std::vector<int64_t> axes;
      for (int64_t k = 0; k < trailing; ++k) axes.push_back(rb + k);
      const std::string b = n.input(1);
      Node& unsq = u.Emit("Unsqueeze", (n.name.empty() ? n.outputs[0] : n.name) + "/unsqueeze_b");
      unsq.inputs = {b, u.Int64s(n.outputs[0] + "/b_axes", axes)};
      unsq.outputs = {u.Unique(b + "/aligned")};
      n.inputs[1] = unsq.outputs[0];
    }
  }
  const bool had = n.HasAttr("broadcast") || n.HasAttr("axis") || n.HasAttr("consumed_inputs");
  Drop(n, {"broadcast", "axis", "consumed_inputs"});
  return had ? Change::kRewrite : Change::kRelabel;
}

// Gemm-1/6: `broadcast` (C broadcast by the legacy rule, which for Gemm's suffix alignment is
// numpy's unidirectional rule of 7) goes; 9 added types, 11 made C optional.
Result<Change> GemmTo13(Upgrader& u, Node& n, int64_t version) {
  if (version >= 7) return Relabel(u, n, version);
  Drop(n, {"broadcast", "consumed_inputs"});
  return Change::kRewrite;
}

// PRelu-1/6: the slope's broadcasting was defined only for a one-element slope ("shared across
// channels"); 7 made it numpy unidirectional. Relabelled when the slope is a one-element constant.
Result<Change> PReluTo13(Upgrader& u, Node& n, int64_t version) {
  if (version >= 7) return Relabel(u, n, version);
  const Tensor* slope = u.g->FindInitializer(n.input(1));
  if (!slope || slope->numel() != 1)
    return CannotUpgrade(u, n, version,
                         "PRelu before 7 defines its slope's broadcasting only for a one-element "
                         "slope (here not a one-element constant)");
  return Relabel(u, n, version);
}

// Reshape-1: the shape attribute -> Reshape-5 input 1.
Result<Change> ReshapeTo13(Upgrader& u, Node& n, int64_t version) {
  if (version >= 5) return Relabel(u, n, version);
  return AttrToInput(u, n, version, "shape", 1, true);
}

// Versions up to 13 of every operator this pass knows (ONNX since_version), and its rule.
struct OpRule {
  std::vector<int64_t> versions;
  Rule rule;
};

const std::map<std::string, OpRule>& Table() {
  static const std::map<std::string, OpRule> kTable = [] {
    std::map<std::string, OpRule> t;
    const std::vector<int64_t> v1_6_13 = {1, 6, 13};
    for (const char* op : {"Relu", "Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Neg", "Abs",
                           "Reciprocal", "Floor", "Ceil"})
      t[op] = {v1_6_13, Relabel};
    for (const char* op : {"LeakyRelu", "HardSigmoid", "Elu", "Selu", "InstanceNormalization"})
      t[op] = {{1, 6}, Relabel};
    for (const char* op : {"Erf", "Sign"}) t[op] = {{9, 13}, Relabel};
    for (const char* op : {"Sin", "Cos"}) t[op] = {{7}, Relabel};
    for (const char* op : {"Softplus", "Not", "GlobalAveragePool", "GlobalMaxPool"})
      t[op] = {{1}, Relabel};
    for (const char* op : {"Add", "Sub", "Mul", "Div"}) t[op] = {{1, 6, 7, 13}, LegacyBroadcast};
    t["Pow"] = {{1, 7, 12, 13}, LegacyBroadcast};
    t["Equal"] = {{1, 7, 11, 13}, LegacyBroadcast};
    for (const char* op : {"Less", "Greater"}) t[op] = {{1, 7, 9, 13}, LegacyBroadcast};
    for (const char* op : {"And", "Or", "Xor"}) t[op] = {{1, 7}, LegacyBroadcast};
    for (const char* op : {"LessOrEqual", "GreaterOrEqual"}) t[op] = {{12}, Relabel};
    // Max/Min/Sum/Mean-1/6 required equal shapes; 8 added numpy broadcasting (a superset).
    for (const char* op : {"Max", "Min"}) t[op] = {{1, 6, 8, 12, 13}, Relabel};
    for (const char* op : {"Sum", "Mean"}) t[op] = {{1, 6, 8, 13}, Relabel};
    t["Mod"] = {{10, 13}, Relabel};
    t["Where"] = {{9}, Relabel};
    t["Clip"] = {{1, 6, 11, 12, 13}, ClipTo13};
    t["PRelu"] = {{1, 6, 7, 9}, PReluTo13};
    t["Cast"] = {{1, 6, 9, 13}, CastTo13};
    t["Identity"] = {{1, 13}, Relabel};
    t["Dropout"] = {{1, 6, 7, 10, 12, 13}, DropoutTo13};
    t["Concat"] = {{1, 4, 11, 13}, ConcatTo13};
    t["Split"] = {{1, 2, 11, 13}, AxesRule("split", 1, false)};
    t["Reshape"] = {{1, 5, 13}, ReshapeTo13};
    t["Flatten"] = {{1, 9, 11, 13}, Relabel};
    for (const char* op : {"Transpose", "Shape"}) t[op] = {{1, 13}, Relabel};
    t["Squeeze"] = {{1, 11, 13}, AxesRule("axes", 1, false)};
    t["Unsqueeze"] = {{1, 11, 13}, AxesRule("axes", 1, true)};
    t["Slice"] = {{1, 10, 11, 13}, SliceTo13};
    t["Gather"] = {{1, 11, 13}, Relabel};
    t["Expand"] = {{8, 13}, Relabel};
    t["Pad"] = {{1, 2, 11, 13}, PadTo13};
    t["Resize"] = {{10, 11, 13}, ResizeTo13};
    t["Upsample"] = {{1, 7, 9}, ResizeTo13};  // deprecated at 10: Resize-13 at 13
    for (const char* op : {"Softmax", "LogSoftmax", "Hardmax"}) t[op] = {{1, 11, 13}, SoftmaxTo13};
    t["BatchNormalization"] = {{1, 6, 7, 9}, BatchNormTo13};
    t["ReduceMean"] = {{1, 11, 13}, Relabel};
    for (const char* op : {"ReduceMax", "ReduceMin"}) t[op] = {{1, 11, 12, 13}, Relabel};
    t["ReduceSum"] = {{1, 11, 13}, AxesRule("axes", 1, false)};
    // QuantizeLinear/DequantizeLinear-10 take a scalar scale; 13 added per-axis scales.
    for (const char* op : {"QuantizeLinear", "DequantizeLinear"}) t[op] = {{10, 13}, Relabel};
    for (const char* op : {"Conv", "ConvTranspose"}) t[op] = {{1, 11}, Relabel};
    t["Gemm"] = {{1, 6, 7, 9, 11, 13}, GemmTo13};
    t["MatMul"] = {{1, 9, 13}, Relabel};
    t["MaxPool"] = {{1, 8, 10, 11, 12}, Relabel};
    t["AveragePool"] = {{1, 7, 10, 11}, Relabel};
    t["Constant"] = {{1, 9, 11, 12, 13}, Relabel};
    // Operators calib8 has no kernel for but a model may still hold (a part run elsewhere, or an
    // export of a model calib8 only partially runs): same form up to 13 from the first version
    // listed in RelabelSince (types, negative axes and optional parts added since).
    for (const char* op : {"ArgMax", "ArgMin"}) t[op] = {{1, 11, 12, 13}, Relabel};
    for (const char* op :
         {"ReduceL1", "ReduceL2", "ReduceLogSumExp", "ReduceProd", "ReduceSumSquare"})
      t[op] = {{1, 11, 13}, Relabel};
    t["DepthToSpace"] = {{1, 11, 13}, Relabel};
    t["SpaceToDepth"] = {{1, 13}, Relabel};
    t["LRN"] = {{1, 13}, Relabel};
    t["Softsign"] = {{1}, Relabel};
    t["ConstantOfShape"] = {{9}, Relabel};
    for (const char* op : {"CumSum", "Range", "Round"}) t[op] = {{11}, Relabel};
    t["Einsum"] = {{12}, Relabel};
    t["GatherElements"] = {{11, 13}, Relabel};
    t["GatherND"] = {{11, 12, 13}, Relabel};
    t["ScatterND"] = {{11, 13}, Relabel};
    t["Tile"] = {{1, 6, 13}, RelabelSince(6)};
    t["TopK"] = {{1, 10, 11}, RelabelSince(11)};
    return t;
  }();
  return kTable;
}

// Upgrades one node (appending it, and any nodes it needs before it, to u.out).
Status UpgradeNode(Upgrader& u, Node n, OpsetUpgradeReport* report) {
  if (!IsDefaultDomain(n.domain)) {
    u.out.push_back(std::move(n));
    return Status::Ok();
  }
  auto it = Table().find(n.op_type);
  const int64_t version = OpVersionAt(n.op_type, u.from);
  if (it == Table().end())
    return InvalidArgument(u.g->source.empty() ? "graph" : u.g->source, ": node ", n.Describe(),
                           ": ", n.op_type, " (opset ", u.from,
                           ") cannot be upgraded to opset 13: calib8 has no record of how its "
                           "definition changed up to 13");
  if (version == 0)
    return InvalidArgument(u.g->source.empty() ? "graph" : u.g->source, ": node ", n.Describe(),
                           ": ", n.op_type, " is not defined at opset ", u.from, " (first in ",
                           it->second.versions.front(), ")");
  for (const auto& [key, attr] : n.attrs)
    if (attr.kind == Attribute::Kind::kGraph)
      return CannotUpgrade(u, n, version, "its subgraph attribute '", key,
                           "' (calib8 does not keep subgraphs)");
  if (version == OpVersionAt(n.op_type, kTarget) && !n.HasAttr("consumed_inputs") &&
      n.op_type != "Upsample") {  // deprecated at 10: Resize at every later opset
    u.out.push_back(std::move(n));
    return Status::Ok();
  }
  const std::string op = n.op_type;
  CALIB8_ASSIGN_OR_RETURN(Change change, it->second.rule(u, n, version));
  ++(change == Change::kRewrite ? report->rewritten : report->relabelled)[op];
  u.out.push_back(std::move(n));
  return Status::Ok();
}

}  // namespace

int64_t OpVersionAt(const std::string& op, int64_t opset) {
  auto it = Table().find(op);
  if (it == Table().end()) return 0;
  int64_t version = 0;
  for (int64_t v : it->second.versions)
    if (v <= opset) version = v;
  return version;
}

Status UpgradeOpsTo13(Graph* g, OpsetUpgradeReport* report) {
  OpsetUpgradeReport local;
  if (!report) report = &local;
  const int64_t from = g->DefaultOpset();
  report->opset_before = from;
  report->opset_after = from;
  if (from >= kTarget) return Status::Ok();
  // Work on a copy, so that an error leaves the caller's graph as it was.
  Graph work = *g;
  Upgrader u{&work, from, {}, {}};
  for (const auto& v : work.inputs) u.used.insert(v.name);
  for (const auto& v : work.outputs) u.used.insert(v.name);
  for (const auto& [name, v] : work.value_info) u.used.insert(name);
  for (const auto& [name, t] : work.initializers) u.used.insert(name);
  for (const auto& n : work.nodes) {
    u.used.insert(n.name);
    u.used.insert(n.inputs.begin(), n.inputs.end());
    u.used.insert(n.outputs.begin(), n.outputs.end());
  }
  OpsetUpgradeReport counts;
  u.out.reserve(work.nodes.size());
  for (const Node& n : work.nodes) CALIB8_RETURN_IF_ERROR(UpgradeNode(u, n, &counts));
  work.nodes = std::move(u.out);
  work.opsets[""] = kTarget;
  work.opsets.erase("ai.onnx");
  *g = std::move(work);
  report->opset_after = kTarget;
  for (const auto& [op, count] : counts.rewritten) {
    report->rewritten[op] += count;
    report->notes.push_back(op + ": " + std::to_string(count) + " node(s) rewritten to " +
                            (op == "Upsample" ? "Resize" : op) + "-13");
  }
  int relabelled = 0;
  for (const auto& [op, count] : counts.relabelled) {
    report->relabelled[op] += count;
    relabelled += count;
  }
  if (relabelled)  // one line: a model has dozens of such operators
    report->notes.push_back(std::to_string(relabelled) + " node(s) of " +
                            std::to_string(counts.relabelled.size()) +
                            " other operator(s) keep their form at 13");
  return Status::Ok();
}

}  // namespace calib8::ir
