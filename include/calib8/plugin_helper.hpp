// calib8/plugin_helper.hpp — header-only C++ help for writing a calib8 plugin (calib8/plugin.h).
// It depends on the C ABI header and the C++ standard library only: a plugin never links calib8.
//
//   static float Mish(float x) { ... }
//   static const calib8_op_def kOps[] = {
//       calib8::plugin::UnaryFloatOp<Mish>::DefInt8("com.example", "Mish",
//                                               CALIB8_PLUGIN_THREAD_SAFE |
//                                               CALIB8_PLUGIN_DETERMINISTIC)};
//   static const calib8_plugin kPlugin = calib8::plugin::Describe("example-mish", "1.0", kOps);
//   extern "C" CALIB8_PLUGIN_EXPORT const calib8_plugin* calib8_plugin_get(void) { return &kPlugin;
//   }
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>

#include "calib8/plugin.h"

#define CALIB8_PLUGIN_EXPORT __attribute__((visibility("default")))

namespace calib8::plugin {

// Runs `f`; an exception becomes CALIB8_PLUGIN_ERROR with its what() in `message` (nothing may
// cross the C boundary).
template <class F>
int Guard(char* message, size_t message_size, F&& f) noexcept {
  try {
    f();
    return CALIB8_PLUGIN_OK;
  } catch (const std::exception& e) {
    if (message && message_size) std::snprintf(message, message_size, "%s", e.what());
  } catch (...) {
    if (message && message_size) std::snprintf(message, message_size, "unknown exception");
  }
  return CALIB8_PLUGIN_ERROR;
}

inline int64_t NumElements(const calib8_tensor_desc& d) {
  int64_t n = 1;
  for (int32_t i = 0; i < d.rank; ++i) n *= d.dims[i];
  return n;
}

inline const calib8_attribute* FindAttribute(const calib8_node_info* node, const char* name) {
  for (size_t i = 0; i < node->num_attributes; ++i)
    if (std::strcmp(node->attributes[i].name, name) == 0) return &node->attributes[i];
  return nullptr;
}
inline float FloatAttribute(const calib8_node_info* node, const char* name, float fallback) {
  const calib8_attribute* a = FindAttribute(node, name);
  return a && a->kind == CALIB8_ATTR_FLOAT ? a->f : fallback;
}
inline int64_t IntAttribute(const calib8_node_info* node, const char* name, int64_t fallback) {
  const calib8_attribute* a = FindAttribute(node, name);
  return a && a->kind == CALIB8_ATTR_INT ? a->i : fallback;
}

// An element-wise float32 op y = F(x) with one input and one output of the same shape.
template <float (*F)(float)>
struct UnaryFloatOp {
  static int Infer(const calib8_node_info*, const calib8_tensor_desc* in, size_t num_in,
                   calib8_tensor_desc* out, size_t num_out, char* message, size_t size) {
    return Guard(message, size, [&] {
      if (num_in != 1 || num_out != 1) throw std::runtime_error("expected 1 input and 1 output");
      if (in[0].dtype != CALIB8_PLUGIN_FLOAT32)
        throw std::runtime_error("expected a float32 input");
      out[0] = in[0];
    });
  }
  static int Compute(const calib8_node_info*, const calib8_tensor* in, size_t, calib8_tensor* out,
                     size_t, char* message, size_t size) {
    return Guard(message, size, [&] {
      const float* x = static_cast<const float*>(in[0].data);
      float* y = static_cast<float*>(out[0].data);
      const int64_t n = NumElements(in[0].desc);
      for (int64_t i = 0; i < n; ++i) y[i] = F(x[i]);
    });
  }
  // compute_int8 for an element-wise op: a 256-entry table per call, q_y = clamp(round_half_even(
  // F(q_x * s_x) / s_y), -128, 127), the rounding of ONNX QuantizeLinear (and calib8's Quantize).
  static int ComputeInt8(const calib8_node_info*, const calib8_tensor* in, const float* in_scales,
                         size_t, calib8_tensor* out, const float* out_scales, size_t, char* message,
                         size_t size) {
    return Guard(message, size, [&] {
      if (in[0].desc.dtype != CALIB8_PLUGIN_INT8 || out[0].desc.dtype != CALIB8_PLUGIN_INT8)
        throw std::runtime_error("compute_int8 expects int8 tensors");
      if (!(in_scales[0] > 0.0f) || !(out_scales[0] > 0.0f))
        throw std::runtime_error("compute_int8 expects positive scales");
      int8_t table[256];
      for (int v = -128; v < 128; ++v) {
        const float y = std::nearbyint(F(static_cast<float>(v) * in_scales[0]) / out_scales[0]);
        table[v + 128] =
            static_cast<int8_t>(y != y ? 0.0f : std::fmin(127.0f, std::fmax(-128.0f, y)));
      }
      const int8_t* x = static_cast<const int8_t*>(in[0].data);
      int8_t* y = static_cast<int8_t*>(out[0].data);
      const int64_t n = NumElements(in[0].desc);
      for (int64_t i = 0; i < n; ++i) y[i] = table[x[i] + 128];
    });
  }
  // The op without (Def) or with (DefInt8) its 8-bit compute.
  static calib8_op_def DefInt8(const char* domain, const char* op_type, uint32_t flags,
                               int64_t min_opset = 1, int64_t max_opset = 1000) {
    calib8_op_def d = Def(domain, op_type, flags, min_opset, max_opset);
    d.compute_int8 = &ComputeInt8;
    return d;
  }
  static calib8_op_def Def(const char* domain, const char* op_type, uint32_t flags,
                           int64_t min_opset = 1, int64_t max_opset = 1000) {
    calib8_op_def d{};
    d.struct_size = sizeof(calib8_op_def);
    d.domain = domain;
    d.op_type = op_type;
    d.min_opset = min_opset;
    d.max_opset = max_opset;
    d.flags = flags;
    d.infer = &Infer;
    d.compute_fp32 = &Compute;
    d.compute_int8 = nullptr;
    return d;
  }
};

template <size_t N>
calib8_plugin Describe(const char* name, const char* version, const calib8_op_def (&ops)[N]) {
  calib8_plugin p{};
  p.abi_version = CALIB8_PLUGIN_ABI_VERSION;
  p.struct_size = sizeof(calib8_plugin);
  p.name = name;
  p.version = version;
  p.num_ops = N;
  p.ops = ops;
  return p;
}

}  // namespace calib8::plugin
