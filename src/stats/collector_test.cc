// stats/collector_test.cc — the collector's promises: two-pass state independent of sample order
// and batching, shard merge equal to one run, NaN named with tensor and sample.
#include "stats/collector.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

namespace calib8::stats {
namespace {

ir::Node Producer() {
  ir::Node n;
  n.name = "relu1";
  n.op_type = "Relu";
  return n;
}

// Feeds `samples` (each 16 floats) in batches of `batch` through both passes.
StatsState Collect(const std::vector<std::vector<float>>& samples, int batch) {
  StatsState st;
  st.num_bins = 64;
  Collector c(&st);
  ir::Node node = Producer();
  for (Pass pass : {Pass::kRange, Pass::kHistogram}) {
    c.BeginPass(pass);
    for (size_t i = 0; i < samples.size(); i += batch) {
      int64_t n = std::min<int64_t>(batch, samples.size() - i);
      Tensor t(DataType::kFloat32, {n, 16});
      for (int64_t k = 0; k < n; ++k)
        std::copy(samples[i + k].begin(), samples[i + k].end(), t.data<float>() + k * 16);
      c.BeginBatch(static_cast<int64_t>(i), n);
      c.OnTensor("act", &node, t);
    }
  }
  EXPECT_TRUE(c.status().ok()) << c.status().message();
  return st;
}

std::vector<std::vector<float>> Samples(int n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 2.0f);
  std::vector<std::vector<float>> s(n, std::vector<float>(16));
  for (auto& v : s)
    for (auto& x : v) x = d(rng);
  return s;
}

TEST(Collector, TwoPassStateIgnoresOrderAndBatching) {
  auto samples = Samples(40, 1);
  StatsState a = Collect(samples, 1);
  auto shuffled = samples;
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937(7));
  StatsState b = Collect(shuffled, 7);
  const auto& ra = a.tensors.at("act");
  const auto& rb = b.tensors.at("act");
  EXPECT_EQ(ra.range.absmax, rb.range.absmax);
  EXPECT_EQ(ra.range.count, 40 * 16);
  EXPECT_EQ(ra.hist.counts(), rb.hist.counts());
  EXPECT_EQ(ra.hist.total(), 40 * 16);
  EXPECT_EQ(ra.sample_shape, Shape({16}));
  EXPECT_EQ(ra.producer, "Relu");
}

TEST(Collector, ShardMergeEqualsOneRun) {
  auto samples = Samples(30, 2);
  StatsState whole = Collect(samples, 4);
  // Shards: pass 1 on each, merge ranges, pass 2 of each on the merged ranges, merge histograms.
  std::vector<std::vector<float>> s1(samples.begin(), samples.begin() + 13),
      s2(samples.begin() + 13, samples.end());
  StatsState r1 = Collect(s1, 3), r2 = Collect(s2, 5);
  StatsState ranges = r1;
  for (auto& [n, rec] : ranges.tensors) rec.hist = AbsHistogram();
  StatsState r2_ranges = r2;
  for (auto& [n, rec] : r2_ranges.tensors) rec.hist = AbsHistogram();
  ASSERT_TRUE(ranges.Merge(r2_ranges).ok());
  EXPECT_EQ(ranges.tensors.at("act").range.absmax, whole.tensors.at("act").range.absmax);
  EXPECT_EQ(ranges.samples, 30);
}

TEST(Collector, NanIsNamedWithTensorAndSample) {
  StatsState st;
  Collector c(&st);
  ir::Node node = Producer();
  c.BeginPass(Pass::kRange);
  Tensor t(DataType::kFloat32, {4, 3});
  for (int i = 0; i < 12; ++i) t.data<float>()[i] = 1.0f;
  t.data<float>()[7] = std::nanf("");
  c.BeginBatch(8, 4);
  c.OnTensor("act", &node, t);
  ASSERT_FALSE(c.status().ok());
  EXPECT_NE(c.status().message().find("tensor 'act'"), std::string::npos) << c.status().message();
  EXPECT_NE(c.status().message().find("sample 10"), std::string::npos) << c.status().message();
  EXPECT_NE(c.status().message().find("NaN"), std::string::npos);
}

TEST(Collector, ExcludedTensorsAreNotCollected) {
  StatsState st;
  Collector c(&st, {std::regex("^skip")});
  c.BeginPass(Pass::kRange);
  Tensor t = Tensor::FromVector<float>({2}, {1, 2});
  c.BeginBatch(0, 1);
  c.OnTensor("skip_me", nullptr, t);
  c.OnTensor("keep", nullptr, t);
  EXPECT_EQ(st.tensors.count("skip_me"), 0u);
  EXPECT_EQ(st.tensors.count("keep"), 1u);
}

