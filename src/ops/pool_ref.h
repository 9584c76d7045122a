// ops/pool_ref.h — attributes and output geometry of ONNX MaxPool, AveragePool,
// GlobalAveragePool and GlobalMaxPool, shared by the reference kernels (pool_ref.cc) and the
// oneDNN kernels (pool_onednn.cc).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "calib8/status.h"
#include "calib8/tensor.h"
#include "ir/graph.h"

namespace calib8::ops {

struct PoolAttrs {
  bool global = false;  // GlobalAveragePool / GlobalMaxPool
  bool is_max = false;
  std::string auto_pad = "NOTSET";
  bool ceil_mode = false;
  bool count_include_pad = false;
  int64_t storage_order = 0;  // MaxPool Indices: 0 row-major, 1 column-major
  std::vector<int64_t> kernel_shape, strides, dilations, pads;
};

Result<PoolAttrs> ParsePoolAttrs(const ir::Node& node, const std::string& op_type);

// As ConvGeometry (conv_ref.h): spatial dims padded at the front to three. Global pools flatten
// all spatial dims into the last one (a single window over the whole image).
struct PoolGeometry {
  int spatial = 0;
  int64_t n = 0, c = 0;
  std::array<int64_t, 3> in{1, 1, 1}, out{1, 1, 1}, k{1, 1, 1};
  std::array<int64_t, 3> stride{1, 1, 1}, dil{1, 1, 1}, pad_b{0, 0, 0}, pad_e{0, 0, 0};
  Shape out_shape;

  int64_t in_size() const { return in[0] * in[1] * in[2]; }
  int64_t out_size() const { return out[0] * out[1] * out[2]; }
};

Result<PoolGeometry> PoolGeometryFor(const PoolAttrs& a, const Shape& x);

}  // namespace calib8::ops
