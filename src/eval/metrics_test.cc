// eval/metrics_test.cc — FP32-vs-INT8 metrics checked against values worked out by hand, the edge
// cases the header defines (identical, all-zero reference, no scale, NaN), and streaming: batches
// added one by one or merged from shards give the same metrics as one Add of everything.
#include "eval/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace calib8::eval {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(TensorComparison, HandComputedValues) {
  // ref (3, 4), test (4, 3): sum ref^2 = 25, sum test^2 = 25, sum ref*test = 24, e = (-1, 1).
  // SQNR = 10 log10(25 / 2) = 10.9691 dB; cosine = 24 / 25 = 0.96; max |e| = 1; relative 1/4.
  // Scale 3/127: the clip point is 3, only |4| > 3 -> saturation 1/2.
  TensorComparison c(3.0 / 127);
  std::vector<float> ref = {3, 4}, test = {4, 3};
  ASSERT_TRUE(c.Add(ref, test).ok());
  TensorMetrics m = c.Finish();
  EXPECT_EQ(m.count, 2);
  EXPECT_NEAR(m.sqnr_db, 10.969100130080564, 1e-12);
  EXPECT_DOUBLE_EQ(m.cosine, 0.96);
  EXPECT_DOUBLE_EQ(m.max_abs_error, 1.0);
  EXPECT_DOUBLE_EQ(m.relative_error, 0.25);
  EXPECT_DOUBLE_EQ(m.saturation_rate, 0.5);
  EXPECT_DOUBLE_EQ(m.ref_absmax, 4.0);
}

TEST(TensorComparison, TwentyDecibels) {
  // 10 vs 9: signal 100, noise 1 -> 20 dB exactly; negative values count by magnitude.
  TensorComparison c;
  std::vector<float> ref = {10, -10}, test = {9, -9};
  ASSERT_TRUE(c.Add(ref, test).ok());
  EXPECT_NEAR(c.Finish().sqnr_db, 20.0, 1e-12);
  EXPECT_DOUBLE_EQ(c.Finish().cosine, 1.0);
  EXPECT_TRUE(std::isnan(c.Finish().saturation_rate));  // no scale given
}

TEST(TensorComparison, IdenticalIsInfinite) {
  TensorComparison c(1.0 / 127);
  std::vector<float> x = {0.5f, -1.0f, 2.0f};
  ASSERT_TRUE(c.Add(x, x).ok());
  TensorMetrics m = c.Finish();
  EXPECT_EQ(m.sqnr_db, kInf);
  EXPECT_DOUBLE_EQ(m.cosine, 1.0);
  EXPECT_EQ(m.max_abs_error, 0.0);
  EXPECT_EQ(m.relative_error, 0.0);
  EXPECT_DOUBLE_EQ(m.saturation_rate, 1.0 / 3);  // |2| > 127 * (1/127) = 1
}

TEST(TensorComparison, AllZeroReference) {
  std::vector<float> zero = {0, 0}, other = {0, 0.5f};
  TensorComparison same;
  ASSERT_TRUE(same.Add(zero, zero).ok());
  EXPECT_EQ(same.Finish().sqnr_db, kInf);
  EXPECT_EQ(same.Finish().cosine, 1.0);
  EXPECT_EQ(same.Finish().relative_error, 0.0);
  TensorComparison differ;
  ASSERT_TRUE(differ.Add(zero, other).ok());
  EXPECT_EQ(differ.Finish().sqnr_db, -kInf);
  EXPECT_EQ(differ.Finish().cosine, 0.0);
  EXPECT_EQ(differ.Finish().relative_error, kInf);
  EXPECT_EQ(differ.Finish().max_abs_error, 0.5);
}

TEST(TensorComparison, ZeroScaleClipsEveryNonZero) {
  TensorComparison c(0.0);
  std::vector<float> ref = {0, 1, -2, 0}, test = {0, 0, 0, 0};
  ASSERT_TRUE(c.Add(ref, test).ok());
  EXPECT_DOUBLE_EQ(c.Finish().saturation_rate, 0.5);
}

TEST(TensorComparison, NonFiniteIsCountedAndLeftOut) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  TensorComparison c;
  std::vector<float> ref = {10, nan, 1}, test = {9, 1, inf};
  ASSERT_TRUE(c.Add(ref, test).ok());
  TensorMetrics m = c.Finish();
  EXPECT_EQ(m.count, 1);
  EXPECT_EQ(m.nonfinite, 2);
  EXPECT_NEAR(m.sqnr_db, 20.0, 1e-12);
}

TEST(TensorComparison, BadInput) {
  TensorComparison c;
  std::vector<float> a = {1, 2}, b = {1};
  EXPECT_FALSE(c.Add(a, b).ok());
  TensorComparison negative(-1.0);
  EXPECT_FALSE(negative.Add(a, a).ok());
  TensorComparison scaled(0.5);
  EXPECT_FALSE(c.Merge(scaled).ok());
  EXPECT_FALSE(scaled.Merge(TensorComparison(0.25)).ok());
}

