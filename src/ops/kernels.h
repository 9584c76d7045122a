// ops/kernels.h — factories for every built-in FP32 kernel, grouped by the file that defines
// them. register_fp32_ops.cc is the one list that maps op names to these.
//
// Each op has a reference factory (plain loops: the executable definition, compared against in
// tests) and, where it pays, a fast one (oneDNN).
#pragma once

#include <string>

#include "exec/kernel.h"

namespace calib8::ops {

// elementwise.cc — unary math/activations, binary arithmetic/comparison (numpy broadcasting),
// Where, Clip (attribute form < opset 11, input form after), PRelu, Cast, Identity, Dropout.
exec::KernelFactory UnaryKernel(const std::string& op_type);   // Relu, Sigmoid, Exp, ...
exec::KernelFactory BinaryKernel(const std::string& op_type);  // Add, Sub, ..., Equal, Less, ...
exec::KernelFactory WhereKernel();
exec::KernelFactory ClipKernel();
// An element-wise kernel that also takes channels-last tensors: a channels-last [N, C, H, W] is a
// row-major [N, H, W, C], so the inner kernel runs on those views when the other inputs broadcast
// the same way (scalars, per-channel [1, C, 1, 1], other channels-last tensors) and its result is
// channels-last; any other mix is converted to row-major first (any_layout.cc).
exec::KernelFactory AnyLayoutElementwise(exec::KernelFactory inner);
exec::KernelFactory PReluKernel();
exec::KernelFactory CastKernel();
exec::KernelFactory IdentityKernel();  // Identity and Dropout (inference: output 0 = input)

// shape_ops.cc — data movement.
exec::KernelFactory ConcatKernel();
exec::KernelFactory SplitKernel();
exec::KernelFactory ReshapeKernel();
exec::KernelFactory FlattenKernel();
exec::KernelFactory TransposeKernel();
exec::KernelFactory SqueezeKernel();
exec::KernelFactory UnsqueezeKernel();
exec::KernelFactory SliceKernel();
exec::KernelFactory GatherKernel();
exec::KernelFactory ShapeKernel();
exec::KernelFactory ExpandKernel();
exec::KernelFactory PadKernel();

// resize.cc — Resize (opset 10, 11, 13+) and Upsample: nearest and (bi)linear, coordinate modes
// half_pixel, asymmetric, align_corners, pytorch_half_pixel; nearest modes.
exec::KernelFactory ResizeKernel();
exec::KernelFactory UpsampleKernel();

// norm_ops.cc — normalisation, softmax, reductions, Q/DQ.
exec::KernelFactory SoftmaxKernel();
exec::KernelFactory LogSoftmaxKernel();
exec::KernelFactory BatchNormalizationKernel();
exec::KernelFactory LayerNormalizationKernel();
exec::KernelFactory InstanceNormalizationKernel();
exec::KernelFactory ReduceKernel(const std::string& op_type);  // ReduceMean, ReduceSum, ReduceMax
exec::KernelFactory QuantizeLinearKernel();
exec::KernelFactory DequantizeLinearKernel();

// conv_ref.cc (reference) and conv_onednn.cc (fast) — Conv, ConvTranspose.
exec::KernelFactory ConvReference();
exec::KernelFactory ConvOneDnn();
exec::KernelFactory ConvTransposeReference();
exec::KernelFactory ConvTransposeOneDnn();

// matmul_ref.cc / matmul_onednn.cc — Gemm, MatMul (batched, broadcast).
exec::KernelFactory GemmReference();
exec::KernelFactory GemmOneDnn();
exec::KernelFactory MatMulReference();
exec::KernelFactory MatMulOneDnn();

// pool_ref.cc / pool_onednn.cc — MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool.
exec::KernelFactory PoolReference(const std::string& op_type);
exec::KernelFactory PoolOneDnn(const std::string& op_type);

}  // namespace calib8::ops
