// ops/matmul_ref.h — shape rules of ONNX Gemm and MatMul, shared by the reference kernels
// (matmul_ref.cc) and the oneDNN kernels (matmul_onednn.cc).
#pragma once

#include <cstdint>

#include "calib8/status.h"
#include "calib8/tensor.h"

namespace calib8::ops {

// MatMul follows numpy.matmul: a 1-D A is [1, K] and a 1-D B is [K, 1] (that dim is then dropped
// from the output); leading batch dims broadcast.
struct MatMulDims {
  Shape batch;             // broadcast batch dims of the output
  Shape a_batch, b_batch;  // A's and B's batch dims, left-padded with 1s to batch.size()
  int64_t m = 0, k = 0, n = 0;
  Shape out_shape;
  int64_t batch_count() const { return NumElements(batch); }
};
Result<MatMulDims> MatMulDimsFor(const Shape& a, const Shape& b);

// Gemm: A [M, K] (or [K, M] with transA), B [K, N] (or [N, K] with transB); C, when given, must
// broadcast to [M, N].
struct GemmDims {
  int64_t m = 0, k = 0, n = 0;
};
Result<GemmDims> GemmDimsFor(const Shape& a, const Shape& b, bool trans_a, bool trans_b);
Status CheckGemmC(const Shape& c, const GemmDims& d);

}  // namespace calib8::ops
