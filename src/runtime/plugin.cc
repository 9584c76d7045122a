// runtime/plugin.cc — see plugin.h. The kernel below is the only code that calls into a plugin.
#include "runtime/plugin.h"

#include <dlfcn.h>

#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>

#include "calib8/plugin.h"
#include "ops/ops.h"
#include "quant/lowering.h"

namespace calib8::runtime {

namespace {

constexpr size_t kMessageSize = 1024;

// The node in ABI form, built once per kernel over its own copy of the node (which owns every
// string the pointers point into; the kernel is never moved after construction).
struct NodeInfo {
  ir::Node node;
  std::vector<calib8_attribute> attributes;
  calib8_node_info info{};

  NodeInfo(const ir::Node& original, int64_t opset) : node(original) {
    const ir::Node& n = node;
    for (const auto& [name, a] : n.attrs) {
      calib8_attribute c{};
      c.name = name.c_str();
      switch (a.kind) {
        case ir::Attribute::Kind::kInt:
          c.kind = CALIB8_ATTR_INT;
          c.i = a.i;
          break;
        case ir::Attribute::Kind::kFloat:
          c.kind = CALIB8_ATTR_FLOAT;
          c.f = a.f;
          break;
        case ir::Attribute::Kind::kString:
          c.kind = CALIB8_ATTR_STRING;
          c.s = a.s.c_str();
          break;
        case ir::Attribute::Kind::kInts:
          c.kind = CALIB8_ATTR_INTS;
          c.count = a.ints.size();
          c.ints = a.ints.data();
          break;
        case ir::Attribute::Kind::kFloats:
          c.kind = CALIB8_ATTR_FLOATS;
          c.count = a.floats.size();
          c.floats = a.floats.data();
          break;
        default:
          c.kind = CALIB8_ATTR_OTHER;
          break;
      }
      attributes.push_back(c);
    }
    info.name = n.name.c_str();
    info.domain = n.domain.c_str();
    info.op_type = n.op_type.c_str();
    info.opset = opset;
    info.num_attributes = attributes.size();
    info.attributes = attributes.data();
  }
  NodeInfo(const NodeInfo&) = delete;
  NodeInfo& operator=(const NodeInfo&) = delete;
};

Result<calib8_tensor_desc> DescOf(const Tensor& t, const std::string& what) {
  calib8_tensor_desc d{};
  d.dtype = static_cast<int32_t>(t.dtype());
  if (t.rank() > CALIB8_PLUGIN_MAX_RANK)
    return InvalidArgument(what, ": rank ", t.rank(), " is above the plugin ABI's ",
                           CALIB8_PLUGIN_MAX_RANK);
  d.rank = t.rank();
  for (int i = 0; i < t.rank(); ++i) d.dims[i] = t.dim(i);
  return d;
}

// The node as the plugin wrote it: the INT8 plan's node (quant::Int8PluginOpType in calib8.int8,
// scales in _calib8_* attributes) with its own domain, op type and attributes back.
ir::Node PluginView(const ir::Node& n) {
  ir::Node v = n;
  v.domain = n.GetString(quant::kPluginDomainAttr, n.domain);
  v.op_type = n.GetString(quant::kPluginOpTypeAttr, n.op_type);
  for (auto it = v.attrs.begin(); it != v.attrs.end();)
    it = it->first.rfind("_calib8_", 0) == 0 ? v.attrs.erase(it) : std::next(it);
  return v;
}

// Runs a plugin op: compute_fp32, or (int8) compute_int8 on the s8 tensors of the INT8 plan with
// the scales the plan wrote. Shapes come from infer, asked with float32 inputs in both cases.
class PluginKernel final : public exec::Kernel {
 public:
  PluginKernel(const calib8_op_def* def, std::string plugin, std::mutex* serial,
               const ir::Node& node, int64_t opset, bool int8)
      : def_(def),
        plugin_(std::move(plugin)),
        serial_(serial),
        node_(PluginView(node), opset),
        int8_(int8) {
    if (int8) {
      in_scales_ = node.GetFloats(quant::kPluginInScalesAttr);
      out_scales_ = node.GetFloats(quant::kPluginOutScalesAttr);
    }
  }

