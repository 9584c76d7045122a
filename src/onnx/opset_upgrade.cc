// onnx/opset_upgrade.cc — see opset_upgrade.h. The definitions compared are the ONNX operator
// changelog's (docs/qdq.md, "Opset raise"); each rewrite below names the two versions it maps.
#include "onnx/opset_upgrade.h"

#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <functional>
#include <limits>
#include <map>

#include "onnx/onnx_import.h"

namespace calib8::onnx_io {
namespace {

bool IsDefault(const std::string& d) { return d.empty() || d == "ai.onnx"; }

// Since which opset each rewritten operator has its opset-13 definition: a model at `from` below
// that needs the rewrite (Upsample has none: deprecated at 10, replaced by Resize).
const std::map<std::string, int64_t>& UpgradeTable() {
  static const std::map<std::string, int64_t> kTable = {
      {"BatchNormalization", 9}, {"Clip", 11},  {"Dropout", 12},   {"Hardmax", 13},
      {"LogSoftmax", 13},        {"Pad", 11},   {"ReduceSum", 13}, {"Slice", 10},
      {"Softmax", 13},           {"Split", 13}, {"Squeeze", 13},   {"Unsqueeze", 13},
      {"Upsample", 1000},
  };
  return kTable;
}

// Names already in the graph, to make new ones unique.
class Names {
 public:
  explicit Names(const onnx::GraphProto& g) {
    for (const auto& v : g.input()) used_.insert(v.name());
    for (const auto& v : g.output()) used_.insert(v.name());
    for (const auto& v : g.value_info()) used_.insert(v.name());
    for (const auto& t : g.initializer()) used_.insert(t.name());
    for (const auto& n : g.node()) {
      used_.insert(n.name());
      for (const auto& s : n.input()) used_.insert(s);
      for (const auto& s : n.output()) used_.insert(s);
    }
  }
  std::string Unique(const std::string& base) {
    std::string name = base;
    for (int i = 1; used_.count(name); ++i) name = base + "_" + std::to_string(i);
    used_.insert(name);
    return name;
  }

 private:
  std::set<std::string> used_;
};

// One graph being rewritten: new initializers and nodes go through here.
struct Rewriter {
  onnx::GraphProto* g;
  Names names;
  std::map<std::string, int> rank;  // from ONNX shape inference on a copy, where it could run
  std::map<std::string, int> elem_type;

