// ops/conv_ref.h — attributes and output geometry of ONNX Conv and ConvTranspose, shared by the
// reference kernels (conv_ref.cc) and the oneDNN kernels (conv_onednn.cc), so that both agree on
// pads, auto_pad and output sizes by construction.
#pragma once

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

// Reference computations over float32 (y is allocated by the caller, shaped g.out_shape).
// bias and residual may be nullptr.
void ConvForwardRef(const ConvGeometry& g, const float* x, const float* w, const float* bias,
                    const Epilogue& e, const float* residual, float* y);
void ConvTransposeForwardRef(const ConvGeometry& g, const float* x, const float* w,
                             const float* bias, const Epilogue& e, const float* residual, float* y);

}  // namespace calib8::ops