  Status Run(exec::KernelContext& ctx) override {
    const std::string who = "node '" + ctx.node.name + "' (" + node_.node.domain +
                            "::" + node_.node.op_type + (int8_ ? " INT8" : "") + ", plugin " +
                            plugin_ + ")";
    if (int8_ && (in_scales_.size() != ctx.num_inputs() || out_scales_.size() != ctx.num_outputs()))
      return Internal(who, ": the INT8 plan gives ", in_scales_.size(), " input and ",
                      out_scales_.size(), " output scales for ", ctx.num_inputs(), " and ",
                      ctx.num_outputs(), " tensors");
    std::vector<calib8_tensor> in(ctx.num_inputs());
    std::vector<calib8_tensor_desc> in_desc(ctx.num_inputs());
    for (size_t i = 0; i < ctx.num_inputs(); ++i) {
      const Tensor* t = ctx.input(i);
      if (!t) return InvalidArgument(who, ": input ", i, " is omitted (plugins get every input)");
      if (int8_ && t->dtype() != DataType::kInt8)
        return Internal(who, ": input ", i, " is not s8 in the INT8 plan");
      CALIB8_ASSIGN_OR_RETURN(in_desc[i], DescOf(*t, who + ": input " + std::to_string(i)));
      in[i].desc = in_desc[i];
      in[i].data = const_cast<void*>(t->raw());             // read-only by the ABI's contract
      if (int8_) in_desc[i].dtype = CALIB8_PLUGIN_FLOAT32;  // infer sees the float32 model
    }
    std::vector<calib8_tensor_desc> out_desc(ctx.num_outputs());
    char message[kMessageSize] = {0};
    std::unique_lock<std::mutex> lock;
    if (serial_) lock = std::unique_lock<std::mutex>(*serial_);
    if (def_->infer(&node_.info, in_desc.data(), in_desc.size(), out_desc.data(), out_desc.size(),
                    message, sizeof message) != CALIB8_PLUGIN_OK)
      return InvalidArgument(who, ": shape inference failed: ", Message(message));
    std::vector<calib8_tensor> out(ctx.num_outputs());
    for (size_t o = 0; o < out.size(); ++o) {
      const calib8_tensor_desc& d = out_desc[o];
      DataType dt = DataTypeFromOnnx(d.dtype);
      if (dt == DataType::kUndefined || d.rank < 0 || d.rank > CALIB8_PLUGIN_MAX_RANK)
        return InvalidArgument(who, ": output ", o, ": infer returned dtype ", d.dtype,
                               " and rank ", d.rank,
                               " (expected an ONNX element type and a rank "
                               "0..",
                               CALIB8_PLUGIN_MAX_RANK, ")");
      Shape shape(d.dims, d.dims + d.rank);
      for (int64_t v : shape)
        if (v < 0) return InvalidArgument(who, ": output ", o, ": infer returned dimension ", v);
      if (int8_) {
        if (dt != DataType::kFloat32)
          return InvalidArgument(who, ": output ", o,
                                 " is not float32 in the model; "
                                 "compute_int8 writes s8 in place of float32 outputs only");
        dt = DataType::kInt8;
      }
      uint64_t elements = 0, bytes = 0;
      if (!CheckedSize(shape, dt, &elements, &bytes))
        return InvalidArgument(who, ": output ", o,
                               ": infer returned a shape whose size overflows");
      ctx.outputs[o] = Tensor(dt, shape);
      out[o].desc = d;
      out[o].desc.dtype = static_cast<int32_t>(dt);
      out[o].data = ctx.outputs[o].raw();
    }
    int rc =
        int8_ ? def_->compute_int8(&node_.info, in.data(), in_scales_.data(), in.size(), out.data(),
                                   out_scales_.data(), out.size(), message, sizeof message)
              : def_->compute_fp32(&node_.info, in.data(), in.size(), out.data(), out.size(),
                                   message, sizeof message);
    if (rc != CALIB8_PLUGIN_OK) return InvalidArgument(who, ": compute failed: ", Message(message));
    return Status::Ok();
  }

