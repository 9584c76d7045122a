// stats/collector_test.cc — the collector's promises: two-pass state independent of sample order
// and batching, shard merge equal to one run, NaN named with tensor and sample.
#include "stats/collector.h"

#include <gtest/gtest.h>

#include <algorithm>
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
  std::vector<std::vector<float>> s1(samples.begin(), samples.begin() + 13), s2(samples.begin() + 13, samples.end());
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

}  // namespace
}  // namespace calib8::stats

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
  auto bad = ParseStats("{\"format\": \"other\"}", "stats.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("stats.json"), std::string::npos);
}
}  // namespace
}  // namespace calib8::stats
