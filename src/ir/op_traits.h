// ir/op_traits.h — what calib8's INT8 path knows about an ONNX operator, in one table (issue 11
// item 4). The lowering (quant/), the Q/DQ placement (onnx/qdq_*), the range search (calib/) and
// sensitivity (eval/) ask it instead of keeping their own lists of op names, so an op that becomes
// INT8-capable costs its kernel, its reference twin and its row in op_traits.cc.
//
// Rows are for the default ONNX domain; an op without a row has every property false.
#pragma once

#include <span>
#include <string_view>

namespace calib8::ir {

// How the INT8 plan (quant/lowering*.cc) can run the op in 8 bits.
enum class Int8Role {
  kNone,     // FP32 only
  kCompute,  // 8-bit activation in, per-channel s8 weight (input 1), int32 accumulate: a kernel
  kPool,     // 8 bits in and out with the input's encoding (max, or the average re-rounded)
  kMove,     // data movement in 8 bits with the input's encoding
  kConcat,   // 8 bits when its inputs can share one encoding
};

struct OpTraits {
  std::string_view op_type;
  Int8Role int8 = Int8Role::kNone;
  bool spatial = false;        // a convolution (Conv, ConvTranspose): kernel, strides, pads
  bool pooling = false;        // a pooling op (Q/DQ units quantize its input and output alike)
  bool keeps_sign = false;     // the output is non-negative when input 0 is (values pass through)
  bool carries_scale = false;  // a consumer of the output reads input 0's 8-bit encoding in the
                               // INT8 plan (max and data movement commute with quantization)
  bool nonneg_output = false;  // the output is never negative, whatever the input
};

// Every row, in table order.
std::span<const OpTraits> AllOpTraits();

// The row of `op_type` (default domain), or an all-false row.
const OpTraits& TraitsOf(std::string_view op_type);

// kCompute ops: the output-channel axis of the weight (input 1), for per-channel scales: Conv's
// [M, C/g, ...] 0; ConvTranspose's [C, M/g, ...] 1; Gemm's B 0 with transB, else 1; MatMul's B
// [..., K, N] its last axis (-1 when B has rank < 2). -1 for other ops.
int WeightAxis(std::string_view op_type, bool trans_b, int weight_rank);

// Shorthands for the questions asked most.
inline bool IsInt8Compute(std::string_view op) { return TraitsOf(op).int8 == Int8Role::kCompute; }
inline bool IsSpatialConv(std::string_view op) { return TraitsOf(op).spatial; }

}  // namespace calib8::ir
