// quant/qdq_test_util.h — what the Q/DQ pass tests (qdq_placement_test.cc,
// qdq_placement_ort_test.cc, qdq_read_test.cc) build their hand-made graphs with.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "ir/graph.h"

namespace calib8::quant::testing {

// The bit pattern of `f` (table entries and scale initializers are compared as bits).
inline uint32_t Bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

// A default-domain node with one output.
inline ir::Node MakeNode(const std::string& op, const std::string& name,
                         std::vector<std::string> in, std::string out) {
  ir::Node n;
  n.op_type = op;
  n.name = name;
  n.inputs = std::move(in);
  n.outputs = {std::move(out)};
  return n;
}

}  // namespace calib8::quant::testing