 private:
  static std::string Message(char* m) {
    m[kMessageSize - 1] = '\0';
    return m[0] ? std::string(m) : std::string("(no message)");
  }
  const calib8_op_def* def_;
  std::string plugin_;
  std::mutex* serial_;  // null for CALIB8_PLUGIN_THREAD_SAFE ops
  NodeInfo node_;
  bool int8_;
  std::vector<float> in_scales_, out_scales_;
};

// Reads member `M` of a plugin struct only if the plugin's struct_size covers it.
template <class S>
bool Has(const S& s, size_t member_end) {
  return s.struct_size >= member_end;
}

}  // namespace

Result<LoadedPlugin> LoadPlugin(const std::string& path, exec::OpRegistry* registry) {
  if (!registry) registry = &ops::BuiltinRegistry();
  const std::string where = "plugin '" + path + "'";
  void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* e = dlerror();
    return InvalidArgument(where, ": cannot be loaded: ", e ? e : "dlopen failed",
                           " (a path to a shared library built against include/calib8/plugin.h)");
  }
  auto get = reinterpret_cast<calib8_plugin_get_fn>(dlsym(lib, CALIB8_PLUGIN_ENTRY));
  if (!get)
    return InvalidArgument(where, ": no function '", CALIB8_PLUGIN_ENTRY,
                           "' (every plugin exports `const calib8_plugin* ", CALIB8_PLUGIN_ENTRY,
                           "(void)`, docs/custom-layers.md)");
  const calib8_plugin* p = get();
  if (!p) return InvalidArgument(where, ": ", CALIB8_PLUGIN_ENTRY, "() returned NULL");
  if (p->abi_version != CALIB8_PLUGIN_ABI_VERSION)
    return InvalidArgument(where, ": plugin ABI version ", p->abi_version, ", this calib8 has ",
                           CALIB8_PLUGIN_ABI_VERSION,
                           ": rebuild the plugin against this "
                           "calib8's include/calib8/plugin.h");
  if (!Has(*p, offsetof(calib8_plugin, ops) + sizeof(p->ops)))
    return InvalidArgument(where, ": struct_size ", p->struct_size, " is too small for ABI ",
                           CALIB8_PLUGIN_ABI_VERSION);
  LoadedPlugin out;
  out.path = path;
  out.name = p->name ? p->name : path;
  out.version = p->version ? p->version : "";
  if (p->num_ops == 0 || !p->ops) return InvalidArgument(where, ": declares no operators");
  for (size_t i = 0; i < p->num_ops; ++i) {
    const calib8_op_def* d = &p->ops[i];
    const std::string op = where + ": operator " + std::to_string(i);
    if (!Has(*d, offsetof(calib8_op_def, compute_int8) + sizeof(d->compute_int8)))
      return InvalidArgument(op, ": struct_size ", d->struct_size, " is too small for ABI ",
                             CALIB8_PLUGIN_ABI_VERSION);
    if (!d->op_type || !*d->op_type || !d->domain)
      return InvalidArgument(op, ": domain and op_type are required");
    const std::string name = std::string(d->domain) + "::" + d->op_type;
    if (!d->infer || !d->compute_fp32)
      return InvalidArgument(where, ": ", name,
                             ": infer and compute_fp32 are required (the "
                             "observer calibrates every op's FP32 outputs)");
    exec::OpEntry e;
    e.domain = d->domain;
    e.op_type = d->op_type;
    e.min_opset = d->min_opset;
    e.max_opset = d->max_opset;
    e.origin = "plugin " + out.name + " (" + path + ")";
    e.plugin_flags = d->flags;
    // Calls of an op that is not thread-safe are serialised (one mutex per op, process-wide).
    std::mutex* serial = nullptr;
    if (!(d->flags & CALIB8_PLUGIN_THREAD_SAFE)) {
      static std::deque<std::mutex> mutexes;
      static std::mutex guard;
      std::lock_guard<std::mutex> lock(guard);
      serial = &mutexes.emplace_back();
    }
    const std::string plugin_name = out.name;
    auto factory = [d, plugin_name, serial](bool int8) -> exec::KernelFactory {
      return [d, plugin_name, serial,
              int8](const exec::KernelInit& init) -> Result<std::unique_ptr<exec::Kernel>> {
        return std::unique_ptr<exec::Kernel>(
            std::make_unique<PluginKernel>(d, plugin_name, serial, init.node, init.opset, int8));
      };
    };
    e.reference = factory(false);
    // compute_int8: a second entry, the op the INT8 plan emits for this op (quant/lowering.h).
    exec::OpEntry q;
    if (d->compute_int8) {
      q = e;
      q.domain = quant::kInt8Domain;
      q.op_type = quant::Int8PluginOpType(e.domain, e.op_type);
      q.reference = factory(true);
    }
    CALIB8_RETURN_IF_ERROR(registry->Register(std::move(e)).WithContext(where));
    if (d->compute_int8)
      CALIB8_RETURN_IF_ERROR(registry->Register(std::move(q)).WithContext(where));
    out.ops.push_back(name);
  }
  return out;
}

}  // namespace calib8::runtime