TEST(TensorComparison, StreamingAndMergeMatchOneAdd) {
  std::vector<float> ref, test;
  for (int i = 0; i < 100; ++i) {
    ref.push_back(std::sin(0.37f * i) * 5);
    test.push_back(std::round(ref.back() * 4) / 4);  // quantised to steps of 0.25
  }
  const double scale = 3.0 / 127;
  TensorComparison whole(scale), batches(scale), shard_a(scale), shard_b(scale);
  ASSERT_TRUE(whole.Add(ref, test).ok());
  std::span<const float> r(ref), t(test);
  for (size_t i = 0; i < 100; i += 30) {
    size_t n = std::min<size_t>(30, 100 - i);
    ASSERT_TRUE(batches.Add(r.subspan(i, n), t.subspan(i, n)).ok());
  }
  ASSERT_TRUE(shard_a.Add(r.first(40), t.first(40)).ok());
  ASSERT_TRUE(shard_b.Add(r.subspan(40), t.subspan(40)).ok());
  ASSERT_TRUE(shard_a.Merge(shard_b).ok());
  for (const TensorComparison* c : {&batches, &shard_a}) {
    TensorMetrics w = whole.Finish(), m = c->Finish();
    EXPECT_EQ(m.count, 100);
    EXPECT_NEAR(m.sqnr_db, w.sqnr_db, 1e-9);
    EXPECT_NEAR(m.cosine, w.cosine, 1e-12);
    EXPECT_EQ(m.max_abs_error, w.max_abs_error);
    EXPECT_EQ(m.relative_error, w.relative_error);
    EXPECT_EQ(m.saturation_rate, w.saturation_rate);
  }
  EXPECT_LE(whole.Finish().max_abs_error, 0.125 + 1e-6);  // rounding to 0.25 moves at most half
  EXPECT_GT(whole.Finish().saturation_rate, 0.0);
}

TEST(ArgMax, FirstMaximumWinsAndNaNNever) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(ArgMax(std::vector<float>{0.1f, 0.7f, 0.2f}), 1);
  EXPECT_EQ(ArgMax(std::vector<float>{0.5f, 0.5f, 0.0f}), 0);
  EXPECT_EQ(ArgMax(std::vector<float>{nan, -1.0f, -2.0f}), 1);
  EXPECT_EQ(ArgMax(std::vector<float>{nan, nan}), 0);
  EXPECT_EQ(ArgMax(std::vector<float>{}), 0);
}

TEST(ClassifierComparison, AgreementAndAccuracy) {
  // argmax ref: 1, 0 (tie -> first), 2; test: 1, 1, 2 -> agreement 2/3.
  // labels 1, 0, 0: ref right on samples 0 and 1 (2/3), test right on sample 0 only (1/3).
  std::vector<float> ref = {0.1f, 0.7f, 0.2f, 0.5f, 0.5f, 0.0f, 0, 0, 1};
  std::vector<float> test = {0.2f, 0.6f, 0.2f, 0.4f, 0.6f, 0.0f, 0, 0, 1};
  std::vector<int64_t> labels = {1, 0, 0};
  ClassifierComparison c;
  ASSERT_TRUE(c.Add(ref, test, 3, 3, labels).ok());
  ClassifierMetrics m = c.Finish();
  EXPECT_EQ(m.samples, 3);
  EXPECT_EQ(m.agree, 2);
  EXPECT_DOUBLE_EQ(m.top1_agreement, 2.0 / 3);
  EXPECT_EQ(m.labelled, 3);
  EXPECT_DOUBLE_EQ(m.ref_accuracy, 2.0 / 3);
  EXPECT_DOUBLE_EQ(m.test_accuracy, 1.0 / 3);

  // The same three samples one at a time in two comparisons, merged.
  ClassifierComparison a, b;
  std::span<const float> r(ref), t(test);
  std::span<const int64_t> l(labels);
  ASSERT_TRUE(a.Add(r.first(3), t.first(3), 1, 3, l.first(1)).ok());
  ASSERT_TRUE(b.Add(r.subspan(3, 3), t.subspan(3, 3), 1, 3, l.subspan(1, 1)).ok());
  ASSERT_TRUE(b.Add(r.subspan(6), t.subspan(6), 1, 3, l.subspan(2)).ok());
  ASSERT_TRUE(a.Merge(b).ok());
  ClassifierMetrics s = a.Finish();
  EXPECT_EQ(s.agree, 2);
  EXPECT_EQ(s.ref_correct, 2);
  EXPECT_EQ(s.test_correct, 1);
}

TEST(ClassifierComparison, NoLabelsAndBadInput) {
  ClassifierComparison c;
  EXPECT_EQ(c.Finish().top1_agreement, 1.0);  // nothing seen
  std::vector<float> x = {1, 2, 3, 4};
  ASSERT_TRUE(c.Add(x, x, 2, 2).ok());
  EXPECT_EQ(c.Finish().top1_agreement, 1.0);
  EXPECT_TRUE(std::isnan(c.Finish().test_accuracy));
  EXPECT_FALSE(c.Add(x, x, 1, 4).ok());                              // class count changed
  EXPECT_FALSE(c.Add(x, x, 3, 2).ok());                              // too few values
  EXPECT_FALSE(c.Add(x, x, 2, 2, std::vector<int64_t>{0}).ok());     // one label for two
  EXPECT_FALSE(c.Add(x, x, 2, 2, std::vector<int64_t>{0, 2}).ok());  // label out of range
  EXPECT_EQ(c.Finish().samples, 2);                                  // failed adds add nothing
}

}  // namespace
}  // namespace calib8::eval
