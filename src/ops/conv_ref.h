// ops/conv_ref.h — attributes and output geometry of ONNX Conv and ConvTranspose, shared by the
// reference kernels (conv_ref.cc) and the oneDNN kernels (conv_onednn.cc), so that both agree on
// pads, auto_pad and output sizes by construction.
#pragma once

#include <algorithm>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "calib8/status.h"
#include "calib8/tensor.h"
#include "ir/graph.h"
#include "ops/epilogue_ref.h"

namespace calib8::ops {

struct ConvAttrs {
  bool transposed = false;
  std::string auto_pad = "NOTSET";  // NOTSET, SAME_UPPER, SAME_LOWER, VALID
  int64_t group = 1;
  std::vector<int64_t> kernel_shape, strides, dilations, pads;  // empty = default
  std::vector<int64_t> output_padding, output_shape;            // ConvTranspose only
  Epilogue epilogue;
};

// Reads and checks the attributes (Conv: transposed = false; ConvTranspose: true).
Result<ConvAttrs> ParseConvAttrs(const ir::Node& node, bool transposed);

// The sizes of one run. Spatial dims are padded at the front with unit dims to three
// (1-D: [1, 1, W]; 2-D: [1, H, W]) so that loops are always three deep; `spatial` is the real
// rank. For ConvTranspose, pad_e already includes output_padding (pad_e - output_padding) and may
// be negative: the output then extends past the last input contribution.
struct ConvGeometry {
  int spatial = 0;
  int64_t n = 0, c = 0, m = 0, group = 1;  // batch, input channels, output channels, groups
  std::array<int64_t, 3> in{1, 1, 1}, out{1, 1, 1}, k{1, 1, 1};
  std::array<int64_t, 3> stride{1, 1, 1}, dil{1, 1, 1}, pad_b{0, 0, 0}, pad_e{0, 0, 0};
  Shape out_shape;  // [n, m, out...] with the real rank

  int64_t c_per_group() const { return c / group; }
  int64_t m_per_group() const { return m / group; }
  int64_t in_size() const { return in[0] * in[1] * in[2]; }
  int64_t out_size() const { return out[0] * out[1] * out[2]; }
  int64_t k_size() const { return k[0] * k[1] * k[2]; }
};

// X [N, C, D...], W [M, C/group, k...].
Result<ConvGeometry> ConvGeometryFor(const ConvAttrs& a, const Shape& x, const Shape& w);
// X [N, C, D...], W [C, M/group, k...].
Result<ConvGeometry> ConvTransposeGeometryFor(const ConvAttrs& a, const Shape& x, const Shape& w);

// The definition of the convolution for one (image, output channel), in accumulator type Acc;
// the float32 reference (Acc = double) and the INT8 reference (Acc = int32) both follow it.
// x_group: the group's cg = c_per_group() input planes, in_size() apart; w_m: W[m, :, k...].
//   plane[o] = init + sum_{c, k inside the input} x[c, o * stride - pad_begin + k * dilation] *
//   w_m[c, k]
template <typename Acc, typename X, typename W>
void ConvPlaneRef(const ConvGeometry& g, const X* x_group, const W* w_m, Acc init, Acc* plane) {
  const int64_t cg = g.c_per_group(), isz = g.in_size(), ksz = g.k_size();
  for (int64_t od = 0; od < g.out[0]; ++od)
    for (int64_t oh = 0; oh < g.out[1]; ++oh)
      for (int64_t ow = 0; ow < g.out[2]; ++ow) {
        Acc acc = init;
        for (int64_t ic = 0; ic < cg; ++ic) {
          const X* xc = x_group + ic * isz;
          const W* wc = w_m + ic * ksz;
          for (int64_t kd = 0; kd < g.k[0]; ++kd) {
            // input coordinate = output * stride - pad_begin + kernel * dilation
            int64_t id = od * g.stride[0] - g.pad_b[0] + kd * g.dil[0];
            if (id < 0 || id >= g.in[0]) continue;
            for (int64_t kh = 0; kh < g.k[1]; ++kh) {
              int64_t ih = oh * g.stride[1] - g.pad_b[1] + kh * g.dil[1];
              if (ih < 0 || ih >= g.in[1]) continue;
              for (int64_t kw = 0; kw < g.k[2]; ++kw) {
                int64_t iw = ow * g.stride[2] - g.pad_b[2] + kw * g.dil[2];
                if (iw < 0 || iw >= g.in[2]) continue;
                acc += static_cast<Acc>(xc[(id * g.in[1] + ih) * g.in[2] + iw]) *
                       static_cast<Acc>(wc[(kd * g.k[1] + kh) * g.k[2] + kw]);
              }
            }
          }
        }
        plane[(od * g.out[1] + oh) * g.out[2] + ow] = acc;
      }
}

// The definition of the transposed convolution for one (image, output channel oc of its group):
// each input position of the group's cg channels scatters its kernel into the plane, which holds
// init first. x_group as above; w_oc: W[c0, oc, k...] of the group's first channel c0 (ONNX's
// W [C, M/group, k...], so channel c0 + c is m_per_group() * k_size() further).
//   plane[i * stride - pad_begin + k * dilation] += x[c, i] * w[c, oc, k]
template <typename Acc, typename X, typename W>
void ConvTransposePlaneRef(const ConvGeometry& g, const X* x_group, const W* w_oc, Acc init,
                           Acc* plane) {
  const int64_t cg = g.c_per_group(), isz = g.in_size(), ksz = g.k_size();
  std::fill(plane, plane + g.out_size(), init);
  for (int64_t ic = 0; ic < cg; ++ic) {
    const X* xc = x_group + ic * isz;
    const W* wk = w_oc + ic * g.m_per_group() * ksz;
    for (int64_t id = 0; id < g.in[0]; ++id)
      for (int64_t ih = 0; ih < g.in[1]; ++ih)
        for (int64_t iw = 0; iw < g.in[2]; ++iw) {
          const Acc v = static_cast<Acc>(xc[(id * g.in[1] + ih) * g.in[2] + iw]);
          for (int64_t kd = 0; kd < g.k[0]; ++kd) {
            // output coordinate = input * stride - pad_begin + kernel * dilation
            int64_t od = id * g.stride[0] - g.pad_b[0] + kd * g.dil[0];
            if (od < 0 || od >= g.out[0]) continue;
            for (int64_t kh = 0; kh < g.k[1]; ++kh) {
              int64_t oh = ih * g.stride[1] - g.pad_b[1] + kh * g.dil[1];
              if (oh < 0 || oh >= g.out[1]) continue;
              for (int64_t kw = 0; kw < g.k[2]; ++kw) {
                int64_t ow = iw * g.stride[2] - g.pad_b[2] + kw * g.dil[2];
                if (ow < 0 || ow >= g.out[2]) continue;
                plane[(od * g.out[1] + oh) * g.out[2] + ow] +=
                    v * static_cast<Acc>(wk[(kd * g.k[1] + kh) * g.k[2] + kw]);
              }
            }
          }
        }
  }
}

// Reference computations over float32 (y is allocated by the caller, shaped g.out_shape).
// bias and residual may be nullptr.
void ConvForwardRef(const ConvGeometry& g, const float* x, const float* w, const float* bias,
                    const Epilogue& e, const float* residual, float* y);
void ConvTransposeForwardRef(const ConvGeometry& g, const float* x, const float* w,
                             const float* bias, const Epilogue& e, const float* residual, float* y);

}  // namespace calib8::ops
