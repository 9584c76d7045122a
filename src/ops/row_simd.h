// ops/row_simd.h — row max/min/sum and a float exp in GCC/Clang vector extensions, shared by
// norm_ops.cc and reduce_ops.cc. Without -ffast-math GCC leaves float max reductions and the
// selects around exp's float->int conversion scalar, even under `omp simd`; vector extensions
// compile to SIMD on every target and keep IEEE semantics (fixed lane order, no fast-math).
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>

namespace calib8::ops::simd {

// 16-byte vector of T (4 floats, 2 doubles, ...): one SSE/NEON register, no ABI surprises.
template <typename T>
struct Vec {
  typedef T type __attribute__((vector_size(16)));
  static constexpr int kLanes = 16 / sizeof(T);
};

template <typename T>
inline typename Vec<T>::type Load(const T* p) {
  typename Vec<T>::type v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

template <typename T>
inline void Store(T* p, typename Vec<T>::type v) {
  std::memcpy(p, &v, sizeof(v));
}

template <typename T>
inline typename Vec<T>::type Splat(T x) {
  typename Vec<T>::type v;
  for (int j = 0; j < Vec<T>::kLanes; ++j) v[j] = x;
  return v;
}

enum class Fold { kMax, kMin, kSum };

// Folds one contiguous row: max, min (NaN-ignoring like std::max) or sum, starting from `init`.
template <Fold kFold, typename T>
T FoldRow(const T* x, int64_t n, T init) {
  using V = typename Vec<T>::type;
  constexpr int kL = Vec<T>::kLanes;
  auto f = [](auto a, auto b) {
    if constexpr (kFold == Fold::kMax) {
      return a < b ? b : a;
    } else if constexpr (kFold == Fold::kMin) {
      return b < a ? b : a;
    } else {
      return a + b;
    }
  };
  int64_t i = 0;
  T r = init;
  if (n >= 2 * kL) {
    V acc0 = Splat<T>(kFold == Fold::kSum ? T(0) : init), acc1 = acc0;
    for (; i + 2 * kL <= n; i += 2 * kL) {
      acc0 = f(acc0, Load(x + i));
      acc1 = f(acc1, Load(x + i + kL));
    }
    acc0 = f(acc0, acc1);
    for (int j = 0; j < kL; ++j) r = f(r, T(acc0[j]));
  }
  for (; i < n; ++i) r = f(r, x[i]);
  return r;
}

template <typename T>
T RowMax(const T* x, int64_t n) {
  constexpr T kLow = std::numeric_limits<T>::has_infinity ? -std::numeric_limits<T>::infinity()
                                                          : std::numeric_limits<T>::lowest();
  return FoldRow<Fold::kMax>(x, n, kLow);
}

template <typename T>
T RowMin(const T* x, int64_t n) {
  constexpr T kHigh = std::numeric_limits<T>::has_infinity ? std::numeric_limits<T>::infinity()
                                                           : std::numeric_limits<T>::max();
  return FoldRow<Fold::kMin>(x, n, kHigh);
}

template <typename T>
T RowSum(const T* x, int64_t n) {
  return FoldRow<Fold::kSum>(x, n, T(0));
}

// Sum of (x[i] - c)^2.
template <typename T>
T RowSumSqDev(const T* x, int64_t n, T c) {
  using V = typename Vec<T>::type;
  constexpr int kL = Vec<T>::kLanes;
  int64_t i = 0;
  T r = 0;
  if (n >= kL) {
    V acc = Splat<T>(0), vc = Splat<T>(c);
    for (; i + kL <= n; i += kL) {
      V d = Load(x + i) - vc;
      acc += d * d;
    }
    for (int j = 0; j < kL; ++j) r += acc[j];
  }
  for (; i < n; ++i) r += (x[i] - c) * (x[i] - c);
  return r;
}

using F4 = Vec<float>::type;
typedef int32_t I4 __attribute__((vector_size(16)));

// e^x on 4 floats: Cody-Waite reduction x = n*ln2 + r, a degree-6 polynomial for e^r (Cephes
// coefficients, about 1 ulp), 2^n from exponent bits. x < -87 gives 0 (also -inf), NaN stays
// NaN; x is clamped at 88 (e^88 instead of overflow), which softmax (x <= 0) never reaches.
inline F4 Exp4(F4 x) {
  const F4 lo = Splat(-87.0f), hi = Splat(88.0f);
  F4 xc = x < lo ? lo : x;
  xc = xc > hi ? hi : xc;
  const F4 round = Splat(12582912.0f);  // 1.5 * 2^23: adding and subtracting rounds to integer
  F4 n = (xc * 1.44269504088896341f + round) - round;
  F4 r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  F4 p = Splat(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  F4 e = p * (r * r) + r + 1.0f;
  I4 bits = (__builtin_convertvector(n, I4) + 127) << 23;
  bits &= (x >= lo);  // 0 where x < -87 (2^n = +0)
  F4 two_n;
  std::memcpy(&two_n, &bits, sizeof(two_n));
  return (x != x) ? x : e * two_n;  // NaN in, NaN out
}

// y[i] = e^(x[i] - shift); returns the sum of y.
inline float ExpShiftRow(const float* x, float* y, int64_t n, float shift) {
  constexpr int kL = Vec<float>::kLanes;
  const F4 s = Splat(shift);
  F4 acc = Splat(0.0f);
  int64_t i = 0;
  for (; i + kL <= n; i += kL) {
    F4 e = Exp4(Load(x + i) - s);
    Store(y + i, e);
    acc += e;
  }
  if (i < n) {  // tail: pad with -inf, whose exp is 0
    float buf[kL];
    for (int j = 0; j < kL; ++j)
      buf[j] = i + j < n ? x[i + j] : -std::numeric_limits<float>::infinity();
    F4 e = Exp4(Load(buf) - s);
    std::memcpy(y + i, &e, static_cast<size_t>(n - i) * sizeof(float));
    acc += e;
  }
  float r = 0;
  for (int j = 0; j < kL; ++j) r += acc[j];
  return r;
}

}  // namespace calib8::ops::simd
