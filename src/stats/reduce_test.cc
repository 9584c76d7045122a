// stats/reduce_test.cc — the distributed reductions without MPI: N threads play N processes over
// an in-memory Comm. The combined statistics must equal one process's collection of all the
// samples exactly; the merge rules for shards (given ranges, data records) hold; a failure on one
// "rank" reaches every rank.
#include "stats/reduce.h"

#include <gtest/gtest.h>

#include <barrier>
#include <random>
#include <thread>

#include "stats/stats_io.h"

namespace calib8::stats {
namespace {

// N threads, one FakeComm each, sharing slots: a collective posts each rank's vector, waits for
// all, then every rank computes the result from all the slots (rank order: the same as MPI's
// result for exact integer sums and minima).
struct World {
  explicit World(int n) : size(n), sync(n), doubles(n), ints(n), statuses(n) {}
  int size;
  std::barrier<> sync;
  std::vector<std::vector<double>> doubles;
  std::vector<std::vector<int64_t>> ints;
  std::vector<Status> statuses;
};

class FakeComm : public Comm {
 public:
  FakeComm(World* w, int rank) : w_(w), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return w_->size; }
  Status Agree(const Status& local) override {
    w_->statuses[rank_] = local;
    w_->sync.arrive_and_wait();
    Status out;
    for (int r = 0; r < w_->size && out.ok(); ++r)
      if (!w_->statuses[r].ok())
        out = Status(w_->statuses[r].code(), "rank " + std::to_string(r) + " of " +
                                                 std::to_string(w_->size) + ": " +
                                                 w_->statuses[r].message());
    w_->sync.arrive_and_wait();
    return out;
  }
  Status AllReduceMin(std::vector<double>& v) override {
    return Collective(
        v, w_->doubles, [](double a, double b) { return std::min(a, b); }, true);
  }
  Status AllReduceSum(std::vector<int64_t>& v) override {
    return Collective(
        v, w_->ints, [](int64_t a, int64_t b) { return a + b; }, true);
  }
  Status ReduceSumToRoot(std::vector<double>& v) override {
    return Collective(
        v, w_->doubles, [](double a, double b) { return a + b; }, false);
  }

 private:
  template <typename T, typename Op>
  Status Collective(std::vector<T>& v, std::vector<std::vector<T>>& slots, Op op, bool all) {
    slots[rank_] = v;
    w_->sync.arrive_and_wait();
    if (all || rank_ == 0) {
      std::vector<T> acc = slots[0];
      for (int r = 1; r < w_->size; ++r) {
        EXPECT_EQ(slots[r].size(), acc.size());
        for (size_t i = 0; i < acc.size() && i < slots[r].size(); ++i)
          acc[i] = op(acc[i], slots[r][i]);
      }
      v = acc;
    }
    w_->sync.arrive_and_wait();
    return Status::Ok();
  }
  World* w_;
  int rank_;
};

// Two tensors of 8 floats per sample; "pos" is >= 0 (a ReLU output), "zero" all zero.
void Feed(Collector& c, const std::vector<std::vector<float>>& samples, size_t first, size_t end) {
  for (size_t i = first; i < end; ++i) {
    Tensor t = Tensor::FromVector<float>({1, 8}, samples[i]);
    std::vector<float> relu = samples[i];
    for (auto& x : relu) x = std::max(x, 0.0f);
    Tensor p = Tensor::FromVector<float>({1, 8}, relu);
    Tensor z = Tensor::FromVector<float>({1, 8}, std::vector<float>(8, 0.0f));
    c.BeginBatch(static_cast<int64_t>(i), 1);
    c.OnTensor("act", nullptr, t);
    c.OnTensor("pos", nullptr, p);
    c.OnTensor("zero", nullptr, z);
  }
}

// One process's two passes over samples [first, end), reduced over `comm` when given.
StatsState CollectPart(const std::vector<std::vector<float>>& samples, size_t first, size_t end,
                       Comm* comm, int64_t* bytes1 = nullptr, int64_t* bytes2 = nullptr) {
  StatsState st;
  st.num_bins = 128;
  Collector c(&st);
  c.BeginPass(Pass::kRange);
  Feed(c, samples, first, end);
  if (comm) {
    auto b = AllReduceRanges(*comm, st);
    EXPECT_TRUE(b.ok());
    if (bytes1 && b.ok()) *bytes1 = *b;
  }
  c.BeginPass(Pass::kHistogram);
  Feed(c, samples, first, end);
  if (comm) {
    auto b = ReduceHistograms(*comm, st);
    EXPECT_TRUE(b.ok());
    if (bytes2 && b.ok()) *bytes2 = *b;
  }
  return st;
}

std::vector<std::vector<float>> Samples(int n) {
  std::mt19937 rng(11);
  std::normal_distribution<float> d(0.0f, 3.0f);
  std::vector<std::vector<float>> s(n, std::vector<float>(8));
  for (auto& v : s)
    for (auto& x : v) x = d(rng);
  return s;
}

TEST(Reduce, RanksCombineToTheSingleProcessStateExactly) {
  auto samples = Samples(37);
  const std::string whole = SerializeStats(CollectPart(samples, 0, samples.size(), nullptr));
  for (int n : {1, 2, 3, 5}) {
    World w(n);
    std::vector<std::string> out(n);
    std::vector<int64_t> b1(n), b2(n);
    std::vector<std::thread> threads;
    for (int r = 0; r < n; ++r)
      threads.emplace_back([&, r] {
        FakeComm comm(&w, r);
        size_t first = samples.size() * r / n, end = samples.size() * (r + 1) / n;
        out[r] = SerializeStats(CollectPart(samples, first, end, &comm, &b1[r], &b2[r]));
      });
    for (auto& t : threads) t.join();
    EXPECT_EQ(out[0], whole) << n << " ranks";
    // Pass 1: 3 doubles + 2 counts per tensor and the sample count; pass 2: |x| and x<0 bins of
    // the two tensors that are not all zero.
    EXPECT_EQ(b1[0], (3 * 3 + 2 * 3 + 1) * 8);
    EXPECT_EQ(b2[0], 2 * 2 * 128 * 8);
  }
}

TEST(Reduce, DifferentTensorsOnTheRanksFailEverywhere) {
  World w(2);
  std::vector<Status> st(2);
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r)
    threads.emplace_back([&, r] {
      FakeComm comm(&w, r);
      StatsState s;
      s.tensors["a"];
      if (r == 1) s.tensors["b"];
      st[r] = AllReduceRanges(comm, s).status();
    });
  for (auto& t : threads) t.join();
  for (const auto& s : st) {
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message().find("the ranks disagree on the tensors"), std::string::npos)
        << s.message();
  }
}

