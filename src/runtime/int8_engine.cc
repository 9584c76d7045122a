// runtime/int8_engine.cc — wires the INT8 lowering (quant/) to the executor with the INT8 kernels
// (int8/) registered beside the FP32 ones.
#include "runtime/int8_engine.h"

#include "runtime/engine.h"

#include <filesystem>
#include <sstream>

#include "calib8/plugin.h"
#include "core/file_util.h"
#include "int8/qkernels.h"
#include "table/fingerprint.h"
#include "table/sidecar.h"

namespace calib8::runtime {

std::string CoverageSummary(const quant::Coverage& c, size_t max_names) {
  std::ostringstream os;
  os << "coverage " << c.found << "/" << c.needed << " (";
  os.setf(std::ios::fixed);
  os.precision(1);
  os << 100.0 * c.ratio() << "%)";
  auto list = [&](const char* what, const std::vector<std::string>& v) {
    if (v.empty()) return;
    os << "; " << what << ": ";
    for (size_t i = 0; i < v.size() && i < max_names; ++i)
      os << (i ? ", " : "") << "'" << v[i] << "'";
    if (v.size() > max_names) os << ", ... (" << v.size() << " in all)";
  };
  list("missing", c.missing);
  list("amax 0", c.zero);
  return os.str();
}

Result<table::CalibrationTable> LoadInt8Table(const std::string& path, bool symmetric,
                                              Int8Options* options, Int8TableMode* mode) {
  // The bytes are read once: parsed here, fingerprinted below against the sidecar's record.
  CALIB8_ASSIGN_OR_RETURN(std::string bytes, core::ReadFile(path, "table"));
  CALIB8_ASSIGN_OR_RETURN(table::TableFormat format, table::DetectFormat(bytes, path));
  CALIB8_ASSIGN_OR_RETURN(table::CalibrationTable t, table::ParseTable(bytes, path, format));
  options->lowering.ranges.clear();
  *mode = Int8TableMode{};
  const std::string sidecar_path = table::SidecarPathFor(path);
  std::error_code ec;
  if (symmetric) {
    mode->note = "symmetric s8 activations (TensorRT mode, --symmetric)";
    return t;
  }
  if (!std::filesystem::exists(sidecar_path, ec)) {
    mode->note = "symmetric s8 activations: no sidecar " + sidecar_path +
                 " (a bare TensorRT cache is symmetric)";
    return t;
  }
  CALIB8_ASSIGN_OR_RETURN(table::Sidecar sc, table::ReadSidecarFile(sidecar_path));
  if (!sc.table_fingerprint.empty() && sc.table_fingerprint != table::BytesFingerprint(bytes)) {
    mode->note = "symmetric s8 activations: sidecar " + sidecar_path +
                 " was written for other table bytes (edited or merged table)";
    return t;
  }
  for (const auto& ts : sc.tensors)
    if (ts.has_range) options->lowering.ranges[ts.name] = {ts.lo, ts.hi};
  if (options->lowering.ranges.empty()) {
    mode->note = "symmetric s8 activations: sidecar " + sidecar_path +
                 " has no asymmetric ranges (recalibrate with this calib8 to get them)";
    return t;
  }
  mode->asymmetric = true;
  mode->note = "asymmetric u8 activations with zero points (ranges of " +
               std::to_string(options->lowering.ranges.size()) + " tensor(s) from " + sidecar_path +
               "; --symmetric for TensorRT's symmetric s8)";
  return t;
}

void SetSpeedRule(Int8Options* options, bool int8_all) {
  options->lowering.speed_rule = !int8_all && !options->lowering.ranges.empty();
}

std::map<std::string, bool> Int8PluginOps() {
  const exec::OpRegistry& r = int8::Int8Registry();
  const std::string prefix = quant::kInt8PluginPrefix;
  std::map<std::string, bool> ops;
  for (const std::string& t : r.OpTypes(quant::kInt8Domain)) {
    if (t.rfind(prefix, 0) != 0) continue;
    const exec::OpEntry* e = r.Find(quant::kInt8Domain, t, 0);
    ops[t.substr(prefix.size())] = e && (e->plugin_flags & CALIB8_PLUGIN_OUTPUT_HAS_INPUT_SCALE);
  }
  return ops;
}

Result<quant::Int8Plan> PlanInt8(const ir::Graph& graph, const table::CalibrationTable& table,
                                 const Int8Options& options) {
  quant::LoweringOptions lowering = options.lowering;
  lowering.int8_custom_ops = Int8PluginOps();
  CALIB8_ASSIGN_OR_RETURN(quant::Int8Plan plan, quant::LowerToInt8(graph, table, lowering));
  const quant::Coverage& c = plan.coverage;
  if (options.strict && (!c.missing.empty() || !c.zero.empty()))
    return InvalidArgument(options.lowering.table_source, ": does not cover ", graph.source, ": ",
                           CoverageSummary(c), " (--strict refuses FP32 fallback)");
  return plan;
}

Result<std::unique_ptr<exec::Session>> CreateInt8Session(const quant::Int8Plan& plan,
                                                         exec::SessionOptions options) {
  options.fuse_epilogues = false;
  if (!options.registry) {
    options.registry = &int8::Int8Registry();
    CALIB8_RETURN_IF_ERROR(CheckRunnable(plan.graph, options.registry));
  }
  return exec::Session::Create(plan.graph, options);
}

Result<std::unique_ptr<exec::Session>> CreateInt8Session(const ir::Graph& graph,
                                                         const table::CalibrationTable& table,
                                                         const Int8Options& options,
                                                         exec::SessionOptions session_options,
                                                         quant::Int8Plan* plan_out) {
  CALIB8_ASSIGN_OR_RETURN(quant::Int8Plan plan, PlanInt8(graph, table, options));
  auto s = CreateInt8Session(plan, session_options);
  if (plan_out) *plan_out = std::move(plan);
  return s;
}

}  // namespace calib8::runtime
