// tools/calib8/cmd_info.cc — `calib8 info MODEL [--json]`.
#include <nlohmann/json.hpp>

#include "commands.h"
#include "runtime/engine.h"

namespace calib8::cli {

namespace {
nlohmann::json ValueJson(const ir::ValueInfo& v) {
  nlohmann::json j{{"name", v.name}, {"dtype", DataTypeName(v.dtype)}};
  if (v.has_shape) {
    nlohmann::json dims = nlohmann::json::array();
    for (const auto& d : v.dims) {
      if (d.known())
        dims.push_back(d.value);
      else
        dims.push_back(d.param.empty() ? "?" : d.param);
    }
    j["shape"] = dims;
  } else {
    j["shape"] = nullptr;
  }
  return j;
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
    runtime::LoadOptions lo;
    lo.optimize = !o->no_optimize;
    runtime::PassReport passes;
    auto g = runtime::LoadModel(o->model, lo, &passes);
    if (!g.ok()) return ReportError(g.status());
    runtime::ModelInfo info = runtime::Describe(*g);
    if (o->json) {
      nlohmann::json j;
      j["model"] = o->model;
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
        for (const ir::Node* n : u.nodes)
          ju["nodes"].push_back(
              {{"name", n->name}, {"inputs", n->inputs}, {"outputs", n->outputs}});
        j["unknown_ops"].push_back(std::move(ju));
      }
      j["passes"] = {{"constants_folded", passes.constants_folded},
                     {"batchnorms_folded", passes.batchnorms_folded},
                     {"affine_folded", passes.affine_folded},
                     {"hardswish_fused", passes.hardswish_fused},
                     {"dead_nodes_removed", passes.dead_nodes_removed}};
      std::cout << j.dump(2) << "\n";
    } else {
      std::cout << "model: " << o->model << "\nopset: " << info.opset
                << "\nnodes: " << info.num_nodes << " (after folding " << passes.constants_folded
                << " constant nodes and " << passes.batchnorms_folded
                << " BatchNormalizations)\nparameters: " << info.num_parameters << "\ninputs:\n";
      for (const auto& v : info.inputs)
        std::cout << "  " << v.name << "  " << DataTypeName(v.dtype) << " " << v.ShapeString()
                  << "\n";
      std::cout << "outputs:\n";
      for (const auto& v : info.outputs)
        std::cout << "  " << v.name << "  " << DataTypeName(v.dtype) << " " << v.ShapeString()
                  << "\n";
      std::cout << "ops:\n";
      for (const auto& [op, n] : info.op_counts) std::cout << "  " << op << ": " << n << "\n";
      std::cout << "unsupported ops: ";
      if (info.unsupported_ops.empty()) std::cout << "none";
      for (size_t i = 0; i < info.unsupported_ops.size(); ++i)
        std::cout << (i ? ", " : "") << info.unsupported_ops[i];
      std::cout << "\n";
      // Every node of every unknown op, with the tensors around it (issue 12): where to cut.
      auto shape = [&](const std::string& t) {
        auto it = g->value_info.find(t);
        return it == g->value_info.end() ? std::string("[shape unknown]")
                                         : it->second.ShapeString();
      };
      for (const auto& u : info.unknown_ops) {
        std::cout << "  " << u.Name() << " (domain '" << (u.domain.empty() ? "ai.onnx" : u.domain)
                  << "', op type '" << u.op_type << "'): " << u.nodes.size() << " node(s)\n";
        for (const ir::Node* n : u.nodes) {
          std::cout << "    node '" << n->name << "':";
          for (const auto& in : n->inputs)
            if (!in.empty() && !g->FindInitializer(in)) std::cout << " " << in << shape(in);
          std::cout << " ->";
          for (const auto& out : n->outputs)
            if (!out.empty()) std::cout << " " << out << shape(out);
          std::cout << "\n";
        }
      }
      Status runnable = runtime::CheckRunnable(*g);
      if (!runnable.ok()) {
        std::string m = runnable.message();
        auto cut = m.find(runtime::kWaysOnLead);
        if (cut != std::string::npos) std::cout << m.substr(cut) << "\n";
      }
    }
    return info.unsupported_ops.empty() ? 0 : 1;
  };
}

}  // namespace calib8::cli
