// quant/quant_params.h — THE numeric contract of calib8's INT8 path (DESIGN §4). Everything that
// quantizes, dequantizes or requantizes — the reference INT8 kernels, the oneDNN lowering, the
// Q/DQ exporter and the table codecs' amax<->scale conversion — follows the functions here, and
// the reference kernels (src/int8/reference) are their executable form. docs/quantization.md
// derives them.
//
// Activations: symmetric, per tensor, signed:   scale = amax / 127,  zero point 0
//   q = clamp(round_half_to_even(x / scale), -128, 127)      (ONNX QuantizeLinear, int8)
//   x' = q * scale                                           (ONNX DequantizeLinear)
// Optional unsigned activations (beyond TensorRT; tensors never negative): scale = amax / 255,
//   q = clamp(round_half_to_even(x / scale), 0, 255)
// Weights: symmetric per output channel: scale_c = max|W_c| / 127, q as above with -127..127
//   in practice (|W_c| <= max|W_c|), clamped to -128..127 by the same function.
// Bias: int32, scale_in * scale_w,c; q_b = round_half_to_even(b / (scale_in * scale_w,c)),
//   saturated to int32.
// Requantization of an int32 accumulator to int8 with a float multiplier
//   m = scale_in * scale_w,c / scale_out:  q = clamp(round_half_to_even(acc * m), -128, 127)
//   computed in float32 as oneDNN does (acc converted to float, multiplied, rounded): the oneDNN
//   kernels agree with the reference bit-exactly or within ±1 LSB where their float rounding of
//   acc * m differs (documented per kernel in tests).
// amax = 0 (a tensor that is zero everywhere): scale 0; quantize maps everything to 0 and
//   nothing divides by zero.
// Asymmetric unsigned activations (calib8's default when the sidecar holds a range [lo, hi]):
//   lo' = min(lo, 0), hi' = max(hi, 0)  (0 must be representable exactly: padding, ReLU, zeros)
//   scale = (hi' - lo') / 255,  zp = clamp(round_half_to_even(-lo' / scale), 0, 255)
//   q = clamp(round_half_to_even(x / scale) + zp, 0, 255)   (ONNX QuantizeLinear, uint8)
//   x' = (q - zp) * scale                                    (ONNX DequantizeLinear)
// A symmetric s8 tensor is the special case zp = 0 with the s8 bounds; a u8 tensor without a
// zero point (amax / 255) the case zp = 0 with the u8 bounds. QParams below carries all three.
// Rounding: round half to even everywhere (std::nearbyint under the default FE_TONEAREST mode).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

