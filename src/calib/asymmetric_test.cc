// calib/asymmetric_test.cc — the asymmetric range [lo, hi] (ChooseAsymmetricRange) against a hand
// calculation, its edge cases, the refusal of statistics without the sign split, and the
// floor_percentile option of the KL/MSE methods. The independent numpy check of [lo, hi] on
// synthetic activations is tests/calib/reference_calibrators.py (--asym).
#include <gtest/gtest.h>

#include "calib/calibrator.h"

namespace calib8::calib {
namespace {

// 10 bins of width 1 on [0, 10]; 20000 values. Positive side (bins 0..9):
//   9000 500 300 100 50 20 10 5 3 2   (9990 values, max 9.7)
// negative side by bin of |x|:
//   9000 900 80 20 10 0 0 0 0 0      (10010 values, min -4.9)
struct Fixture {
  stats::AbsHistogram h{10.0, 10};
  stats::RunningStats running;
  Fixture() {
    const std::vector<double> pos = {9000, 500, 300, 100, 50, 20, 10, 5, 3, 2};
    const std::vector<double> neg = {9000, 900, 80, 20, 10, 0, 0, 0, 0, 0};
    for (int b = 0; b < 10; ++b) {
      h.mutable_counts()[b] = pos[b] + neg[b];
      h.mutable_neg_counts()[b] = neg[b];
    }
    running.min = -4.9;
    running.max = 9.7;
    running.absmax = 9.7;
    running.count = 20000;
  }
};

TEST(AsymmetricRange, HandCalculation) {
  Fixture f;
  // p = 99.9: each tail may clip 20000 * 0.1 / 100 = 20 values.
  // High tail from the top: 2, +3 = 5, +5 = 10, +10 = 20 (bins 9..6 clipped), +20 = 40 > 20:
  // bin 5 stays, hi = its right edge 6. Low tail: bins 9..5 empty, +10 = 10 (bin 4), +20 = 30 > 20:
  // bin 3 stays, lo = -4.
  auto r = ChooseAsymmetricRange({.percentile = 99.9}, f.running, f.h);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->hi, 6.0);
  EXPECT_EQ(r->lo, -4.0);
  EXPECT_EQ(r->clipped_high, 20);
  EXPECT_EQ(r->clipped_low, 10);
  // p = 99.99: 2 values per tail. High: 2 (bin 9, clipped), +3 = 5 > 2: bin 8 stays, hi = 9.
  // Low: empty bins 9..5 clipped, bin 4 (10 values) stays: lo = -5, clamped to min -4.9.
  r = ChooseAsymmetricRange({}, f.running, f.h);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->hi, 9.0);
  EXPECT_EQ(r->lo, -4.9);
  // p = 100: nothing clipped: [min, max].
  r = ChooseAsymmetricRange({.percentile = 100}, f.running, f.h);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->hi, 9.7);
  EXPECT_EQ(r->lo, -4.9);
  // p = 50: 10000 values per tail. High: every positive bin, 9990 <= 10000, may go: hi = 0.
  // Low: 10+20+80+900 = 1010, +9000 = 10010 > 10000: bin 0 stays, lo = -1.
  r = ChooseAsymmetricRange({.percentile = 50}, f.running, f.h);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->hi, 0.0);
  EXPECT_EQ(r->lo, -1.0);
}

TEST(AsymmetricRange, NonNegativeTensorHasLoZero) {
  stats::AbsHistogram h(4.0, 4);
  h.mutable_counts() = {10, 5, 0, 1};  // all positive (neg counts 0)
  stats::RunningStats running;
  running.min = 0;
  running.max = 3.5;
  running.absmax = 3.5;
  running.count = 16;
  auto r = ChooseAsymmetricRange({.percentile = 100}, running, h);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->lo, 0.0);
  EXPECT_EQ(r->hi, 3.5);
  r = ChooseAsymmetricRange({.percentile = 90}, running, h);  // 1.6 values: bin 3 (1) clipped
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->hi, 2.0);  // bin 2 empty and clipped too, bin 1 stays
  EXPECT_EQ(r->lo, 0.0);
}

TEST(AsymmetricRange, AllZeroAndRefusals) {
  stats::RunningStats zero;
  zero.min = zero.max = 0;
  zero.count = 8;
  auto r = ChooseAsymmetricRange({}, zero, stats::AbsHistogram());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->lo, 0.0);
  EXPECT_EQ(r->hi, 0.0);

  Fixture f;
  stats::AbsHistogram old(10.0, 10, /*with_sign=*/false);
  old.mutable_counts() = f.h.counts();
  auto u = ChooseAsymmetricRange({}, f.running, old);
  ASSERT_FALSE(u.ok());
  EXPECT_NE(u.status().message().find("re-collect"), std::string::npos) << u.status().message();
  EXPECT_FALSE(ChooseAsymmetricRange({.percentile = 0}, f.running, f.h).ok());
  EXPECT_FALSE(ChooseAsymmetricRange({.percentile = 100.5}, f.running, f.h).ok());
}

// A dense bulk in the first bins and a sparse tail: entropy2 keeps little of the tail; the floor
// lifts amax to the percentile, and is recorded only when on.
TEST(FloorPercentile, LiftsAmaxToThePercentileAndIsRecorded) {
  stats::AbsHistogram h(2048.0, 2048);
  for (int b = 0; b < 200; ++b) h.mutable_counts()[b] = 100000;
  for (int b = 200; b < 2048; b += 3) h.mutable_counts()[b] = 2;
  stats::RunningStats running;
  running.min = -2048;
  running.max = 2048;
  running.absmax = 2048;
  running.count = static_cast<int64_t>(h.total());
  auto plain = Calibrate(Entropy2Options{}, running, h);
  ASSERT_TRUE(plain.ok());
  const double p = PercentileSearch({.percentile = 99.999}, h.counts(), h.bin_width());
  ASSERT_LT(plain->amax, p);  // the case the floor is for (200 vs 1746 at the time of writing)
  Entropy2Options floored;
  floored.floor_percentile = 99.999;
  auto f = Calibrate(floored, running, h);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->amax, p);
  bool recorded = false;
  for (const auto& [k, v] : f->record.params) recorded |= k == "floor_percentile" && v == "99.999";
  EXPECT_TRUE(recorded);
  for (const auto& [k, v] : plain->record.params) EXPECT_NE(k, "floor_percentile");
  EXPECT_EQ(plain->record.variant, "pytorch-quantization");
  MseOptions mse;
  mse.floor_percentile = -1;
  EXPECT_FALSE(Calibrate(mse, running, h).ok());
}

}  // namespace
}  // namespace calib8::calib
