// ops/onednn_util.h — the one seam between calib8 and oneDNN's C++ API for FP32 kernels:
// the shared CPU engine and stream, the conversion of dnnl::error to Status, plain (row-major)
// memory descriptors and the translation of a fused epilogue (epilogue_ref.h) into post-ops.
// oneDNN here is built with OpenMP: it uses the thread count the Session sets for a run.
#pragma once

#include <functional>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>

#include "calib8/status.h"
#include "calib8/tensor.h"
#include "ops/epilogue_ref.h"

namespace calib8::ops {

// The process-wide CPU engine (created on first use).
inline dnnl::engine& CpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// An in-order stream on the CPU engine, one per calling thread (CPU streams execute at once).
inline dnnl::stream& CpuStream() {
  thread_local dnnl::stream stream(CpuEngine());
  return stream;
}

// Runs `fn`, converting a dnnl::error into a Status that names what was being done.
inline Status OneDnnCall(const std::string& what, const std::function<void()>& fn) {
  try {
    fn();
  } catch (const dnnl::error& e) {
    return Internal("oneDNN failed while ", what, ": ", e.what(), " (status ",
                    static_cast<int>(e.status), ")");
  } catch (const std::exception& e) {
    return Internal("oneDNN failed while ", what, ": ", e.what());
  }
  return Status::Ok();
}

// A dense row-major float32 descriptor of `dims`.
inline dnnl::memory::desc PlainDesc(const dnnl::memory::dims& dims) {
  dnnl::memory::dims strides(dims.size(), 1);
  for (int i = static_cast<int>(dims.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * dims[i + 1];
  return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, strides);
}

// A float32 [N, C, H, W] descriptor stored channels-last (Layout::kChannelsLast).
inline dnnl::memory::desc NhwcDesc(const dnnl::memory::dims& dims) {
  return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, dnnl::memory::format_tag::nhwc);
}

// PlainDesc or NhwcDesc by a tensor's layout.
inline dnnl::memory::desc LayoutDesc(const dnnl::memory::dims& dims, Layout layout) {
  return layout == Layout::kChannelsLast ? NhwcDesc(dims) : PlainDesc(dims);
}

// A float32 descriptor with explicit strides (transposed or permuted views of plain buffers).
inline dnnl::memory::desc StridedDesc(const dnnl::memory::dims& dims,
                                      const dnnl::memory::dims& strides) {
  return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, strides);
}

// A float32 descriptor whose layout the primitive chooses.
inline dnnl::memory::desc AnyDesc(const dnnl::memory::dims& dims) {
  return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, dnnl::memory::format_tag::any);
}

// Appends the epilogue as post-ops: `sum` (the destination holds the residual before the
// primitive runs) and then the activation. May throw dnnl::error: call inside OneDnnCall.
inline void AppendEpilogue(const Epilogue& e, dnnl::post_ops& po) {
  using alg = dnnl::algorithm;
  if (e.sum) po.append_sum(1.0f);
  switch (e.act) {
    case Epilogue::Act::kNone:
      break;
    case Epilogue::Act::kRelu:
      po.append_eltwise(1.0f, alg::eltwise_relu, 0.0f, 0.0f);
      break;
    case Epilogue::Act::kLeakyRelu:
      po.append_eltwise(1.0f, alg::eltwise_relu, e.alpha, 0.0f);
      break;
    case Epilogue::Act::kClip:
      po.append_eltwise(1.0f, alg::eltwise_clip, e.alpha, e.beta);
      break;
    case Epilogue::Act::kHardSwish:  // x * relu6(x + 3) / 6, as ONNX
      po.append_eltwise(1.0f, alg::eltwise_hardswish, 0.0f, 0.0f);
      break;
    case Epilogue::Act::kHardSigmoid:  // clip(alpha * x + beta, 0, 1)
      po.append_eltwise(1.0f, alg::eltwise_linear, e.alpha, e.beta);
      po.append_eltwise(1.0f, alg::eltwise_clip, 0.0f, 1.0f);
      break;
    case Epilogue::Act::kSigmoid:
      po.append_eltwise(1.0f, alg::eltwise_logistic, 0.0f, 0.0f);
      break;
    case Epilogue::Act::kTanh:
      po.append_eltwise(1.0f, alg::eltwise_tanh, 0.0f, 0.0f);
      break;
  }
  if (e.affine) po.append_eltwise(1.0f, alg::eltwise_linear, e.post_mul, e.post_add);
}

// A plain float32 memory over a tensor's buffer (no copy).
inline dnnl::memory WrapTensor(const dnnl::memory::desc& md, const Tensor& t) {
  return dnnl::memory(md, CpuEngine(), const_cast<void*>(t.raw()));
}

}  // namespace calib8::ops
