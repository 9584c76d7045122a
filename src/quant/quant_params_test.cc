// quant/quant_params_test.cc — the numeric contract checked by hand (DESIGN §4, STYLE R10):
// ties, both saturation ends, zero scale. Every expected value below is mental arithmetic.
#include "quant/quant_params.h"

#include <gtest/gtest.h>

namespace calib8::quant {
namespace {

TEST(QuantParams, QuantizeS8RoundsHalfToEvenAndSaturates) {
  const float s = 0.5f;  // amax 63.5
  // x/s:        1.0->2  0.25->0.5->0  0.75->1.5->2  1.25->2.5->2  -0.25->-0.5->-0  -0.75->-1.5->-2
  EXPECT_EQ(QuantizeS8(1.0f, s), 2);
  EXPECT_EQ(QuantizeS8(0.25f, s), 0);
  EXPECT_EQ(QuantizeS8(0.75f, s), 2);
  EXPECT_EQ(QuantizeS8(1.25f, s), 2);
  EXPECT_EQ(QuantizeS8(-0.25f, s), 0);
  EXPECT_EQ(QuantizeS8(-0.75f, s), -2);
  EXPECT_EQ(QuantizeS8(1000.0f, s), 127);    // 2000 -> 127
  EXPECT_EQ(QuantizeS8(-1000.0f, s), -128);  // -2000 -> -128
  EXPECT_EQ(QuantizeS8(63.5f, s), 127);      // exactly amax
}

TEST(QuantParams, ZeroScaleMapsToZeroWithoutDividing) {
  EXPECT_EQ(QuantizeS8(3.0f, 0.0f), 0);
  EXPECT_EQ(QuantizeU8(3.0f, 0.0f), 0);
  EXPECT_EQ(QuantizeBias(1.0f, 0.0f, 0.1f), 0);
}

TEST(QuantParams, UnsignedUsesAmaxOver255) {
  EXPECT_FLOAT_EQ(ScaleFromAmax(2.55f, true), 0.01f);
  EXPECT_EQ(QuantizeU8(0.005f, 0.01f), 0);  // 0.5 -> 0 (even)
  EXPECT_EQ(QuantizeU8(0.015f, 0.01f), 2);  // 1.5 -> 2
  EXPECT_EQ(QuantizeU8(-1.0f, 0.01f), 0);   // saturates low
  EXPECT_EQ(QuantizeU8(9.0f, 0.01f), 255);  // saturates high
}

TEST(QuantParams, ScaleFromAmaxMatchesTableDecode) {
  // 3c010a14 decodes to 0.0078759..., i.e. amax 1.0002 (docs/table-format.md worked example).
  EXPECT_NEAR(AmaxFromScale(0.0078759f), 1.0002f, 1e-4f);
  EXPECT_FLOAT_EQ(ScaleFromAmax(127.0f), 1.0f);
}

TEST(QuantParams, BiasAndRequantize) {
  EXPECT_EQ(QuantizeBias(0.3f, 0.1f, 0.5f), 6);    // 0.3 / 0.05 = 6
  EXPECT_EQ(QuantizeBias(0.125f, 0.5f, 0.5f), 0);  // 0.5 -> 0 (even)
  EXPECT_EQ(RequantizeS8(10, 0.25f), 2);           // 2.5 -> 2
  EXPECT_EQ(RequantizeS8(14, 0.25f), 4);           // 3.5 -> 4
  EXPECT_EQ(RequantizeS8(-10, 0.25f), -2);         // -2.5 -> -2
  EXPECT_EQ(RequantizeS8(100000, 0.25f), 127);
  EXPECT_EQ(RequantizeS8(-100000, 0.25f), -128);
  EXPECT_EQ(RequantizeU8(-5, 1.0f), 0);
}

}  // namespace
}  // namespace calib8::quant
