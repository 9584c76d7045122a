// core/transpose.h — the one blocked transpose behind every layout change of a tensor
// (row-major <-> channels-last in core/tensor.cc, NCHW <-> NHWC 8-bit activations in int8/).
#pragma once

#include <cstddef>
#include <cstdint>

namespace calib8 {

// dst[b][j][i] = src[b][i][j] for b < n, i < r, j < k: n independent [r, k] -> [k, r] transposes
// of elements of `esize` bytes (1, 2, 4 or 8). Parallel (OpenMP) over images and column tiles.
void TransposeInner(const void* src, void* dst, int64_t n, int64_t r, int64_t k, size_t esize);

}  // namespace calib8
