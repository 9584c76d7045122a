// exec/session.cc — the FP32 executor: planning, feed checks, node-by-node execution with
// memory release and observers. Threads: kernels parallelise with OpenMP (as oneDNN does here);
// the session sets the OpenMP thread count for the duration of a run.
#include "exec/session.h"

#include "ir/passes.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>
#include <thread>
#include <unordered_map>

namespace calib8::exec {

std::vector<std::string> UnsupportedOps(const ir::Graph& graph, const OpRegistry& registry) {
  std::set<std::string> missing;
  for (const auto& n : graph.nodes) {
    auto it = graph.opsets.find(n.domain);
    int64_t opset = it == graph.opsets.end() ? graph.DefaultOpset() : it->second;
    if (!registry.Find(n.domain, n.op_type, opset))
      missing.insert(n.domain.empty() ? n.op_type : n.domain + "::" + n.op_type);
  }
  return {missing.begin(), missing.end()};
}

Result<std::unique_ptr<Session>> Session::Create(const ir::Graph& graph, SessionOptions options) {
  const OpRegistry& reg = options.registry ? *options.registry : OpRegistry::Global();
  std::unique_ptr<Session> s(new Session(graph));
  if (options.fuse_epilogues) ir::FuseEpilogues(s->graph_);
  s->num_threads_ = options.num_threads > 0
                        ? options.num_threads
                        : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const ir::Graph& planned = s->graph_;
  auto missing = UnsupportedOps(graph, reg);
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    return Unimplemented(graph.source, ": unsupported operator(s): ", list);
  }
  auto constant = [&planned](const std::string& name) { return planned.FindInitializer(name); };
  for (const auto& n : planned.nodes) {
    auto it = graph.opsets.find(n.domain);
    int64_t opset = it == graph.opsets.end() ? graph.DefaultOpset() : it->second;
    const KernelFactory* f = reg.FindFactory(n.domain, n.op_type, opset, options.flavor);
    KernelInit init{n, opset, constant, s->num_threads_};
    auto k = (*f)(init);
    if (!k.ok()) return k.status().WithContext(graph.source + ": node " + n.Describe());
    s->kernels_.push_back(std::move(k).value());
  }
  // Last use of each value; graph outputs and initializers are never released.
  std::unordered_map<std::string, size_t> last_use;
  for (size_t i = 0; i < planned.nodes.size(); ++i) {
    for (const auto& in : planned.nodes[i].inputs)
      if (!in.empty()) last_use[in] = i;
    for (const auto& out : planned.nodes[i].outputs)
      if (!out.empty() && !last_use.count(out)) last_use[out] = i;  // unused outputs: drop at once
  }
  for (const auto& o : graph.outputs) last_use.erase(o.name);
  for (const auto& [name, t] : graph.initializers) last_use.erase(name);
  // A node may produce channels-last output when every consumer takes it (and it is no graph
  // output).
  s->prefer_channels_last_.assign(planned.nodes.size(), 0);
  if (options.channels_last) {
    std::unordered_map<std::string, size_t> producer;
    for (size_t i = 0; i < planned.nodes.size(); ++i)
      if (!planned.nodes[i].outputs.empty() && !planned.nodes[i].outputs[0].empty())
        producer[planned.nodes[i].outputs[0]] = i;
    for (const auto& o : graph.outputs) producer.erase(o.name);
    std::vector<int> verdict(planned.nodes.size(), -1);  // -1 no consumer yet, 0 no, 1 yes
    for (size_t k = 0; k < planned.nodes.size(); ++k)
      for (size_t j = 0; j < planned.nodes[k].inputs.size(); ++j) {
        auto it = producer.find(planned.nodes[k].inputs[j]);
        if (it == producer.end()) continue;
        bool ok = s->kernels_[k]->AcceptsChannelsLast(j);
        int& v = verdict[it->second];
        v = (v == -1 || v == 1) && ok ? 1 : 0;
      }
    for (size_t i = 0; i < planned.nodes.size(); ++i) s->prefer_channels_last_[i] = verdict[i] == 1;
  }
  s->release_after_.resize(planned.nodes.size());
  s->kernel_notes_.resize(planned.nodes.size());
  s->profile_ = options.profile;
  if (s->profile_) s->node_ms_.assign(planned.nodes.size(), 0.0);
  for (const auto& [name, i] : last_use) s->release_after_[i].push_back(name);
  return s;
}

