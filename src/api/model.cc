// api/model.cc — calib8::Model and calib8::Session (include/calib8/model.h) over the runtime
// module: LoadModel, the FP32 and INT8 sessions, LoadInt8Table.
#include "calib8/model.h"

#include "api/access.h"
#include "api/int8_setup.h"
#include "data/npy.h"
#include "quant/lowering.h"
#include "runtime/engine.h"
#include "runtime/int8_engine.h"

namespace calib8 {

namespace {

TensorInfo ToInfo(const ir::ValueInfo& v) {
  TensorInfo t;
  t.name = v.name;
  t.type = v.dtype;
  t.rank_known = v.has_shape;
  for (const ir::Dim& d : v.dims) t.shape.push_back(d.known() ? d.value : -1);
  return t;
}

std::vector<TensorInfo> ToInfos(const std::vector<ir::ValueInfo>& vs) {
  std::vector<TensorInfo> out;
  for (const auto& v : vs) out.push_back(ToInfo(v));
  return out;
}

}  // namespace

Result<Model> Model::Load(const std::string& path) {
  auto impl = std::make_shared<detail::ModelImpl>();
  impl->path = path;
  CALIB8_ASSIGN_OR_RETURN(impl->graph, runtime::LoadModel(path));
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

Session::Session() : impl_(std::make_unique<detail::SessionImpl>()) {}
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;
Session::~Session() = default;

Result<Session> Session::Create(const Model& model, const SessionOptions& options) {
  exec::SessionOptions so;
  so.num_threads = options.threads;
  Session s;
  CALIB8_ASSIGN_OR_RETURN(s.impl_->session,
                          runtime::CreateSession(detail::Access::GraphOf(model), so));
  return s;
}

Result<Session> Session::CreateInt8(const Model& model, const std::string& table_path,
                                    const Int8Options& options) {
  CALIB8_ASSIGN_OR_RETURN(detail::Int8Setup setup, detail::PrepareInt8(table_path, options));
  const runtime::Int8TableMode& mode = setup.mode;
  CALIB8_ASSIGN_OR_RETURN(quant::Int8Plan plan, runtime::PlanInt8(detail::Access::GraphOf(model),
                                                                  setup.table, setup.options));
  exec::SessionOptions so;
  so.num_threads = options.threads;
  Session s;
  s.impl_->int8 = true;
  s.impl_->summary.asymmetric = mode.asymmetric;
  s.impl_->summary.table_note = mode.note;
  s.impl_->summary.int8_nodes = plan.num_int8;
  s.impl_->summary.fp32_nodes = plan.num_fp32;
  s.impl_->summary.coverage = runtime::CoverageSummary(plan.coverage);
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

Result<Tensor> LoadTensorFile(const std::string& path) { return runtime::LoadTensorFile(path); }
Status SaveNpy(const Tensor& tensor, const std::string& path) {
  return data::SaveNpy(tensor, path);
}

}  // namespace calib8