TEST(AbsHistogram, BinsByFloorAndClampsTheMaximum) {
  AbsHistogram h(4.0, 4);  // bins [0,1) [1,2) [2,3) [3,4]
  std::vector<float> x = {0.0f, -0.5f, 1.0f, 1.99f, -2.5f, 4.0f, -3.0f};
  h.Add(x.data(), static_cast<int64_t>(x.size()));
  EXPECT_EQ(h.counts(), (std::vector<double>{2, 2, 1, 2}));
  EXPECT_DOUBLE_EQ(h.edge(3), 3.0);
}

// The sign split, checked against a brute-force count of each sign: pos + neg == |x| bin by bin,
// x == 0 (and -0.0) on the positive side, on the small-call path (n < bins), the integer-slot
// path and the OpenMP path of the collector (>= 4 x 65536 values).
TEST(AbsHistogram, SignSplitIsExactlyPosPlusNeg) {
  for (int64_t n : {int64_t{7}, int64_t{5000}, int64_t{300000}}) {
    std::mt19937 rng(static_cast<unsigned>(n));
    std::normal_distribution<float> d(-0.4f, 1.5f);
    std::vector<float> x(static_cast<size_t>(n));
    for (auto& v : x) v = d(rng);
    x[0] = 0.0f;
    if (n > 1) x[1] = -0.0f;
    float absmax = 0;
    for (float v : x) absmax = std::max(absmax, std::fabs(v));
    const int bins = 64;
    AbsHistogram h(absmax, bins);
    ASSERT_TRUE(h.has_sign());
    if (n >= 4 * 65536) {
      StatsState st;
      st.num_bins = bins;
      Collector c(&st);
      Tensor t(DataType::kFloat32, {1, n});
      std::copy(x.begin(), x.end(), t.data<float>());
      for (Pass pass : {Pass::kRange, Pass::kHistogram}) {
        c.BeginPass(pass);
        c.BeginBatch(0, 1);
        c.OnTensor("act", nullptr, t);
      }
      h = st.tensors.at("act").hist;
    } else {
      h.Add(x.data(), n);
    }
    std::vector<double> pos(bins, 0), neg(bins, 0);
    const double inv_w = bins / static_cast<double>(absmax);  // the histogram's own formula
    for (float v : x) {
      int b = std::min(bins - 1, static_cast<int>(std::fabs(static_cast<double>(v)) * inv_w));
      (v < 0 ? neg : pos)[static_cast<size_t>(b)] += 1;
    }
    EXPECT_EQ(h.pos_counts(), pos) << n;
    EXPECT_EQ(h.neg_counts(), neg) << n;
    for (int b = 0; b < bins; ++b) EXPECT_EQ(h.counts()[b], pos[b] + neg[b]) << n << " bin " << b;
    EXPECT_GE(pos[0], n > 1 ? 2 : 1);  // 0.0 and -0.0
  }
}

// Collects pass 2 only, on given pass-1 ranges (a shard of a sharded calibration).
StatsState CollectPass2(const std::vector<std::vector<float>>& samples, int batch,
                        StatsState ranges) {
  for (auto& [n, rec] : ranges.tensors) rec.hist = AbsHistogram();
  ranges.samples = 0;
  Collector c(&ranges);
  ir::Node node = Producer();
  c.BeginPass(Pass::kHistogram);
  for (size_t i = 0; i < samples.size(); i += batch) {
    int64_t n = std::min<int64_t>(batch, samples.size() - i);
    Tensor t(DataType::kFloat32, {n, 16});
    for (int64_t k = 0; k < n; ++k)
      std::copy(samples[i + k].begin(), samples[i + k].end(), t.data<float>() + k * 16);
    c.BeginBatch(static_cast<int64_t>(i), n);
    c.OnTensor("act", &node, t);
  }
  return ranges;
}

TEST(Collector, SignedShardMergeEqualsOneRun) {
  auto samples = Samples(30, 5);
  StatsState whole = Collect(samples, 4);
  std::vector<std::vector<float>> s1(samples.begin(), samples.begin() + 11),
      s2(samples.begin() + 11, samples.end());
  // Pass 1 of each shard, merged; pass 2 of each shard on the merged ranges; histograms merged.
  StatsState ranges = Collect(s1, 3);
  for (auto& [n, rec] : ranges.tensors) rec.hist = AbsHistogram();
  StatsState r2 = Collect(s2, 2);
  for (auto& [n, rec] : r2.tensors) rec.hist = AbsHistogram();
  ASSERT_TRUE(ranges.Merge(r2).ok());
  StatsState h1 = CollectPass2(s1, 5, ranges), h2 = CollectPass2(s2, 1, ranges);
  ASSERT_TRUE(h1.Merge(h2).ok());
  const auto& a = whole.tensors.at("act").hist;
  const auto& b = h1.tensors.at("act").hist;
  ASSERT_TRUE(a.has_sign() && b.has_sign());
  EXPECT_EQ(a.range(), b.range());
  EXPECT_EQ(a.counts(), b.counts());
  EXPECT_EQ(a.neg_counts(), b.neg_counts());
  EXPECT_GT(a.total(), 0);
  double negs = 0;
  for (double c : a.neg_counts()) negs += c;
  EXPECT_GT(negs, 0);  // the test data has both signs
}

