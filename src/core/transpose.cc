// core/transpose.cc — see transpose.h.
#include "core/transpose.h"

#include <algorithm>
#include <cassert>

namespace calib8 {

namespace {

// Tiles of 8 source columns by 64 source rows: each destination row gets 64 contiguous elements
// per tile, and the 8 destination rows in flight stay below the L1 associativity even when their
// stride is a multiple of 4 KiB (32 x 32 tiles measured 3-4x slower on [25600, 96] float32 for
// that reason).
template <typename T>
void TransposeInnerT(const T* src, T* dst, int64_t n, int64_t r, int64_t k) {
  constexpr int64_t kRows = 64, kCols = 8;
  const int64_t col_tiles = (k + kCols - 1) / kCols;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t b = 0; b < n; ++b)
    for (int64_t jt = 0; jt < col_tiles; ++jt) {
      const T* s = src + b * r * k;
      T* d = dst + b * r * k;
      const int64_t j0 = jt * kCols, j1 = std::min(k, j0 + kCols);
      for (int64_t i0 = 0; i0 < r; i0 += kRows) {
        const int64_t i1 = std::min(r, i0 + kRows);
        for (int64_t j = j0; j < j1; ++j) {
          T* dr = d + j * r;
          for (int64_t i = i0; i < i1; ++i) dr[i] = s[i * k + j];
        }
      }
    }
}

}  // namespace

void TransposeInner(const void* src, void* dst, int64_t n, int64_t r, int64_t k, size_t esize) {
  switch (esize) {
    case 1:
      return TransposeInnerT(static_cast<const uint8_t*>(src), static_cast<uint8_t*>(dst), n, r, k);
    case 2:
      return TransposeInnerT(static_cast<const uint16_t*>(src), static_cast<uint16_t*>(dst), n, r,
                             k);
    case 4:
      return TransposeInnerT(static_cast<const uint32_t*>(src), static_cast<uint32_t*>(dst), n, r,
                             k);
    default:
      assert(esize == 8);
      return TransposeInnerT(static_cast<const uint64_t*>(src), static_cast<uint64_t*>(dst), n, r,
                             k);
  }
}

}  // namespace calib8
