// ir/op_traits.cc — the op-property table (ir/op_traits.h).
#include "ir/op_traits.h"

#include <array>

namespace calib8::ir {

namespace {

constexpr OpTraits Row(std::string_view op, Int8Role int8) {
  OpTraits t;
  t.op_type = op;
  t.int8 = int8;
  return t;
}
constexpr OpTraits Compute(std::string_view op, bool spatial) {
  OpTraits t = Row(op, Int8Role::kCompute);
  t.spatial = spatial;
  return t;
}
// A row whose output passes values through from input 0: pools and data movement.
constexpr OpTraits PassThrough(std::string_view op, Int8Role int8, bool pooling,
                               bool carries_scale) {
  OpTraits t = Row(op, int8);
  t.pooling = pooling;
  t.keeps_sign = true;
  t.carries_scale = carries_scale;
  return t;
}
constexpr OpTraits NonNegative(std::string_view op) {
  OpTraits t = Row(op, Int8Role::kNone);
  t.nonneg_output = true;
  return t;
}

// budget: data table
constexpr std::array kTable = {
    Compute("Conv", true),
    Compute("ConvTranspose", true),
    Compute("Gemm", false),
    Compute("MatMul", false),
    PassThrough("MaxPool", Int8Role::kPool, true, true),
    PassThrough("AveragePool", Int8Role::kPool, true, true),
    PassThrough("GlobalAveragePool", Int8Role::kPool, true, true),
    PassThrough("GlobalMaxPool", Int8Role::kNone, true, false),  // no 8-bit kernel yet
    PassThrough("Reshape", Int8Role::kMove, false, true),
    PassThrough("Flatten", Int8Role::kMove, false, true),
    PassThrough("Squeeze", Int8Role::kMove, false, true),
    PassThrough("Unsqueeze", Int8Role::kMove, false, true),
    PassThrough("Transpose", Int8Role::kMove, false, true),
    PassThrough("Identity", Int8Role::kNone, false, true),
    Row("Concat", Int8Role::kConcat),
    NonNegative("Relu"),
    NonNegative("Sigmoid"),
    NonNegative("HardSigmoid"),
};

}  // namespace

std::span<const OpTraits> AllOpTraits() { return kTable; }

const OpTraits& TraitsOf(std::string_view op_type) {
  static const OpTraits kNone{};
  for (const OpTraits& t : kTable)
    if (t.op_type == op_type) return t;
  return kNone;
}

int WeightAxis(std::string_view op_type, bool trans_b, int weight_rank) {
  if (op_type == "Conv") return 0;
  if (op_type == "ConvTranspose") return 1;
  if (op_type == "Gemm") return trans_b ? 0 : 1;
  if (op_type == "MatMul") return weight_rank >= 2 ? weight_rank - 1 : -1;
  return -1;
}

}  // namespace calib8::ir