  std::string Int64s(const std::string& base, const std::vector<int64_t>& v) {
    auto* t = g->add_initializer();
    t->set_name(names.Unique(base));
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(static_cast<int64_t>(v.size()));
    for (int64_t x : v) t->add_int64_data(x);
    return t->name();
  }
  std::string FloatScalar(const std::string& base, float v) {
    auto* t = g->add_initializer();
    t->set_name(names.Unique(base));
    t->set_data_type(onnx::TensorProto::FLOAT);
    t->add_float_data(v);
    return t->name();
  }
};

const onnx::AttributeProto* Find(const onnx::NodeProto& n, const std::string& name) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

std::vector<int64_t> Ints(const onnx::AttributeProto* a) {
  return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : std::vector<int64_t>{};
}

// Removes the named attributes (those that became inputs or lost their meaning).
void Drop(onnx::NodeProto* n, const std::set<std::string>& names) {
  auto* attrs = n->mutable_attribute();
  for (int i = attrs->size() - 1; i >= 0; --i)
    if (names.count(attrs->Get(i).name())) attrs->DeleteSubrange(i, 1);
}

// Sets input `i` of `n` (padding skipped optional inputs with "").
void SetInput(onnx::NodeProto* n, int i, const std::string& name) {
  while (n->input_size() <= i) n->add_input("");
  n->set_input(i, name);
}

std::string Label(const onnx::NodeProto& n) {
  std::string name = n.name();
  if (name.empty()) name = n.output_size() > 0 ? n.output(0) : "?";
  return "node '" + name + "' (" + n.op_type() + ")";
}

using Rewrite = std::function<Status(Rewriter&, onnx::NodeProto*, std::vector<onnx::NodeProto>*,
                                     const std::string&)>;

// Clip-1/6: min and max attributes (defaults: the float range) -> Clip-11/13 optional inputs.
Status ClipTo13(Rewriter& r, onnx::NodeProto* n, std::vector<onnx::NodeProto>*,
                const std::string&) {
  const auto* lo = Find(*n, "min");
  const auto* hi = Find(*n, "max");
  const std::string base = n->output(0);
  if (lo) SetInput(n, 1, r.FloatScalar(base + "/clip_min", lo->f()));
  if (hi) SetInput(n, 2, r.FloatScalar(base + "/clip_max", hi->f()));
  Drop(n, {"min", "max", "consumed_inputs"});
  return Status::Ok();
}

// Slice-1: starts, ends, axes attributes -> Slice-10/13 inputs (steps default 1 in both).
Status SliceTo13(Rewriter& r, onnx::NodeProto* n, std::vector<onnx::NodeProto>*,
                 const std::string& where) {
  const auto* starts = Find(*n, "starts");
  const auto* ends = Find(*n, "ends");
  if (!starts || !ends)
    return InvalidArgument(where, ": ", Label(*n), ": Slice-1 without 'starts' and 'ends'");
  const std::string base = n->output(0);
  SetInput(n, 1, r.Int64s(base + "/starts", Ints(starts)));
  SetInput(n, 2, r.Int64s(base + "/ends", Ints(ends)));
  if (const auto* axes = Find(*n, "axes")) SetInput(n, 3, r.Int64s(base + "/axes", Ints(axes)));
  Drop(n, {"starts", "ends", "axes"});
  return Status::Ok();
}

// An optional or required int64 list attribute that became input `index` at 13 (Squeeze,
// Unsqueeze, ReduceSum: "axes"; Split: "split").
Status AttrToInput(Rewriter& r, onnx::NodeProto* n, const std::string& attr, int index,
                   bool required, const std::string& where) {
  const auto* a = Find(*n, attr);
  if (!a) {
    if (required)
      return InvalidArgument(where, ": ", Label(*n), ": expected the '", attr, "' attribute");
    return Status::Ok();
  }
  SetInput(n, index, r.Int64s(n->output(0) + "/" + attr, Ints(a)));
  Drop(n, {attr});
  return Status::Ok();
}

// Pad-2: pads, mode, value attributes -> Pad-11/13 inputs pads and constant_value (the mode stays
// an attribute). constant_value has the data's type, so a non-zero value needs float data.
Status PadTo13(Rewriter& r, onnx::NodeProto* n, std::vector<onnx::NodeProto>*,
               const std::string& where) {
  const auto* pads = Find(*n, "pads");
  if (!pads) return InvalidArgument(where, ": ", Label(*n), ": Pad-2 without 'pads'");
  SetInput(n, 1, r.Int64s(n->output(0) + "/pads", Ints(pads)));
  const auto* value = Find(*n, "value");
  if (value && value->f() != 0.0f) {
    auto it = r.elem_type.find(n->input(0));
    if (it == r.elem_type.end() || it->second != onnx::TensorProto::FLOAT)
      return InvalidArgument(where, ": ", Label(*n), ": a constant pad value of ", value->f(),
                             " on a tensor that is not known to be float32; calib8 rewrites "
                             "Pad-2 to Pad-13 only for float32 data");
    SetInput(n, 2, r.FloatScalar(n->output(0) + "/pad_value", value->f()));
  }
  Drop(n, {"pads", "value"});
  return Status::Ok();
}

// Softmax/LogSoftmax/Hardmax before 13 coerce the input to 2-D [d0*..*d(axis-1), d(axis)*..]
// and normalise each row; at 13 they normalise along `axis` alone. The same when `axis` is the
// last dimension; otherwise Flatten(axis) -> op(axis=1) -> Reshape(Shape(x)) is the old meaning.
Status SoftmaxTo13(Rewriter& r, onnx::NodeProto* n, std::vector<onnx::NodeProto>* before,
                   const std::string&) {
  const auto* a = Find(*n, "axis");
  int64_t axis = a ? a->i() : 1;
  auto it = r.rank.find(n->input(0));
  if (it != r.rank.end()) {
    const int64_t rank = it->second;
    if (axis < 0) axis += rank;
    if (axis == rank - 1) {
      Drop(n, {"axis"});
      auto* attr = n->add_attribute();
      attr->set_name("axis");
      attr->set_type(onnx::AttributeProto::INT);
      attr->set_i(axis);
      return Status::Ok();
    }
  }
  const std::string x = n->input(0), y = n->output(0);
  onnx::NodeProto flat;
  flat.set_op_type("Flatten");
  flat.set_name(r.names.Unique(n->name() + "/flatten"));
  flat.add_input(x);
  flat.add_output(r.names.Unique(y + "/flat"));
  auto* fa = flat.add_attribute();
  fa->set_name("axis");
  fa->set_type(onnx::AttributeProto::INT);
  fa->set_i(axis);
  onnx::NodeProto shape;
  shape.set_op_type("Shape");
  shape.set_name(r.names.Unique(n->name() + "/shape"));
  shape.add_input(x);
  shape.add_output(r.names.Unique(y + "/shape"));
  before->push_back(flat);
  before->push_back(shape);
  // The op itself, on the 2-D tensor; its output feeds the Reshape that writes the old name.
  const std::string flat_out = r.names.Unique(y + "/flat_out");
  n->set_input(0, flat.output(0));
  n->set_output(0, flat_out);
  Drop(n, {"axis"});
  auto* na = n->add_attribute();
  na->set_name("axis");
  na->set_type(onnx::AttributeProto::INT);
  na->set_i(1);
  onnx::NodeProto reshape;
  reshape.set_op_type("Reshape");
  reshape.set_name(r.names.Unique(n->name() + "/reshape"));
  reshape.add_input(flat_out);
  reshape.add_input(shape.output(0));
  reshape.add_output(y);
  before->push_back(*n);  // the op goes before the Reshape; the node itself becomes the Reshape
  *n = reshape;
  return Status::Ok();
}

// Upsample-7 (scales attribute) and -9 (scales input): out = in at floor(out_index / scale), or
// linear between the samples at out_index / scale: Resize-13 with mode kept,
// coordinate_transformation_mode "asymmetric" and nearest_mode "floor".
Status UpsampleTo13(Rewriter& r, onnx::NodeProto* n, std::vector<onnx::NodeProto>*,
                    const std::string& where) {
  std::string mode = "nearest";
  if (const auto* m = Find(*n, "mode")) mode = m->s();
  if (mode == "bilinear") mode = "linear";
  if (mode != "nearest" && mode != "linear")
    return InvalidArgument(where, ": ", Label(*n), ": Upsample mode '", mode,
                           "', expected nearest or linear");
  std::string scales;
  if (const auto* s = Find(*n, "scales")) {
    auto* t = r.g->add_initializer();
    t->set_name(r.names.Unique(n->output(0) + "/scales"));
    t->set_data_type(onnx::TensorProto::FLOAT);
    t->add_dims(s->floats_size());
    for (float f : s->floats()) t->add_float_data(f);
    scales = t->name();
  } else if (n->input_size() >= 2) {
    scales = n->input(1);
  } else {
    return InvalidArgument(where, ": ", Label(*n), ": Upsample without scales");
  }
  const std::string x = n->input(0);
  n->set_op_type("Resize");
  n->clear_input();
  n->add_input(x);
  n->add_input("");
  n->add_input(scales);
  n->clear_attribute();
  auto set_s = [&](const char* name, const std::string& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(v);
  };
  set_s("mode", mode);
  set_s("coordinate_transformation_mode", "asymmetric");
  if (mode == "nearest") set_s("nearest_mode", "floor");
  return Status::Ok();
}

// BatchNormalization-6/7: is_test, spatial (1 = per channel, the only meaning at 9) and
// consumed_inputs go; inference has one output.
Status BatchNormTo13(Rewriter&, onnx::NodeProto* n, std::vector<onnx::NodeProto>*,
                     const std::string& where) {
  const auto* spatial = Find(*n, "spatial");
  if (spatial && spatial->i() != 1)
    return InvalidArgument(where, ": ", Label(*n), ": spatial=", spatial->i(),
                           " (statistics per element) has no equivalent after opset 8");
  if (n->output_size() > 1)
    return InvalidArgument(where, ": ", Label(*n), ": ", n->output_size(),
                           " outputs (training mode); expected 1 (inference)");
  Drop(n, {"spatial", "is_test", "consumed_inputs"});
  return Status::Ok();
}

// Dropout-7/10: the ratio attribute became input 1 at 12 (a float scalar); inference ignores it,
// but the opset-13 checker refuses the attribute. Dropout-6's is_test goes too.
Status DropoutTo13(Rewriter& r, onnx::NodeProto* n, std::vector<onnx::NodeProto>*,
                   const std::string&) {
  if (const auto* ratio = Find(*n, "ratio"))
    SetInput(n, 1, r.FloatScalar(n->output(0) + "/ratio", ratio->f()));
  Drop(n, {"ratio", "is_test", "consumed_inputs"});
  return Status::Ok();
}

const std::map<std::string, Rewrite>& Rewrites() {
  static const std::map<std::string, Rewrite> kRewrites = {
      {"BatchNormalization", BatchNormTo13},
      {"Clip", ClipTo13},
      {"Dropout", DropoutTo13},
      {"Hardmax", SoftmaxTo13},
      {"LogSoftmax", SoftmaxTo13},
      {"Pad", PadTo13},
      {"ReduceSum", [](Rewriter& r, onnx::NodeProto* n, std::vector<onnx::NodeProto>*,
                       const std::string& w) { return AttrToInput(r, n, "axes", 1, false, w); }},
      {"Slice", SliceTo13},
      {"Softmax", SoftmaxTo13},
      {"Split", [](Rewriter& r, onnx::NodeProto* n, std::vector<onnx::NodeProto>*,
                   const std::string& w) { return AttrToInput(r, n, "split", 1, false, w); }},
      {"Squeeze", [](Rewriter& r, onnx::NodeProto* n, std::vector<onnx::NodeProto>*,
                     const std::string& w) { return AttrToInput(r, n, "axes", 1, false, w); }},
      {"Unsqueeze", [](Rewriter& r, onnx::NodeProto* n, std::vector<onnx::NodeProto>*,
                       const std::string& w) { return AttrToInput(r, n, "axes", 1, true, w); }},
      {"Upsample", UpsampleTo13},
  };
  return kRewrites;
}

void NoteTypes(const onnx::GraphProto& g, Rewriter* r) {
  auto note = [&](const onnx::ValueInfoProto& v) {
    if (!v.type().has_tensor_type()) return;
    r->elem_type[v.name()] = v.type().tensor_type().elem_type();
    if (v.type().tensor_type().has_shape())
      r->rank[v.name()] = v.type().tensor_type().shape().dim_size();
  };
  for (const auto& v : g.input()) note(v);
  for (const auto& v : g.output()) note(v);
  for (const auto& v : g.value_info()) note(v);
  for (const auto& t : g.initializer()) {
    r->rank[t.name()] = t.dims_size();
    r->elem_type[t.name()] = t.data_type();
  }
}

Status UpgradeGraph(onnx::GraphProto* g, const onnx::GraphProto* inferred, int64_t from,
                    const std::string& where, std::map<std::string, int>* counts,
                    std::set<std::string>* opset13_nodes) {
  Rewriter r{g, Names(*g), {}, {}};
  NoteTypes(inferred ? *inferred : *g, &r);
  std::vector<onnx::NodeProto> out;
  out.reserve(g->node_size());
  for (int i = 0; i < g->node_size(); ++i) {
    onnx::NodeProto n = g->node(i);
    for (auto& a : *n.mutable_attribute()) {
      if (a.has_g())
        CALIB8_RETURN_IF_ERROR(
            UpgradeGraph(a.mutable_g(), nullptr, from, where, counts, opset13_nodes));
      for (auto& sg : *a.mutable_graphs())
        CALIB8_RETURN_IF_ERROR(UpgradeGraph(&sg, nullptr, from, where, counts, opset13_nodes));
    }
    if (IsDefault(n.domain()) && CanUpgradeTo13(n.op_type(), from)) {
      const std::string op = n.op_type();
      const size_t first_added = out.size();
      CALIB8_RETURN_IF_ERROR(Rewrites().at(op)(r, &n, &out, where));
      ++(*counts)[op];
      for (size_t k = first_added; k < out.size(); ++k) opset13_nodes->insert(out[k].output(0));
      opset13_nodes->insert(n.output(0));
    }
    out.push_back(std::move(n));
  }
  g->clear_node();
  for (auto& n : out) *g->add_node() = std::move(n);
  return Status::Ok();
}

}  // namespace

bool CanUpgradeTo13(const std::string& op, int64_t from) {
  auto it = UpgradeTable().find(op);
  return from < 13 && it != UpgradeTable().end() && from < it->second && Rewrites().count(op);
}

Status UpgradeOpsTo13(onnx::ModelProto* model, int64_t from, const std::string& source,
                      OpsetUpgradeReport* report) {
  // Ranks and element types for the Softmax and Pad rewrites, from shape inference on a copy (the
  // model itself is written as it was). Advisory: without it the general forms are written.
  onnx::ModelProto inferred = *model;
  bool have_inferred = false;
  if (!ShapeInferenceWouldCrash(inferred.graph())) {
    try {
      onnx::ShapeInferenceOptions options{false, 0, true};
      onnx::shape_inference::InferShapes(inferred, onnx::OpSchemaRegistry::Instance(), options);
      have_inferred = true;
    } catch (const std::exception&) {
    }
  }
  std::map<std::string, int> counts;
  CALIB8_RETURN_IF_ERROR(UpgradeGraph(model->mutable_graph(),
                                      have_inferred ? &inferred.graph() : nullptr, from, source,
                                      &counts, &report->opset13_nodes));
  for (const auto& [op, count] : counts) {
    report->rewritten_ops.insert(op);
    report->notes.push_back(op + ": " + std::to_string(count) + " node(s) rewritten to their " +
                            "opset-13 form (" + (op == "Upsample" ? "Resize-13" : op + "-13") +
                            ", same meaning)");
  }
  return Status::Ok();
}

}  // namespace calib8::onnx_io
