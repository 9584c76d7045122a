// exec/op_registry.h — the table from (domain, op type) to kernel factories.
//
// Ops are registered in exactly one place (ops/register_fp32_ops.cc, one line each); custom-layer
// plugins add entries at run time through the same Register call. Entries are looked up by name
// when a Session is planned; nothing ever persists an index.
#pragma once

#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "exec/kernel.h"

namespace calib8::exec {

enum class KernelFlavor { kFast, kReference };

struct OpEntry {
  std::string domain;
  std::string op_type;
  int64_t min_opset = 1;  // inclusive range of opsets this implementation follows
  int64_t max_opset = 1000;
  KernelFactory reference;         // required: plain loops, the executable definition
  KernelFactory fast;              // optional: oneDNN or otherwise optimised
  std::string origin = "builtin";  // "builtin" or the plugin that registered it
  uint32_t plugin_flags = 0;       // a plugin op's calib8_plugin_flags (include/calib8/plugin.h)
};

class OpRegistry {
 public:
  // The process-wide registry. It starts empty: ops::BuiltinRegistry() (src/ops/ops.h) fills it
  // with the built-in ops once; plugins add to it.
  static OpRegistry& Global();

  // Adds an entry; fails if an entry for the same (domain, op_type) overlaps its opset range.
  Status Register(OpEntry entry);

  // The entry for this op at this opset, or nullptr.
  const OpEntry* Find(const std::string& domain, const std::string& op_type, int64_t opset) const;

  // Factory for the requested flavor (falls back to reference when there is no fast one).
  const KernelFactory* FindFactory(const std::string& domain, const std::string& op_type,
                                   int64_t opset, KernelFlavor flavor) const;

  // Sorted op type names for one domain ("" = ai.onnx).
  std::vector<std::string> OpTypes(const std::string& domain = "") const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, std::deque<OpEntry>>
      entries_;  // deque: pointers stay valid
};

}  // namespace calib8::exec