TEST(Reduce, AgreeGivesEveryRankTheLowestFailure) {
  World w(3);
  std::vector<Status> st(3);
  std::vector<std::thread> threads;
  for (int r = 0; r < 3; ++r)
    threads.emplace_back([&, r] {
      FakeComm comm(&w, r);
      st[r] = comm.Agree(r == 0 ? Status::Ok() : InvalidArgument("bad file on ", r));
    });
  for (auto& t : threads) t.join();
  for (const auto& s : st) EXPECT_EQ(s.message(), "rank 1 of 3: bad file on 1");
}

// Round 2 of the shard path: histograms on the merged (given) ranges; their merge keeps the
// ranges once, and the data record follows the shards.
TEST(Reduce, GivenRangesMergeOnceAndShardsMustMatch) {
  auto samples = Samples(20);
  StatsState whole = CollectPart(samples, 0, 20, nullptr);
  auto part = [&](size_t first, size_t end, int shard) {
    StatsState st = whole;  // the merged ranges
    for (auto& [n, rec] : st.tensors) rec.hist = AbsHistogram();
    st.samples = static_cast<int64_t>(end - first);
    st.given_ranges = true;
    st.data.description = {{"samples", 20}};
    st.data.shard_count = 2;
    st.data.shards = {shard};
    if (shard == 0) st.data.fingerprint = "0123456789abcdef";
    Collector c(&st);
    c.BeginPass(Pass::kHistogram);
    Feed(c, samples, first, end);
    return st;
  };
  StatsState a = part(0, 9, 0), b = part(9, 20, 1);
  StatsState merged = b;
  ASSERT_TRUE(merged.Merge(a).ok());
  EXPECT_EQ(merged.samples, 20);
  EXPECT_TRUE(merged.data.complete());
  EXPECT_EQ(merged.data.shards, (std::vector<int>{0, 1}));
  EXPECT_EQ(merged.data.fingerprint, "0123456789abcdef");
  for (const auto& [name, rec] : whole.tensors) {
    EXPECT_EQ(merged.tensors.at(name).range.count, rec.range.count) << name;
    EXPECT_EQ(merged.tensors.at(name).hist.counts(), rec.hist.counts()) << name;
  }
  // The record survives a save/load round trip.
  auto back = ParseStats(SerializeStats(merged), "test");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(SerializeStats(*back), SerializeStats(merged));

  StatsState twice = a;
  Status s = twice.Merge(a);
  EXPECT_NE(s.message().find("shard 0 of 2 is merged twice"), std::string::npos) << s.message();
  StatsState other = b;
  other.data.description = {{"samples", 21}};
  s = StatsState(a).Merge(other);
  EXPECT_NE(s.message().find("different data"), std::string::npos) << s.message();
  StatsState own = CollectPart(samples, 0, 9, nullptr);
  s = StatsState(a).Merge(own);
  EXPECT_NE(s.message().find("given ranges"), std::string::npos) << s.message();
  StatsState moved = b;
  moved.tensors.at("act").range.max += 1;
  s = StatsState(a).Merge(moved);
  EXPECT_NE(s.message().find("different --ranges"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace calib8::stats