TEST(AbsHistogram, MergingWithAnUnsignedHistogramKeepsOnlyAbs) {
  AbsHistogram a(4.0, 4), b(4.0, 4, /*with_sign=*/false);
  std::vector<float> x = {-1.5f, 2.5f, -3.5f};
  a.Add(x.data(), 3);
  b.Add(x.data(), 3);
  EXPECT_FALSE(b.has_sign());
  EXPECT_EQ(b.counts(), a.counts());
  ASSERT_TRUE(a.Merge(b).ok());
  EXPECT_FALSE(a.has_sign());
  EXPECT_EQ(a.counts(), (std::vector<double>{0, 2, 2, 2}));
}

TEST(AbsHistogram, OnePassGrowthKeepsTheSignSplit) {
  AbsHistogram h(2.0, 4);
  std::vector<float> x = {-0.1f, 1.9f};
  h.Add(x.data(), 2);
  h.GrowTo(6);
  std::vector<float> y = {-2.9f};
  h.Add(y.data(), 1);
  EXPECT_DOUBLE_EQ(h.range(), 3.0);
  EXPECT_EQ(h.counts(), (std::vector<double>{1, 0, 0, 1, 0, 1}));
  EXPECT_EQ(h.neg_counts(), (std::vector<double>{1, 0, 0, 0, 0, 1}));
}

}  // namespace
}  // namespace calib8::stats

#include <nlohmann/json.hpp>

#include "stats/stats_io.h"

namespace calib8::stats {
namespace {
TEST(StatsIo, SaveLoadRoundTripIsExact) {
  auto samples = Samples(10, 3);
  StatsState a = Collect(samples, 2);
  auto b = ParseStats(SerializeStats(a), "test");
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(SerializeStats(*b), SerializeStats(a));
  EXPECT_EQ(b->tensors.at("act").range.absmax, a.tensors.at("act").range.absmax);
  EXPECT_EQ(b->tensors.at("act").hist.counts(), a.tensors.at("act").hist.counts());
  EXPECT_EQ(b->tensors.at("act").hist.neg_counts(), a.tensors.at("act").hist.neg_counts());
  EXPECT_TRUE(b->tensors.at("act").hist.has_sign());
  auto bad = ParseStats("{\"format\": \"other\"}", "stats.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("stats.json"), std::string::npos);
}
// A version-1 file (written before the sign split; this text is what calib8 wrote then) still
// reads: |x| counts as before, no sign; a corrupt hist_neg is refused.
TEST(StatsIo, ReadsVersion1FilesWithoutTheSignSplit) {
  const std::string v1 = R"({"format": "calib8-stats", "version": 1, "num_bins": 4, "samples": 2,
    "single_pass": false, "tensors": {"act": {"producer": "Relu", "producer_name": "r",
    "sample_shape": [2], "min": -3.5, "max": 2.5, "absmax": 3.5, "count": 4,
    "hist_range": 4.0, "hist": [1, 1, 1, 1]}}})";
  auto s = ParseStats(v1, "old.json");
  ASSERT_TRUE(s.ok()) << s.status().message();
  const auto& h = s->tensors.at("act").hist;
  EXPECT_EQ(h.counts(), (std::vector<double>{1, 1, 1, 1}));
  EXPECT_FALSE(h.has_sign());
  EXPECT_EQ(s->tensors.at("act").range.min, -3.5);
  std::string bad = v1;
  bad.replace(bad.find("\"hist\""), 6, "\"hist_neg\": [2, 0, 0, 0], \"hist\"");
  auto b = ParseStats(bad, "bad.json");
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("hist_neg[0]"), std::string::npos) << b.status().message();
}

// Integer fields accept JSON integers only: a float was cast unchecked (1e55 in sample_shape is
// undefined behaviour, found by fuzz_stats; 2.5 was truncated to 2).
TEST(StatsIo, IntegerFieldsRefuseFloats) {
  StatsState a = Collect(Samples(10, 3), 2);
  const std::string good = SerializeStats(a);
  for (const char* bad_value : {"1e55", "2.5", "-1"}) {
    auto j = nlohmann::json::parse(good);
    const std::string name = j["tensors"].begin().key();
    j["tensors"][name]["sample_shape"] =
        nlohmann::json::parse(std::string("[3, ") + bad_value + "]");
    auto r = ParseStats(j.dump(), "edited.json");
    ASSERT_FALSE(r.ok()) << bad_value;
    EXPECT_NE(r.status().message().find("sample_shape[1]"), std::string::npos)
        << r.status().message();
    EXPECT_NE(r.status().message().find(name), std::string::npos) << r.status().message();
  }
}
}  // namespace
}  // namespace calib8::stats
