// calib/calibrate_test.cc — what Finish adds to every calibration: the asymmetric range per tensor
// (into the sidecar), asym_percentile in the method parameters, the warning for statistics
// without the sign split, and the clipping warning naming the tensors.
#include "calib/calibrate.h"

#include <gtest/gtest.h>

namespace calib8::calib {
namespace {

ir::Graph OneInputGraph(const std::vector<std::string>& names) {
  ir::Graph g;
  for (const auto& n : names) {
    ir::ValueInfo vi;
    vi.name = n;
    g.inputs.push_back(vi);
  }
  return g;
}

// A tensor on [-1, 10]: a dense bulk in the first 100 bins, a sparse positive tail to 10, a few
// negatives.
stats::TensorRecord Record(bool with_sign = true) {
  stats::TensorRecord r;
  r.range.min = -1;
  r.range.max = 10;
  r.range.absmax = 10;
  r.hist = stats::AbsHistogram(10.0, 2048, with_sign);
  for (int b = 0; b < 100; ++b) r.hist.mutable_counts()[b] = 1000;
  for (int b = 100; b < 2048; ++b) r.hist.mutable_counts()[b] = 1;
  if (with_sign)
    for (int b = 0; b < 100; ++b) r.hist.mutable_neg_counts()[b] = 10;
  r.range.count = static_cast<int64_t>(r.hist.total());
  return r;
}

TEST(CalibrateFromStats, AsymmetricRangeAndClippingWarning) {
  stats::StatsState st;
  st.num_bins = 2048;
  st.samples = 1;
  st.tensors["a"] = Record();
  st.tensors["b"] = Record();
  CalibrateOptions o;
  o.method = "percentile";
  o.params["percentile"] = "50";  // clips far below p99.9 on purpose
  auto r = CalibrateFromStats(OneInputGraph({"a", "b"}), st, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->tensors.size(), 2u);
  EXPECT_EQ(r->clipped_tensors, (std::vector<std::string>{"a", "b"}));
  EXPECT_NE(r->clip_warning.find("'a'"), std::string::npos) << r->clip_warning;
  EXPECT_NE(r->clip_warning.find("'b'"), std::string::npos) << r->clip_warning;
  EXPECT_EQ(r->method.parameters.at("asym_percentile"), "99.99");
  const auto& t = r->tensors[0];
  ASSERT_TRUE(t.has_range);
  auto want = calib::ChooseAsymmetricRange({}, st.tensors["a"].range, st.tensors["a"].hist);
  ASSERT_TRUE(want.ok());
  EXPECT_EQ(t.lo, want->lo);
  EXPECT_EQ(t.hi, want->hi);
  EXPECT_LT(t.lo, 0);
  EXPECT_GT(t.hi, 5);
  table::Sidecar sc = MakeSidecar(*r, OneInputGraph({"a", "b"}), "m.onnx", "t.cache", "bytes");
  ASSERT_TRUE(sc.tensors[0].has_range);
  EXPECT_EQ(sc.tensors[0].hi, static_cast<float>(want->hi));
  EXPECT_EQ(sc.tensors[0].lo, static_cast<float>(want->lo));

  // The default percentile keeps the tail: no warning. A changed asym percentile is recorded.
  o.params.clear();
  o.method = "percentile";
  o.params["asym_percentile"] = "99.9";
  r = CalibrateFromStats(OneInputGraph({"a", "b"}), st, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->clipped_tensors.empty());
  EXPECT_TRUE(r->clip_warning.empty());
  EXPECT_EQ(r->method.parameters.at("asym_percentile"), "99.9");
}

TEST(CalibrateFromStats, StatisticsWithoutTheSignSplitGiveNoRangeAndSaySo) {
  stats::StatsState st;
  st.num_bins = 2048;
  st.tensors["a"] = Record(/*with_sign=*/false);
  CalibrateOptions o;
  o.method = "entropy2";
  auto r = CalibrateFromStats(OneInputGraph({"a"}), st, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->tensors[0].has_range);
  bool said = false;
  for (const auto& w : r->warnings) said |= w.find("re-collect") != std::string::npos;
  EXPECT_TRUE(said);
}

}  // namespace
}  // namespace calib8::calib
