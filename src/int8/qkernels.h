// int8/qkernels.h — the INT8 kernels of the domain "calib8.int8" (ops written by
// quant/lowering.h): their factories, the requantizing epilogue they share, and the NCHW <-> NHWC
// helpers for 8-bit activations. Reference kernels (plain loops) are the executable form of
// quant/quant_params.h; the oneDNN kernels must agree with them (tests in int8_test.cc).
#pragma once

#include <cstdint>
#include <vector>

#include "calib8/status.h"
#include "calib8/tensor.h"
#include "exec/kernel.h"
#include "exec/op_registry.h"
#include "ops/epilogue_ref.h"
#include "quant/quant_params.h"

namespace calib8::int8 {

// The output stage of QConv and QMatMul, from the node's attributes:
//   v = (float(acc) + float(bias_q)) * oscale[c]        (acc: int32 sum of x_q * w_q)
//   v = v + sum_scale * r                               (fused residual; r as stored: q or float)
//   v = (act(v) * post_mul + post_add) * act_scale      (fused activation and scalar affine)
//   out = SaturateS8(v + out_zp) | SaturateU8(v + out_zp) | v (float32)
// Zero points (asymmetric u8 activations, quant_params.h): acc sums w_q * (x_q - in_zp) over the
// positions inside the input (padding is a real 0, so it adds nothing); an 8-bit residual enters
// as r - res_zp; out_zp is added last, after the activation (oneDNN's src/dst zero points and
// sum zero point do the same).
// Direct mode (no activation, Relu, LeakyRelu, Clip — they commute with a positive scale — and
// no affine):
//   oscale = s_in * s_w,c / s_out, sum_scale = s_r / s_out, Clip bounds divided by s_out,
//   act_scale = 1. Real mode (HardSwish, HardSigmoid, Sigmoid, Tanh, or a float32 output):
//   oscale = s_in * s_w,c, sum_scale = s_r (1 for a float32 residual), act_scale = 1 / s_out
//   (1 for float32). This is the order oneDNN 2.x applies output scales and post-ops in.
struct QEpilogue {
  enum class OutType { kS8, kU8, kF32 };
  OutType out_type = OutType::kF32;
  bool real_mode = true;
  float in_scale = 0.0f, out_scale = 0.0f, res_scale = 0.0f;
  int32_t in_zp = 0, out_zp = 0, res_zp = 0;
  std::vector<float> w_scales;
  std::vector<float> oscale;  // per output channel
  bool sum = false;
  float sum_scale = 1.0f;
  ops::Epilogue act;  // alpha/beta already in the domain the activation runs in
  float act_scale = 1.0f;
  bool in_nhwc = false, out_nhwc = false, res_nhwc = false;

  DataType out_dtype() const {
    return out_type == OutType::kS8   ? DataType::kInt8
           : out_type == OutType::kU8 ? DataType::kUint8
                                      : DataType::kFloat32;
  }
  // The value before rounding and before out_zp (see above). r: the residual element as stored
  // (0 when !sum).
  float Finish(int32_t acc, int32_t bias, int64_t c, float r) const {
    float v = (static_cast<float>(acc) + static_cast<float>(bias)) * oscale[static_cast<size_t>(c)];
    if (sum) v = v + sum_scale * (r - static_cast<float>(res_zp));
    if (act.act != ops::Epilogue::Act::kNone || act.affine) v = act.Activate(v) * act_scale;
    return v;
  }
};

// Reads in_scale, w_scales, out_scale, out_type, res_scale, *_nhwc and the _calib8_* epilogue
// (residual = input 3).
Result<QEpilogue> ParseQEpilogue(const ir::Node& node);

// Writes v into out[i] as the epilogue's output type (adding out_zp to 8-bit outputs).
inline void StoreOut(const QEpilogue& e, float v, void* out, int64_t i) {
  switch (e.out_type) {
    case QEpilogue::OutType::kS8:
      static_cast<int8_t*>(out)[i] = quant::SaturateS8(v + static_cast<float>(e.out_zp));
      break;
    case QEpilogue::OutType::kU8:
      static_cast<uint8_t*>(out)[i] = quant::SaturateU8(v + static_cast<float>(e.out_zp));
      break;
    case QEpilogue::OutType::kF32:
      static_cast<float*>(out)[i] = v;
      break;
  }
}

// Element i of an 8-bit or float32 tensor, as float.
inline float LoadAsFloat(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DataType::kInt8:
      return t.data<int8_t>()[i];
    case DataType::kUint8:
      return t.data<uint8_t>()[i];
    default:
      return t.data<float>()[i];
  }
}

// Layouts of 4-D activations. An NHWC tensor stores shape [N, H, W, C]. (Only 4-D tensors are
// held NHWC between ops; ToNhwc / ToNchw also turn [N, C, S...] into [N, S..., C] and back for
// rank 3 and 5, which the oneDNN kernels use inside for 1-D and 3-D convolutions.)
Shape NchwShape(const Tensor& t, bool nhwc);  // the logical [N, C, H, W]
Tensor ToNhwc(const Tensor& nchw);            // any element size; rank >= 3
Tensor ToNchw(const Tensor& nhwc);
// `t` in NCHW when nhwc is false, converted otherwise (a view when already right).
inline Tensor AsNchw(const Tensor& t, bool nhwc) { return nhwc ? ToNchw(t) : t; }
inline Tensor AsNhwc(const Tensor& t, bool nhwc) { return nhwc ? t : ToNhwc(t); }

// Factories (registered by register_int8_ops.cc).
exec::KernelFactory QuantizeKernel();
exec::KernelFactory DequantizeKernel();
exec::KernelFactory QConcatKernel();
exec::KernelFactory QPoolKernel(const std::string& op_type);  // QMaxPool, QAveragePool, ...
exec::KernelFactory QConvReference();
exec::KernelFactory QConvOneDnn();
exec::KernelFactory QConvTransposeReference();  // W [C, M/group, k...] (ONNX ConvTranspose)
exec::KernelFactory QConvTransposeOneDnn();
exec::KernelFactory QMatMulReference();
// How many QConv / QConvTranspose runs of the oneDNN kernels went to the reference kernel
// (negative pads, an epilogue oneDNN cannot fuse): tests check the fast path really ran.
int64_t OneDnnFallbacks();
exec::KernelFactory QMatMulOneDnn();

// Registers the calib8.int8 ops into `registry`.
void RegisterInt8Ops(exec::OpRegistry& registry);
// ops::BuiltinRegistry() with the calib8.int8 ops added (once, thread-safe).
exec::OpRegistry& Int8Registry();

}  // namespace calib8::int8