namespace {
Status CheckFeed(const ir::ValueInfo& vi, const Tensor& t, const std::string& source) {
  if (vi.dtype != DataType::kUndefined && vi.dtype != t.dtype())
    return InvalidArgument(source, ": input '", vi.name, "': expected ", DataTypeName(vi.dtype),
                           ", got ", DataTypeName(t.dtype()));
  if (!vi.has_shape) return Status::Ok();
  bool ok = static_cast<size_t>(t.rank()) == vi.dims.size();
  for (size_t d = 0; ok && d < vi.dims.size(); ++d)
    if (vi.dims[d].known() && vi.dims[d].value != t.shape()[d]) ok = false;
  if (!ok)
    return InvalidArgument(source, ": input '", vi.name, "': expected shape ", vi.ShapeString(),
                           ", got ", ShapeToString(t.shape()));
  return Status::Ok();
}

class OmpThreads {
 public:
  explicit OmpThreads(int n) : saved_(omp_get_max_threads()) { omp_set_num_threads(n); }
  ~OmpThreads() { omp_set_num_threads(saved_); }

 private:
  int saved_;
};
}  // namespace

Result<TensorMap> Session::Run(const TensorMap& feeds, TensorObserver* observer) {
  OmpThreads threads(num_threads_);
  last_cl_values_ = 0;
  std::unordered_map<std::string, Tensor> values;
  values.reserve(graph_.nodes.size() * 2);
  for (const auto& in : graph_.inputs) {
    auto it = feeds.find(in.name);
    if (it == feeds.end()) {
      std::string names;
      for (const auto& i : graph_.inputs) names += (names.empty() ? "'" : ", '") + i.name + "'";
      return InvalidArgument(graph_.source, ": no value given for input '", in.name,
                             "' (the model's inputs are ", names, ")");
    }
    CALIB8_RETURN_IF_ERROR(CheckFeed(in, it->second, graph_.source));
    values[in.name] = it->second;
    if (observer && it->second.dtype() == DataType::kFloat32)
      observer->OnTensor(in.name, nullptr, it->second);
  }
  for (const auto& [name, t] : feeds) {
    bool known = std::any_of(graph_.inputs.begin(), graph_.inputs.end(),
                             // An init-capture: clang 14 (scripts/fuzz.sh) cannot capture a
                             // structured binding.
                             [&n = name](const ir::ValueInfo& v) { return v.name == n; });
    if (!known)
      return InvalidArgument(graph_.source, ": '", name, "' is not an input of the model");
  }
  auto lookup = [&](const std::string& name) -> const Tensor* {
    if (name.empty()) return nullptr;
    auto it = values.find(name);
    if (it != values.end()) return &it->second;
    return graph_.FindInitializer(name);
  };
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    const ir::Node& node = graph_.nodes[i];
    KernelContext ctx{node, {}, {}, num_threads_};
    ctx.note = &kernel_notes_[i];
    ctx.prefer_channels_last =
        prefer_channels_last_[i] && (!observer || observer->AcceptsChannelsLast());
    ctx.inputs.reserve(node.inputs.size());
    for (size_t j = 0; j < node.inputs.size(); ++j) {
      const std::string& in = node.inputs[j];
      const Tensor* t = lookup(in);
      if (!in.empty() && !t)
        return Internal(graph_.source, ": node ", node.Describe(), ": input '", in,
                        "' has no value");
      if (t && t->channels_last() && !kernels_[i]->AcceptsChannelsLast(j)) {
        // Converted once: later consumers read the row-major value.
        Tensor& v = values[in];
        v = ToRowMajor(v);
        t = &v;
      }
      ctx.inputs.push_back(t);
    }
    ctx.outputs.resize(node.outputs.size());
    auto t0 = profile_ ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    Status st = kernels_[i]->Run(ctx);
    if (profile_)
      node_ms_[i] +=
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (!st.ok()) return st.WithContext(graph_.source + ": node " + node.Describe());
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      if (node.outputs[o].empty()) continue;
      if (!ctx.outputs[o].defined())
        return Internal(graph_.source, ": node ", node.Describe(), " did not produce output ", o);
      if (observer && ctx.outputs[o].dtype() == DataType::kFloat32)
        observer->OnTensor(
            node.outputs[o], &node,
            observer->AcceptsChannelsLast() ? ctx.outputs[o] : ToRowMajor(ctx.outputs[o]));
      last_cl_values_ += ctx.outputs[o].channels_last();
      values[node.outputs[o]] = std::move(ctx.outputs[o]);
    }
    ctx.inputs.clear();
    for (const auto& name : release_after_[i]) values.erase(name);
  }
  if (profile_) ++profiled_runs_;
  TensorMap out;
  for (const auto& o : graph_.outputs) {
    const Tensor* t = lookup(o.name);
    if (!t) return Internal(graph_.source, ": output '", o.name, "' was not computed");
    out[o.name] = ToRowMajor(*t);
  }
  return out;
}

}  // namespace calib8::exec