namespace calib8::quant {

inline constexpr int kInt8Min = -128;
inline constexpr int kInt8Max = 127;
inline constexpr int kUint8Max = 255;
inline constexpr float kSignedLevels = 127.0f;    // amax maps to +127
inline constexpr float kUnsignedLevels = 255.0f;  // amax maps to 255

// Round half to even (ties to the even neighbour), as ONNX QuantizeLinear and oneDNN.
inline float RoundHalfEven(float x) { return std::nearbyint(x); }
inline double RoundHalfEven(double x) { return std::nearbyint(x); }

inline float ScaleFromAmax(float amax, bool is_unsigned = false) {
  return amax / (is_unsigned ? kUnsignedLevels : kSignedLevels);
}
inline float AmaxFromScale(float scale, bool is_unsigned = false) {
  return scale * (is_unsigned ? kUnsignedLevels : kSignedLevels);
}

inline int8_t QuantizeS8(float x, float scale) {
  if (!(scale > 0.0f)) return 0;  // amax 0 (or a NaN/negative scale rejected upstream)
  float q = RoundHalfEven(x / scale);
  if (q < kInt8Min) q = kInt8Min;
  if (q > kInt8Max) q = kInt8Max;
  return static_cast<int8_t>(q);
}

inline uint8_t QuantizeU8(float x, float scale) {
  if (!(scale > 0.0f)) return 0;
  float q = RoundHalfEven(x / scale);
  if (q < 0) q = 0;
  if (q > kUint8Max) q = kUint8Max;
  return static_cast<uint8_t>(q);
}

inline float Dequantize(int32_t q, float scale) { return static_cast<float>(q) * scale; }

// The 8-bit encoding of one activation tensor: scale, zero point and signedness.
struct QParams {
  float scale = 0.0f;
  int32_t zero_point = 0;  // 0 for s8; 0..255 for u8
  bool is_unsigned = false;
  int32_t qmin() const { return is_unsigned ? 0 : kInt8Min; }
  int32_t qmax() const { return is_unsigned ? kUint8Max : kInt8Max; }
  // The real values the codes cover: [(qmin - zp) * scale, (qmax - zp) * scale].
  float lo() const { return static_cast<float>(qmin() - zero_point) * scale; }
  float hi() const { return static_cast<float>(qmax() - zero_point) * scale; }
  bool operator==(const QParams&) const = default;
};

inline QParams SymmetricParams(float amax, bool is_unsigned = false) {
  return {ScaleFromAmax(amax, is_unsigned), 0, is_unsigned};
}

// u8 with a zero point for the range [lo, hi] (see the header comment). A range that is 0
// everywhere gives scale 0 (quantizes to zp = 0, nothing divides by zero).
inline QParams AsymmetricParams(float lo, float hi) {
  if (lo > 0.0f) lo = 0.0f;
  if (hi < 0.0f) hi = 0.0f;
  float scale = static_cast<float>((static_cast<double>(hi) - lo) / kUnsignedLevels);
  if (!(scale > 0.0f)) return {0.0f, 0, true};
  float zp = RoundHalfEven(-lo / scale);
  if (zp < 0) zp = 0;
  if (zp > kUint8Max) zp = kUint8Max;
  return {scale, static_cast<int32_t>(zp), true};
}

// q = clamp(round(x / scale) + zp, qmin, qmax), as ONNX QuantizeLinear.
inline int32_t QuantizeQ(float x, const QParams& p) {
  if (!(p.scale > 0.0f)) return p.zero_point;
  float q = RoundHalfEven(x / p.scale) + static_cast<float>(p.zero_point);
  if (q < static_cast<float>(p.qmin())) q = static_cast<float>(p.qmin());
  if (q > static_cast<float>(p.qmax())) q = static_cast<float>(p.qmax());
  return static_cast<int32_t>(q);
}
inline float DequantizeQ(int32_t q, const QParams& p) {
  return static_cast<float>(q - p.zero_point) * p.scale;
}

// Fake quantization (quantize then dequantize) — what training code uses (docs/table-format.md).
inline float FakeQuantS8(float x, float scale) { return Dequantize(QuantizeS8(x, scale), scale); }

inline int32_t QuantizeBias(float bias, float scale_in, float scale_w) {
  double s = static_cast<double>(scale_in) * static_cast<double>(scale_w);
  if (!(s > 0.0)) return 0;
  double q = RoundHalfEven(static_cast<double>(bias) / s);
  if (q < std::numeric_limits<int32_t>::min()) q = std::numeric_limits<int32_t>::min();
  if (q > std::numeric_limits<int32_t>::max()) q = std::numeric_limits<int32_t>::max();
  return static_cast<int32_t>(q);
}

// int32 accumulator -> int8 with multiplier m = scale_in * scale_w / scale_out (float32 math).
inline int8_t RequantizeS8(int32_t acc, float multiplier) {
  float q = RoundHalfEven(static_cast<float>(acc) * multiplier);
  if (q < kInt8Min) q = kInt8Min;
  if (q > kInt8Max) q = kInt8Max;
  return static_cast<int8_t>(q);
}

inline uint8_t RequantizeU8(int32_t acc, float multiplier) {
  float q = RoundHalfEven(static_cast<float>(acc) * multiplier);
  if (q < 0) q = 0;
  if (q > kUint8Max) q = kUint8Max;
  return static_cast<uint8_t>(q);
}

// A float already in quantized units (the requantized value of a kernel's epilogue) rounded half
// to even and saturated — the last step of every 8-bit output.
inline int8_t SaturateS8(float v) {
  float q = RoundHalfEven(v);
  if (q < kInt8Min) q = kInt8Min;
  if (q > kInt8Max) q = kInt8Max;
  return static_cast<int8_t>(q);
}
inline uint8_t SaturateU8(float v) {
  float q = RoundHalfEven(v);
  if (q < 0) q = 0;
  if (q > kUint8Max) q = kUint8Max;
  return static_cast<uint8_t>(q);
}

// The float32 multiplier of a requantization, computed once in double and rounded once:
// m = scale_in * scale_w / scale_out (scale_out = 1 when the output stays float32).
inline float Multiplier(float scale_in, float scale_w, float scale_out = 1.0f) {
  return static_cast<float>(static_cast<double>(scale_in) * scale_w / scale_out);
}

}  // namespace calib8::quant
