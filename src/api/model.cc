// api/model.cc — calib8::Model and calib8::Session (include/calib8/model.h) over the runtime
// module: LoadModel and Describe, the FP32 and INT8 sessions (the one INT8 setup path of
// `calib8 run --int8` and the library), tensor files, --dump and plugins.
#include "calib8/model.h"

#include "api/access.h"
#include "api/int8_setup.h"
#include "data/npy.h"
#include "int8/cpu_features.h"
#include "ir/subgraph.h"
#include "quant/lowering.h"
#include "runtime/dump.h"
#include "runtime/engine.h"
#include "runtime/int8_engine.h"
#include "runtime/plugin.h"

namespace calib8 {

namespace {

TensorInfo ToInfo(const ir::ValueInfo& v) {
  TensorInfo t;
  t.name = v.name;
  t.type = v.dtype;
  t.rank_known = v.has_shape;
  for (const ir::Dim& d : v.dims) {
    t.shape.push_back(d.known() ? d.value : -1);
    t.dim_names.push_back(d.known() ? std::string() : d.param);
  }
  return t;
}

NodeInfo ToNodeInfo(const ir::Node& n) { return {n.name, n.op_type, n.inputs, n.outputs}; }

exec::SessionOptions ToExecOptions(const SessionOptions& o) {
  exec::SessionOptions so;
  so.num_threads = o.threads;
  so.flavor = o.reference ? exec::KernelFlavor::kReference : exec::KernelFlavor::kFast;
  so.profile = o.profile;
  so.channels_last = !o.row_major;
  return so;
}

std::vector<TensorInfo> ToInfos(const std::vector<ir::ValueInfo>& vs) {
  std::vector<TensorInfo> out;
  for (const auto& v : vs) out.push_back(ToInfo(v));
  return out;
}

}  // namespace

std::string ShapeText(const TensorInfo& info) {
  if (!info.rank_known) return "[unknown rank]";
  std::string s = "[";
  for (size_t i = 0; i < info.shape.size(); ++i) {
    if (i) s += ",";
    const std::string name = i < info.dim_names.size() ? info.dim_names[i] : std::string();
    s += info.shape[i] >= 0 ? std::to_string(info.shape[i]) : (name.empty() ? "?" : name);
  }
  return s + "]";
}

Result<Model> Model::Load(const std::string& path) { return Load(path, LoadOptions{}); }

Result<Model> Model::Load(const std::string& path, const LoadOptions& options, LoadReport* report) {
  auto impl = std::make_shared<detail::ModelImpl>();
  impl->path = path;
  runtime::LoadOptions lo;
  lo.optimize = options.optimize;
  runtime::PassReport passes;
  CALIB8_ASSIGN_OR_RETURN(impl->graph, runtime::LoadModel(path, lo, &passes));
  if (report) {
    report->constants_folded = passes.constants_folded;
    report->batchnorms_folded = passes.batchnorms_folded;
    report->affine_folded = passes.affine_folded;
    report->hardswish_fused = passes.hardswish_fused;
    report->dead_nodes_removed = passes.dead_nodes_removed;
  }
  return detail::Access::Wrap(std::move(impl));
}

const std::string& Model::path() const { return impl_->path; }
std::vector<TensorInfo> Model::inputs() const { return ToInfos(impl_->graph.inputs); }
std::vector<TensorInfo> Model::outputs() const { return ToInfos(impl_->graph.outputs); }
int64_t Model::opset() const { return impl_->graph.DefaultOpset(); }
size_t Model::num_nodes() const { return impl_->graph.nodes.size(); }

std::vector<std::string> Model::unknown_ops() const {
  std::vector<std::string> names;
  for (const auto& u : runtime::UnknownOps(impl_->graph)) names.push_back(u.Name());
  return names;
}

ModelDescription Model::Describe() const {
  const ir::Graph& g = impl_->graph;
  runtime::ModelInfo info = runtime::Describe(g);
  ModelDescription d;
  d.opset = info.opset;
  d.num_nodes = info.num_nodes;
  d.num_parameters = info.num_parameters;
  d.inputs = ToInfos(info.inputs);
  d.outputs = ToInfos(info.outputs);
  d.op_counts = info.op_counts;
  d.unsupported_ops = info.unsupported_ops;
  for (const auto& u : info.unknown_ops) {
    UnknownOpInfo ui{u.domain, u.op_type, u.Name(), {}};
    for (const ir::Node* n : u.nodes) ui.nodes.push_back(ToNodeInfo(*n));
    d.unknown_ops.push_back(std::move(ui));
  }
  Status runnable = runtime::CheckRunnable(g);
  if (!runnable.ok()) {
    const std::string& m = runnable.message();
    auto cut = m.find(runtime::kWaysOnLead);
    if (cut != std::string::npos) d.ways_on = m.substr(cut);
  }
  return d;
}

std::optional<TensorInfo> Model::FindTensor(const std::string& name) const {
  auto it = impl_->graph.value_info.find(name);
  if (it == impl_->graph.value_info.end()) return std::nullopt;
  return ToInfo(it->second);
}

bool Model::IsInitializer(const std::string& name) const {
  return impl_->graph.FindInitializer(name) != nullptr;
}

std::vector<NodeInfo> Model::nodes() const {
  std::vector<NodeInfo> out;
  for (const ir::Node& n : impl_->graph.nodes) out.push_back(ToNodeInfo(n));
  return out;
}

Result<Model> Model::Subgraph(const std::vector<std::string>& until,
                              const std::vector<std::string>& from) const {
  auto impl = std::make_shared<detail::ModelImpl>(*impl_);
  ir::SubgraphSpec spec;
  spec.until = until;
  spec.from = from;
  CALIB8_RETURN_IF_ERROR(ir::ExtractSubgraph(impl->graph, spec));
  return detail::Access::Wrap(std::move(impl));
}

Session::Session() : impl_(std::make_unique<detail::SessionImpl>()) {}
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;
Session::~Session() = default;

Result<Session> Session::Create(const Model& model, const SessionOptions& options) {
  Session s;
  CALIB8_ASSIGN_OR_RETURN(s.impl_->session, runtime::CreateSession(detail::Access::GraphOf(model),
                                                                   ToExecOptions(options)));
  return s;
}

// The one INT8 setup path (`calib8 run --int8` and the library): table and options
// (PrepareInt8), plan, the warnings the CLI prints, the session.
Result<Session> Session::CreateInt8(const Model& model, const std::string& table_path,
                                    const Int8Options& options, const SessionOptions& session,
                                    Int8Summary* summary) {
  Int8Summary local;
  Int8Summary& sum = summary ? *summary : local;
  sum = Int8Summary();
  runtime::Int8TableMode mode;
  auto prepared = detail::PrepareInt8(table_path, options, &mode);
  sum.asymmetric = mode.asymmetric;
  sum.table_note = mode.note;
  if (!prepared.ok()) return prepared.status();
  detail::Int8Setup& setup = *prepared;
  CALIB8_ASSIGN_OR_RETURN(quant::Int8Plan plan, runtime::PlanInt8(detail::Access::GraphOf(model),
                                                                  setup.table, setup.options));
  const quant::Coverage& c = plan.coverage;
  sum.int8_nodes = plan.num_int8;
  sum.fp32_nodes = plan.num_fp32;
  sum.coverage = runtime::CoverageSummary(c);
  sum.coverage_brief = runtime::CoverageSummary(c, 3);
  if (!c.missing.empty() || !c.zero.empty())
    sum.warnings.push_back("table '" + table_path + "' does not cover the model: " + sum.coverage +
                           "; those nodes run FP32 (--strict refuses)");
  if (!int8::DetectCpuInt8Features().any_vnni())
    sum.warnings.push_back(
        "this CPU has no VNNI/AMX int8 instructions: INT8 runs, but may not be faster than FP32 "
        "(see `calib8 doctor`)");
  sum.plan_text = quant::PlanToText(plan);
  exec::SessionOptions so = ToExecOptions(session);
  if (options.threads != 0) so.num_threads = options.threads;
  Session s;
  s.impl_->int8 = true;
  s.impl_->summary = sum;
  CALIB8_ASSIGN_OR_RETURN(s.impl_->session, runtime::CreateInt8Session(plan, so));
  return s;
}

Result<TensorMap> Session::Run(const TensorMap& feeds) { return impl_->session->Run(feeds); }
bool Session::is_int8() const { return impl_->int8; }

std::vector<std::pair<std::string, std::string>> Session::KernelNotes() const {
  std::vector<std::pair<std::string, std::string>> out;
  const auto& notes = impl_->session->kernel_notes();
  const auto& nodes = impl_->session->graph().nodes;
  for (size_t i = 0; i < notes.size() && i < nodes.size(); ++i)
    if (!notes[i].empty()) out.emplace_back(nodes[i].name, notes[i]);
  return out;
}
const Int8Summary& Session::int8_summary() const { return impl_->summary; }
int Session::num_threads() const { return impl_->session->num_threads(); }
void Session::EnableProfile() { impl_->session->EnableProfile(); }
int64_t Session::profiled_runs() const { return impl_->session->profiled_runs(); }

std::vector<NodeTime> Session::NodeTimes() const {
  std::vector<NodeTime> out;
  const auto& ms = impl_->session->node_ms();
  const auto& nodes = impl_->session->graph().nodes;
  for (size_t i = 0; i < nodes.size() && i < ms.size(); ++i)
    out.push_back({nodes[i].name, nodes[i].op_type, ms[i]});
  return out;
}

Result<Tensor> LoadTensorFile(const std::string& path) { return runtime::LoadTensorFile(path); }
Status SaveNpy(const Tensor& tensor, const std::string& path) {
  return data::SaveNpy(tensor, path);
}
std::string SanitizeFileName(const std::string& name) { return runtime::SanitizeFileName(name); }

Result<std::vector<DumpedTensor>> DumpTensors(const Model& model, const DumpOptions& options) {
  runtime::DumpOptions d;
  d.data_specs = options.data;
  d.preprocess = options.preprocess;
  d.max_samples = options.max_samples;
  d.batch = options.batch;
  d.threads = options.threads;
  d.tensors = options.tensors;
  d.dir = options.dir;
  CALIB8_ASSIGN_OR_RETURN(auto dumped, runtime::DumpTensors(detail::Access::GraphOf(model), d));
  std::vector<DumpedTensor> out;
  for (auto& t : dumped) out.push_back({t.name, t.path, t.shape});
  return out;
}

Result<PluginInfo> LoadPlugin(const std::string& path) {
  CALIB8_ASSIGN_OR_RETURN(runtime::LoadedPlugin p, runtime::LoadPlugin(path));
  return PluginInfo{p.path, p.name, p.version, p.ops};
}

}  // namespace calib8
