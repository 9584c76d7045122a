// ops/channels_last_test.cc — the channels-last hand-over between kernels (exec::Session with the
// built-in ops): a conv/pool network with a residual, a depthwise conv, a 1x1 conv and a consumer
// that needs row-major data gives the same outputs with channels-last on, off, and with the
// reference kernels, and channels-last is really used when on.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <random>

#include "exec/session.h"
#include "ops/ops.h"
#include "stats/collector.h"

namespace calib8::ops {
namespace {

const auto Ints = &ir::Attribute::Ints;
const auto Int = &ir::Attribute::Int;

Tensor Random(const Shape& shape, std::mt19937& rng, float scale = 1.0f) {
  std::uniform_real_distribution<float> dist(-scale, scale);
  Tensor t(DataType::kFloat32, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = dist(rng);
  return t;
}

// x[1,8,20,20] -> Conv 3x3 + Relu -> MaxPool 2x2 -> p
// p -> Conv 3x3 -> c2 -> Sigmoid -> out_sig (graph output: row-major consumer)
// c2 -> Conv 1x1 -> + p (residual) -> s -> depthwise Conv 3x3 -> c4 -> GlobalAveragePool -> out_gap
// c4 -> MaxPool 3x3 stride 1 pad 1 -> out_pool
// c4 * out_gap (per-channel broadcast: channels-last) + Bh [16, 10, 1] (broadcast over C and H:
// converted to row-major) -> Relu -> out_q
// Conv 1x1(s) (channels-last) + Transpose(out_sig, HW swapped) (row-major, full size: reordered
// to channels-last since the consumer is a Conv) -> Conv 1x1 -> out_mix
ir::Graph Network(std::mt19937& rng) {
  ir::Graph g;
  g.source = "channels-last test network";
  g.opsets[""] = 13;
  g.inputs.push_back(
      ir::ValueInfo{"x", DataType::kFloat32, {{1, ""}, {8, ""}, {20, ""}, {20, ""}}, true});
  auto node = [&](std::string name, std::string op, std::vector<std::string> in, std::string out,
                  std::map<std::string, ir::Attribute> attrs = {}) {
    ir::Node n;
    n.name = std::move(name);
    n.op_type = std::move(op);
    n.inputs = std::move(in);
    n.outputs = {std::move(out)};
    n.attrs = std::move(attrs);
    g.nodes.push_back(std::move(n));
  };
  g.initializers["W1"] = Random({16, 8, 3, 3}, rng, 0.3f);
  g.initializers["B1"] = Random({16}, rng);
  g.initializers["W2"] = Random({16, 16, 3, 3}, rng, 0.2f);
  g.initializers["W3"] = Random({16, 16, 1, 1}, rng, 0.3f);
  g.initializers["B3"] = Random({16}, rng);
  g.initializers["W4"] = Random({16, 1, 3, 3}, rng, 0.5f);
  g.initializers["Bh"] = Random({16, 10, 1}, rng);
  g.initializers["W5"] = Random({8, 16, 1, 1}, rng, 0.3f);
  g.initializers["W6"] = Random({16, 16, 1, 1}, rng, 0.3f);
  const auto pad1 = Ints({1, 1, 1, 1});
  node("conv1", "Conv", {"x", "W1", "B1"}, "c1", {{"pads", pad1}});
  node("relu1", "Relu", {"c1"}, "r1");
  node("pool1", "MaxPool", {"r1"}, "p",
       {{"kernel_shape", Ints({2, 2})}, {"strides", Ints({2, 2})}});
  node("conv2", "Conv", {"p", "W2"}, "c2", {{"pads", pad1}});
  node("sig", "Sigmoid", {"c2"}, "out_sig");
  node("conv3", "Conv", {"c2", "W3", "B3"}, "c3");
  node("add", "Add", {"c3", "p"}, "s");
  node("conv4", "Conv", {"s", "W4"}, "c4", {{"pads", pad1}, {"group", Int(16)}});
  node("gap", "GlobalAveragePool", {"c4"}, "out_gap");
  node("pool2", "MaxPool", {"c4"}, "out_pool", {{"kernel_shape", Ints({3, 3})}, {"pads", pad1}});
  node("se", "Mul", {"c4", "out_gap"}, "m");
  node("addh", "Add", {"m", "Bh"}, "q");
  node("reluq", "Relu", {"q"}, "out_q");
  node("tr", "Transpose", {"out_sig"}, "t4", {{"perm", Ints({0, 1, 3, 2})}});
  node("conv6", "Conv", {"s", "W6"}, "c6");
  node("mix", "Add", {"c6", "t4"}, "mixed");
  node("conv5", "Conv", {"mixed", "W5"}, "out_mix");
  for (const char* o : {"out_sig", "out_gap", "out_pool", "out_q", "out_mix"})
    g.outputs.push_back(ir::ValueInfo{o, DataType::kFloat32, {}, false});
  return g;
}

exec::TensorMap RunWith(const ir::Graph& g, const Tensor& x, exec::KernelFlavor flavor,
                        bool channels_last, int64_t* cl_values, bool fuse = true) {
  exec::SessionOptions o;
  o.fuse_epilogues = fuse;
  o.num_threads = 2;
  o.flavor = flavor;
  o.registry = &BuiltinRegistry();
  o.channels_last = channels_last;
  auto s = exec::Session::Create(g, o);
  EXPECT_TRUE(s.ok()) << s.status().message();
  exec::TensorMap out;
  for (int run = 0; run < 2; ++run) {  // the second run uses the cached plans
    auto r = (*s)->Run({{"x", x}});
    EXPECT_TRUE(r.ok()) << r.status().message();
    out = std::move(r).value();
  }
  *cl_values = (*s)->last_run_channels_last_values();
  return out;
}

double MaxRelDiff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  double diff = 0, mag = 1e-30;
  for (int64_t i = 0; i < a.numel(); ++i) {
    diff = std::max(diff, static_cast<double>(std::fabs(a.data<float>()[i] - b.data<float>()[i])));
    mag = std::max(mag, static_cast<double>(std::fabs(b.data<float>()[i])));
  }
  return diff / mag;
}

TEST(ChannelsLast, SameOutputsOnOffAndReference) {
  std::mt19937 rng(17);
  ir::Graph g = Network(rng);
  Tensor x = Random({1, 8, 20, 20}, rng);
  int64_t cl_on = 0, cl_off = 0, cl_ref = 0;
  auto on = RunWith(g, x, exec::KernelFlavor::kFast, true, &cl_on);
  auto off = RunWith(g, x, exec::KernelFlavor::kFast, false, &cl_off);
  auto ref = RunWith(g, x, exec::KernelFlavor::kReference, true, &cl_ref);
  // conv1 (-> pool1), pool1 (-> conv2, the residual of conv3), conv2 (-> Sigmoid, conv3),
  // conv3+add (-> conv4) and conv4 (-> gap, pool2) hand over channels-last.
  EXPECT_GE(cl_on, 3);
  EXPECT_EQ(cl_off, 0);
  EXPECT_EQ(cl_ref, 0);  // the reference kernels take row-major only
  for (const char* name : {"out_sig", "out_gap", "out_pool", "out_q", "out_mix"}) {
    ASSERT_TRUE(on.count(name) && off.count(name) && ref.count(name)) << name;
    EXPECT_FALSE(on[name].channels_last()) << name << ": graph outputs are row-major";
    EXPECT_LE(MaxRelDiff(on[name], ref[name]), 1e-5) << name;
    EXPECT_LE(MaxRelDiff(off[name], ref[name]), 1e-5) << name;
  }
}

// Unfused (as calibration runs): Relu and Add take channels-last too, so the hand-over goes on
// through them.
TEST(ChannelsLast, ElementwiseOpsPassItOnUnfused) {
  std::mt19937 rng(23);
  ir::Graph g = Network(rng);
  Tensor x = Random({1, 8, 20, 20}, rng);
  int64_t cl_on = 0, cl_ref = 0;
  auto on = RunWith(g, x, exec::KernelFlavor::kFast, true, &cl_on, /*fuse=*/false);
  auto ref = RunWith(g, x, exec::KernelFlavor::kReference, true, &cl_ref, false);
  // c1, r1, p, c2, c3, s, c4, and Sigmoid's result (converted back as a graph output).
  EXPECT_GE(cl_on, 7);
  for (const char* name : {"out_sig", "out_gap", "out_pool", "out_q", "out_mix"}) {
    EXPECT_FALSE(on[name].channels_last()) << name;
    EXPECT_LE(MaxRelDiff(on[name], ref[name]), 1e-5) << name;
  }
}

// Calibration statistics (stats::Collector takes channels-last tensors as they are) are the same
// with and without the hand-over: same ranges, same histogram counts (to the kernels' rounding).
TEST(ChannelsLast, CalibrationStatisticsAreIdentical) {
  std::mt19937 rng(41);
  ir::Graph g = Network(rng);
  Tensor x = Random({2, 8, 20, 20}, rng);
  g.inputs[0].dims[0].value = 2;
  stats::StatsState states[2];
  int64_t cl_values[2] = {0, 0};
  for (int on = 0; on < 2; ++on) {
    exec::SessionOptions o;
    o.registry = &BuiltinRegistry();
    o.fuse_epilogues = false;
    o.channels_last = on == 1;
    auto s = exec::Session::Create(g, o);
    ASSERT_TRUE(s.ok()) << s.status().message();
    stats::Collector c(&states[on]);
    for (auto pass : {stats::Pass::kRange, stats::Pass::kHistogram}) {
      c.BeginPass(pass);
      c.BeginBatch(0, 2);
      ASSERT_TRUE((*s)->Run({{"x", x}}, &c).ok());
      ASSERT_TRUE(c.status().ok()) << c.status().message();
    }
    cl_values[on] = (*s)->last_run_channels_last_values();
  }
  EXPECT_EQ(cl_values[0], 0);
  EXPECT_GE(cl_values[1], 6);
  ASSERT_EQ(states[0].tensors.size(), states[1].tensors.size());
  for (const auto& [name, a] : states[0].tensors) {
    ASSERT_TRUE(states[1].tensors.count(name)) << name;
    const stats::TensorRecord& b = states[1].tensors.at(name);
    // Equal where oneDNN sums both layouts in one order (an AVX-512 Xeon); where its channels-last
    // convolution sums in another (AVX2: an AMD EPYC) values move in their last bits, so ranges
    // agree to 1e-5 relative and at most 0.1% of the values change histogram bin.
    const double tol = 1e-5 * std::max(1.0, static_cast<double>(a.range.absmax));
    EXPECT_NEAR(a.range.min, b.range.min, tol) << name;
    EXPECT_NEAR(a.range.max, b.range.max, tol) << name;
    EXPECT_NEAR(a.range.absmax, b.range.absmax, tol) << name;
    EXPECT_EQ(a.range.count, b.range.count) << name;
    ASSERT_EQ(a.hist.counts().size(), b.hist.counts().size()) << name;
    int64_t moved = 0, total = 0;
    for (size_t i = 0; i < a.hist.counts().size(); ++i) {
      moved += std::llabs(static_cast<long long>(a.hist.counts()[i]) -
                          static_cast<long long>(b.hist.counts()[i]));
      total += static_cast<int64_t>(a.hist.counts()[i]);
    }
    EXPECT_LE(moved, 2 + total / 500) << name << ": histogram counts moved";
    EXPECT_EQ(a.sample_shape, b.sample_shape) << name;
  }
}

// An observer sees row-major tensors and turns the hand-over off (calibration statistics see
// exactly what a row-major run produces).
TEST(ChannelsLast, ObserverSeesRowMajor) {
  std::mt19937 rng(5);
  ir::Graph g = Network(rng);
  Tensor x = Random({1, 8, 20, 20}, rng);
  struct Obs : exec::TensorObserver {
    int seen = 0, cl = 0;
    void OnTensor(const std::string&, const ir::Node*, const Tensor& v) override {
      ++seen;
      cl += v.channels_last();
    }
  } obs;
  exec::SessionOptions o;
  o.registry = &BuiltinRegistry();
  auto s = exec::Session::Create(g, o);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->Run({{"x", x}}, &obs).ok());
  EXPECT_GT(obs.seen, 5);
  EXPECT_EQ(obs.cl, 0);
  EXPECT_EQ((*s)->last_run_channels_last_values(), 0);
}

}  // namespace
}  // namespace calib8::ops
