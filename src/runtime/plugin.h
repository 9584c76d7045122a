// runtime/plugin.h — loading custom-layer plugins (include/calib8/plugin.h, the C ABI) into the op
// registry, so that every Session can run their ops (issue 12 item 2).
#pragma once

#include <string>
#include <vector>

#include "calib8/status.h"
#include "exec/op_registry.h"

namespace calib8::runtime {

struct LoadedPlugin {
  std::string path, name, version;
  std::vector<std::string> ops;  // "domain::OpType" registered
};

// dlopen()s `path`, checks the ABI version and struct sizes, and registers each of its operators
// in `registry` (ops::BuiltinRegistry() by default) with a kernel that calls the plugin's infer
// and compute_fp32 through the C boundary. Errors name the file and, per op, what is wrong
// (missing entry point, other ABI version, NULL functions, an op already registered). The
// library stays loaded until the process exits.
Result<LoadedPlugin> LoadPlugin(const std::string& path, exec::OpRegistry* registry = nullptr);

}  // namespace calib8::runtime
