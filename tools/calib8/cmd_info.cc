// tools/calib8/cmd_info.cc — `calib8 info MODEL [--json]` (calib8::Model::Describe).
#include <nlohmann/json.hpp>

#include "calib8/model.h"
#include "commands.h"

namespace calib8::cli {

namespace {

nlohmann::json ValueJson(const TensorInfo& v) {
  nlohmann::json j{{"name", v.name}, {"dtype", DataTypeName(v.type)}};
  if (v.rank_known) {
    nlohmann::json dims = nlohmann::json::array();
    for (size_t i = 0; i < v.shape.size(); ++i) {
      const std::string name = i < v.dim_names.size() ? v.dim_names[i] : std::string();
      if (v.shape[i] >= 0)
        dims.push_back(v.shape[i]);
      else
        dims.push_back(name.empty() ? "?" : name);
    }
    j["shape"] = dims;
  } else {
    j["shape"] = nullptr;
  }
  return j;
}

void PrintJson(const std::string& path, const ModelDescription& info, const LoadReport& passes) {
  nlohmann::json j;
  j["model"] = path;
  j["opset"] = info.opset;
  j["nodes"] = info.num_nodes;
  j["parameters"] = info.num_parameters;
  for (const auto& v : info.inputs) j["inputs"].push_back(ValueJson(v));
  for (const auto& v : info.outputs) j["outputs"].push_back(ValueJson(v));
  j["op_counts"] = nlohmann::json::object();
  for (const auto& [op, n] : info.op_counts) j["op_counts"][op] = n;
  j["unsupported_ops"] = info.unsupported_ops;
  j["unknown_ops"] = nlohmann::json::array();
  for (const auto& u : info.unknown_ops) {
    nlohmann::json ju = {
        {"domain", u.domain}, {"op_type", u.op_type}, {"nodes", nlohmann::json::array()}};
    for (const NodeInfo& n : u.nodes)
      ju["nodes"].push_back({{"name", n.name}, {"inputs", n.inputs}, {"outputs", n.outputs}});
    j["unknown_ops"].push_back(std::move(ju));
  }
  j["passes"] = {{"constants_folded", passes.constants_folded},
                 {"batchnorms_folded", passes.batchnorms_folded},
                 {"affine_folded", passes.affine_folded},
                 {"hardswish_fused", passes.hardswish_fused},
                 {"dead_nodes_removed", passes.dead_nodes_removed}};
  std::cout << j.dump(2) << "\n";
}

// Every node of every unknown op, with the tensors around it (issue 12): where to cut.
void PrintUnknownOps(const Model& model, const ModelDescription& info) {
  auto shape = [&](const std::string& t) {
    auto v = model.FindTensor(t);
    return v ? ShapeText(*v) : std::string("[shape unknown]");
  };
  for (const auto& u : info.unknown_ops) {
    std::cout << "  " << u.name << " (domain '" << (u.domain.empty() ? "ai.onnx" : u.domain)
              << "', op type '" << u.op_type << "'): " << u.nodes.size() << " node(s)\n";
    for (const NodeInfo& n : u.nodes) {
      std::cout << "    node '" << n.name << "':";
      for (const auto& in : n.inputs)
        if (!in.empty() && !model.IsInitializer(in)) std::cout << " " << in << shape(in);
      std::cout << " ->";
      for (const auto& out : n.outputs)
        if (!out.empty()) std::cout << " " << out << shape(out);
      std::cout << "\n";
    }
  }
  if (!info.ways_on.empty()) std::cout << info.ways_on << "\n";
}

void PrintText(const std::string& path, const Model& model, const ModelDescription& info,
               const LoadReport& passes) {
  std::cout << "model: " << path << "\nopset: " << info.opset << "\nnodes: " << info.num_nodes
            << " (after folding " << passes.constants_folded << " constant nodes and "
            << passes.batchnorms_folded
            << " BatchNormalizations)\nparameters: " << info.num_parameters << "\ninputs:\n";
  for (const auto& v : info.inputs)
    std::cout << "  " << v.name << "  " << DataTypeName(v.type) << " " << ShapeText(v) << "\n";
  std::cout << "outputs:\n";
  for (const auto& v : info.outputs)
    std::cout << "  " << v.name << "  " << DataTypeName(v.type) << " " << ShapeText(v) << "\n";
  std::cout << "ops:\n";
  for (const auto& [op, n] : info.op_counts) std::cout << "  " << op << ": " << n << "\n";
  std::cout << "unsupported ops: ";
  if (info.unsupported_ops.empty()) std::cout << "none";
  for (size_t i = 0; i < info.unsupported_ops.size(); ++i)
    std::cout << (i ? ", " : "") << info.unsupported_ops[i];
  std::cout << "\n";
  PrintUnknownOps(model, info);
}

}  // namespace

Command AddInfoCommand(CLI::App& app) {
  auto* sub =
      app.add_subcommand("info", "Describe a model: inputs, outputs, op counts, unsupported ops");
  struct Opts {
    std::string model;
    bool json = false;
    bool no_optimize = false;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("MODEL", o->model, "ONNX model file")->required();
  sub->add_flag("--json", o->json, "Print JSON instead of text");
  sub->add_flag("--no-optimize", o->no_optimize,
                "Describe the graph as stored (no folding passes)");
  return [o]() -> int {
    LoadOptions lo;
    lo.optimize = !o->no_optimize;
    LoadReport passes;
    auto model = Model::Load(o->model, lo, &passes);
    if (!model.ok()) return ReportError(model.status());
    const ModelDescription info = model->Describe();
    if (o->json)
      PrintJson(o->model, info, passes);
    else
      PrintText(o->model, *model, info, passes);
    return info.unsupported_ops.empty() ? 0 : 1;
  };
}

}  // namespace calib8::cli
