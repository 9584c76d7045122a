// int8/int8_test.cc — the INT8 kernels against their reference twins (the numeric contract), and
// the lowering (quant/lowering.h) end to end on small graphs: plan reasons, keep-fp32, coverage,
// bad scales, and INT8 outputs close to FP32.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "int8/int8_test_util.h"
#include "int8/qkernels.h"
#include "quant/lowering.h"
#include "quant/quant_params.h"
#include "runtime/engine.h"
#include "runtime/int8_engine.h"

namespace calib8::int8 {
namespace {

using namespace calib8::int8::test_util;  // NOLINT(build/namespaces): test helpers

struct ConvCase {
  const char* name;
  int64_t n, c, h, w, m, k, stride, pad, group;
  DataType in_dt;
  const char* out_type;
  const char* act;
  bool residual, in_nhwc, out_nhwc;
  int32_t in_zp = 0, out_zp = 0, res_zp = 0;  // asymmetric u8 (res_zp > 0: a u8 residual)
};

class QConvVsReference : public ::testing::TestWithParam<ConvCase> {};

TEST_P(QConvVsReference, OneDnnAgreesWithReference) {
  const ConvCase& cc = GetParam();
  std::mt19937 rng(7);
  ir::Node node;
  node.name = cc.name;
  node.op_type = "QConv";
  node.domain = "calib8.int8";
  node.attrs["kernel_shape"] = A(std::vector<int64_t>{cc.k, cc.k});
  node.attrs["strides"] = A(std::vector<int64_t>{cc.stride, cc.stride});
  node.attrs["pads"] = A(std::vector<int64_t>{cc.pad, cc.pad, cc.pad, cc.pad});
  node.attrs["group"] = A(cc.group);
  SetQConvAttrs(node, cc.m, cc.out_type, cc.in_nhwc, cc.out_nhwc, cc.act);
  if (cc.in_zp) node.attrs["in_zp"] = A(int64_t{cc.in_zp});
  if (cc.out_zp) node.attrs["out_zp"] = A(int64_t{cc.out_zp});
  if (std::string(cc.name).find("affine") != std::string::npos) {
    node.attrs["_calib8_post_mul"] = A(-0.8f);
    node.attrs["_calib8_post_add"] = A(0.4f);
  }
  std::map<std::string, Tensor> consts;
  consts["w"] =
      Random<int8_t>(DataType::kInt8, {cc.m, cc.c / cc.group, cc.k, cc.k}, -127, 127, rng);
  consts["b"] = Random<int32_t>(DataType::kInt32, {cc.m}, -3000, 3000, rng);
  Tensor x = cc.in_dt == DataType::kUint8
                 ? Random<uint8_t>(DataType::kUint8, {cc.n, cc.c, cc.h, cc.w}, 0, 255, rng)
                 : Random<int8_t>(DataType::kInt8, {cc.n, cc.c, cc.h, cc.w}, -128, 127, rng);
  if (cc.in_nhwc) x = ToNhwc(x);
  node.inputs = {"x", "w", "b"};
  std::vector<const Tensor*> in{&x, &consts["w"], &consts["b"]};
  Tensor r;
  if (cc.residual) {
    int64_t oh = (cc.h + 2 * cc.pad - cc.k) / cc.stride + 1,
            ow = (cc.w + 2 * cc.pad - cc.k) / cc.stride + 1;
    node.attrs["_calib8_sum"] = A(int64_t{1});
    node.inputs.push_back("r");
    if (std::string(cc.out_type) == "f32") {
      r = Tensor(DataType::kFloat32, {cc.n, cc.m, oh, ow});
      for (int64_t i = 0; i < r.numel(); ++i)
        r.data<float>()[i] = 0.01f * static_cast<float>(i % 201 - 100);
    } else {
      node.attrs["res_scale"] = A(0.07f);
      node.attrs["res_nhwc"] = A(int64_t{cc.out_nhwc});
      if (cc.res_zp) {
        node.attrs["res_zp"] = A(int64_t{cc.res_zp});
        r = Random<uint8_t>(DataType::kUint8, {cc.n, cc.m, oh, ow}, 0, 255, rng);
      } else {
        r = Random<int8_t>(DataType::kInt8, {cc.n, cc.m, oh, ow}, -128, 127, rng);
      }
      if (cc.out_nhwc) r = ToNhwc(r);
    }
    in.push_back(&r);
  }
  const int64_t fallbacks = OneDnnFallbacks();
  RunResult res = RunBoth(node, consts, in, QConvReference(), QConvOneDnn());
  if (cc.in_zp || cc.out_zp || cc.res_zp) {
    EXPECT_EQ(OneDnnFallbacks(), fallbacks) << cc.name << ": the oneDNN path did not run";
  }
  ASSERT_TRUE(res.ref.defined() && res.fast.defined());
  auto [maxd, count] = Diff(res.ref, res.fast);
  bool f32 = std::string(cc.out_type) == "f32";
  // Documented tolerance: 8-bit outputs within 1 LSB (float rounding of fused steps), and at most
  // 1% of elements differ; float outputs within 1e-4 relative to the output range.
  if (f32) {
    EXPECT_LE(maxd, 1e-3) << cc.name;
  } else {
    EXPECT_LE(maxd, 1.0) << cc.name;
    EXPECT_LE(count, res.ref.numel() / 100 + 1) << cc.name;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, QConvVsReference,
    ::testing::Values(ConvCase{"plain_s8", 1, 16, 9, 9, 32, 3, 1, 1, 1, DataType::kInt8, "s8", "",
                               false, true, true},
                      ConvCase{"relu_u8_in_u8", 2, 32, 8, 8, 64, 3, 1, 1, 1, DataType::kUint8, "u8",
                               "Relu", false, true, true},
                      ConvCase{"stride2_nchw", 1, 8, 11, 11, 16, 3, 2, 1, 1, DataType::kInt8, "s8",
                               "Relu", false, false, false},
                      ConvCase{"grouped", 1, 16, 7, 7, 32, 3, 1, 1, 4, DataType::kUint8, "s8", "",
                               false, true, true},
                      ConvCase{"depthwise", 1, 32, 10, 10, 32, 3, 1, 1, 32, DataType::kUint8, "u8",
                               "Clip", false, true, true},
                      ConvCase{"residual_relu", 1, 16, 8, 8, 16, 3, 1, 1, 1, DataType::kUint8, "u8",
                               "Relu", true, true, true},
                      ConvCase{"residual_f32", 1, 16, 8, 8, 16, 1, 1, 0, 1, DataType::kInt8, "f32",
                               "Relu", true, true, false},
                      ConvCase{"hardswish", 1, 16, 6, 6, 24, 3, 1, 1, 1, DataType::kInt8, "s8",
                               "HardSwish", false, true, true},
                      ConvCase{"hardswish_affine", 1, 16, 6, 6, 24, 3, 1, 1, 1, DataType::kInt8,
                               "s8", "HardSwish", false, true, true},
                      ConvCase{"relu_affine_residual", 1, 16, 8, 8, 16, 3, 1, 1, 1,
                               DataType::kUint8, "s8", "Relu", true, true, true},
                      ConvCase{"dw_affine_f32", 1, 32, 10, 10, 32, 3, 1, 1, 32, DataType::kInt8,
                               "f32", "HardSwish", false, true, false},
                      ConvCase{"f32_out", 1, 8, 5, 5, 8, 1, 1, 0, 1, DataType::kInt8, "f32", "",
                               false, false, false},
                      // Asymmetric u8 with zero points: padding must stay a real 0, the residual
                      // enters as r - res_zp, out_zp is added after the activation.
                      ConvCase{"zp_pad_u8", 1, 16, 9, 9, 32, 3, 1, 1, 1, DataType::kUint8, "u8", "",
                               false, true, true, 37, 121},
                      ConvCase{"zp_stride2_nchw_f32", 1, 8, 11, 11, 16, 3, 2, 1, 1,
                               DataType::kUint8, "f32", "", false, false, false, 200, 0},
                      ConvCase{"zp_depthwise_hardswish_affine", 1, 32, 10, 10, 32, 3, 1, 1, 32,
                               DataType::kUint8, "u8", "HardSwish", false, true, true, 90, 64},
                      ConvCase{"zp_1x1_relu", 2, 32, 8, 8, 64, 1, 1, 0, 1, DataType::kUint8, "u8",
                               "Relu", false, true, true, 5, 0},
                      ConvCase{"zp_residual", 1, 16, 8, 8, 16, 3, 1, 1, 1, DataType::kUint8, "u8",
                               "", true, true, true, 128, 100, 77},
                      ConvCase{"zp_grouped_clip_nchw", 1, 16, 7, 7, 32, 3, 1, 1, 4,
                               DataType::kUint8, "u8", "Clip", false, false, false, 250, 3}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(QMatMul, OneDnnAgreesWithReference) {
  std::mt19937 rng(3);
  for (const char* out : {"s8", "u8", "f32", "zp_u8", "zp_f32"}) {
    const bool zp = std::string(out).rfind("zp_", 0) == 0;
    if (zp) out += 3;
    ir::Node node;
    node.name = "fc";
    node.op_type = "QMatMul";
    node.domain = "calib8.int8";
    node.inputs = {"a", "w", "b"};
    std::vector<float> ws(48);
    for (size_t i = 0; i < ws.size(); ++i) ws[i] = 0.001f * static_cast<float>(1 + i % 5);
    node.attrs["in_scale"] = A(0.02f);
    node.attrs["w_scales"] = A(ws);
    node.attrs["out_scale"] = A(0.3f);
    node.attrs["out_type"] = A(std::string(out));
    node.attrs["_calib8_act"] = A(std::string("Relu"));
    if (zp) {
      node.attrs["in_zp"] = A(int64_t{143});
      node.attrs["out_zp"] = A(int64_t{20});
    }
    std::map<std::string, Tensor> consts;
    consts["w"] = Random<int8_t>(DataType::kInt8, {48, 100}, -127, 127, rng);
    consts["b"] = Random<int32_t>(DataType::kInt32, {48}, -5000, 5000, rng);
    Tensor a = Random<uint8_t>(DataType::kUint8, {5, 100}, 0, 255, rng);
    RunResult r = RunBoth(node, consts, {&a, &consts["w"], &consts["b"]}, QMatMulReference(),
                          QMatMulOneDnn());
    ASSERT_TRUE(r.ref.defined() && r.fast.defined());
    EXPECT_LE(Diff(r.ref, r.fast).first, std::string(out) == "f32" ? 1e-3 : 1.0) << out;
  }
}

TEST(QEpilogueContract, DirectModeIsTheRequantizeOfQuantParams) {
  // With no activation, Finish + StoreOut is exactly quant::RequantizeS8(acc + bias, m).
  ir::Node node;
  node.attrs["in_scale"] = A(0.5f);
  node.attrs["w_scales"] = A(std::vector<float>{0.25f});
  node.attrs["out_scale"] = A(1.0f);
  node.attrs["out_type"] = A(std::string("s8"));
  auto e = ParseQEpilogue(node);
  ASSERT_TRUE(e.ok());
  for (int32_t acc : {-1000, -3, -2, -1, 0, 1, 2, 3, 6, 10, 1000}) {
    // Room for StoreOut's widest output (float), which g++ sees on a branch this test never takes.
    alignas(float) int8_t y[sizeof(float)] = {};
    StoreOut(*e, e->Finish(acc, 0, 0, 0.0f), y, 0);
    EXPECT_EQ(y[0], quant::RequantizeS8(acc, 0.125f)) << acc;
  }
}

TEST(Layout, NhwcRoundTrip) {
  std::mt19937 rng(1);
  Tensor x = Random<int8_t>(DataType::kInt8, {2, 3, 4, 5}, -128, 127, rng);
  Tensor y = ToNchw(ToNhwc(x));
  ASSERT_EQ(y.shape(), x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) EXPECT_EQ(x.data<int8_t>()[i], y.data<int8_t>()[i]);
  EXPECT_EQ(ToNhwc(x).data<int8_t>()[1], x.data<int8_t>()[20]);  // (n0,h0,w0,c1) = (n0,c1,h0,w0)
}

TEST(Layout, TiledPermuteOnOddSizes) {
  // Sizes that are not multiples of the 32 x 32 tiles, 4-byte elements (float outputs).
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::mt19937 rng(2);
  Tensor x(DataType::kFloat32, {2, 45, 7, 10});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = nd(rng);
  Tensor h = ToNhwc(x);
  ASSERT_EQ(h.shape(), (Shape{2, 7, 10, 45}));
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t c = 0; c < 45; ++c)
      for (int64_t p = 0; p < 70; ++p)
        ASSERT_EQ(h.data<float>()[(b * 70 + p) * 45 + c], x.data<float>()[(b * 45 + c) * 70 + p]);
  Tensor y = ToNchw(h);
  for (int64_t i = 0; i < x.numel(); ++i) ASSERT_EQ(x.data<float>()[i], y.data<float>()[i]);
}

TEST(Quantize, ElementwiseEqualToQuantParamsNchwAndNhwc) {
  // The vectorized / tiled Quantize kernel against quant::QuantizeS8/U8 element by element:
  // ties (k + 0.5) * scale, saturation, odd channel and pixel counts (not multiples of the tile).
  std::mt19937 rng(4);
  std::normal_distribution<float> nd(0.0f, 4.0f);
  const float scale = 0.05f;
  const int64_t n = 2, c = 37, hh = 9, ww = 11, hw = hh * ww;
  Tensor x(DataType::kFloat32, {n, c, hh, ww});
  for (int64_t i = 0; i < x.numel(); ++i)
    x.data<float>()[i] = i % 5 == 0 ? (static_cast<float>(i % 300) - 150.5f) * scale : nd(rng);
  for (int u = 0; u < 2; ++u)
    for (int nhwc = 0; nhwc < 2; ++nhwc) {
      ir::Node node;
      node.name = "q";
      node.op_type = "Quantize";
      node.domain = "calib8.int8";
      node.attrs["scale"] = A(scale);
      node.attrs["unsigned"] = A(int64_t{u});
      node.attrs["nhwc"] = A(int64_t{nhwc});
      RunResult r = RunBoth(node, {}, {&x}, QuantizeKernel(), QuantizeKernel());
      ASSERT_TRUE(r.ref.defined());
      ASSERT_EQ(r.ref.dtype(), u ? DataType::kUint8 : DataType::kInt8);
      int64_t bad = 0;
      for (int64_t b = 0; b < n; ++b)
        for (int64_t k = 0; k < c; ++k)
          for (int64_t p = 0; p < hw; ++p) {
            float v = x.data<float>()[(b * c + k) * hw + p];
            int64_t o = nhwc ? (b * hw + p) * c + k : (b * c + k) * hw + p;
            int got = u ? r.ref.data<uint8_t>()[o] : r.ref.data<int8_t>()[o];
            int want = u ? quant::QuantizeU8(v, scale) : quant::QuantizeS8(v, scale);
            bad += got != want;
          }
      EXPECT_EQ(bad, 0) << "unsigned " << u << " nhwc " << nhwc;
    }
  ir::Node zero;
  zero.op_type = "Quantize";
  zero.domain = "calib8.int8";
  zero.attrs["scale"] = A(0.0f);
  RunResult r = RunBoth(zero, {}, {&x}, QuantizeKernel(), QuantizeKernel());
  ASSERT_TRUE(r.ref.defined());
  for (int64_t i = 0; i < r.ref.numel(); ++i) ASSERT_EQ(r.ref.data<int8_t>()[i], 0);
}

// A small model: x -> Conv(3x3)+Relu -> MaxPool -> Flatten -> Gemm -> y.
ir::Graph SmallModel() {
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0.0f, 0.3f);
  ir::Graph g;
  g.name = "small";
  g.source = "test model";
  g.opsets[""] = 13;
  ir::ValueInfo in{"x", DataType::kFloat32, {{1, ""}, {4, ""}, {8, ""}, {8, ""}}, true};
  g.inputs.push_back(in);
  g.outputs.push_back({"y", DataType::kFloat32, {}, false});
  auto rnd = [&](Shape s) {
    Tensor t(DataType::kFloat32, s);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = nd(rng);
    return t;
  };
  g.initializers["W"] = rnd({8, 4, 3, 3});
  g.initializers["B"] = rnd({8});
  g.initializers["F"] = rnd({10, 128});
  g.initializers["C"] = rnd({10});
  ir::Node conv{"conv", "Conv", "", {"x", "W", "B"}, {"c"}, {}};
  conv.attrs["pads"] = A(std::vector<int64_t>{1, 1, 1, 1});
  conv.attrs["kernel_shape"] = A(std::vector<int64_t>{3, 3});
  ir::Node relu{"relu", "Relu", "", {"c"}, {"r"}, {}};
  ir::Node pool{"pool", "MaxPool", "", {"r"}, {"p"}, {}};
  pool.attrs["kernel_shape"] = A(std::vector<int64_t>{2, 2});
  pool.attrs["strides"] = A(std::vector<int64_t>{2, 2});
  ir::Node flat{"flat", "Flatten", "", {"p"}, {"f"}, {}};
  ir::Node gemm{"fc", "Gemm", "", {"f", "F", "C"}, {"y"}, {}};
  gemm.attrs["transB"] = A(int64_t{1});
  g.nodes = {conv, relu, pool, flat, gemm};
  return g;
}

Tensor SmallInput() {
  Tensor x(DataType::kFloat32, {1, 4, 8, 8});
  for (int64_t i = 0; i < x.numel(); ++i)
    x.data<float>()[i] = std::sin(0.37f * static_cast<float>(i));
  return x;
}

TEST(Lowering, SmallModelRunsInt8CloseToFp32) {
  ir::Graph g = SmallModel();
  Tensor x = SmallInput();
  table::CalibrationTable t = TableFromFp32Run(g, x);
  for (bool u : {false, true}) {
    runtime::Int8Options io;
    io.lowering.unsigned_activations = u;
    quant::Int8Plan plan;
    auto s8 = runtime::CreateInt8Session(g, t, io, {}, &plan);
    ASSERT_TRUE(s8.ok()) << s8.status().message();
    EXPECT_EQ(plan.num_int8, 4) << quant::PlanToText(plan);  // conv+relu, pool, flatten, gemm
    EXPECT_EQ(plan.num_fp32, 0);
    EXPECT_EQ(plan.coverage.found, plan.coverage.needed);
    auto fp = runtime::CreateSession(g);
    auto y32 = (*fp)->Run({{"x", x}});
    auto y8 = (*s8)->Run({{"x", x}});
    ASSERT_TRUE(y8.ok()) << y8.status().message();
    const Tensor& a = y32->at("y");
    const Tensor& b = y8->at("y");
    ASSERT_EQ(b.dtype(), DataType::kFloat32);
    ASSERT_EQ(a.shape(), b.shape());
    double amax = 0, err = 0;
    for (int64_t i = 0; i < a.numel(); ++i) {
      amax = std::max(amax, std::fabs(static_cast<double>(a.data<float>()[i])));
      err = std::max(err, std::fabs(static_cast<double>(a.data<float>()[i]) - b.data<float>()[i]));
    }
    EXPECT_LT(err, 0.05 * amax) << "unsigned=" << u;
    // The 8-bit conv and gemm stay on oneDNN (with or without VNNI): no reference fallback.
    EXPECT_TRUE((*s8)->kernel_notes().empty() ||
                std::all_of((*s8)->kernel_notes().begin(), (*s8)->kernel_notes().end(),
                            [](const std::string& n) { return n.empty(); }))
        << "unsigned=" << u;
    // The reference flavour gives the same plan's numbers within 1 LSB of the output scale.
    Tensor yr = RunPlanReference(plan, x);
    ASSERT_TRUE(yr.defined());
    for (int64_t i = 0; i < b.numel(); ++i)
      EXPECT_NEAR(yr.data<float>()[i], b.data<float>()[i], 0.02 * amax + 1e-6);
  }
}

// Asymmetric u8 with zero points (LoweringOptions::ranges, as the sidecar gives them): on an
// input that is mostly positive ([-0.3, 1.7]), the zero-point plan is closer to FP32 than the
// symmetric one, its reference and oneDNN runs agree, and the plan shows the zero points.
TEST(Lowering, AsymmetricRangesWithZeroPoints) {
  ir::Graph g = SmallModel();
  Tensor x = SmallInput();
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = x.data<float>()[i] + 0.7f;
  table::CalibrationTable t = TableFromFp32Run(g, x);
  class MinMax : public exec::TensorObserver {
   public:
    std::map<std::string, std::pair<float, float>> r;
    void OnTensor(const std::string& name, const ir::Node*, const Tensor& v) override {
      float lo = 0, hi = 0;
      for (int64_t i = 0; i < v.numel(); ++i) {
        lo = std::min(lo, v.data<float>()[i]);
        hi = std::max(hi, v.data<float>()[i]);
      }
      r[name] = {lo, hi};
    }
  } mm;
  exec::SessionOptions so;
  so.fuse_epilogues = false;
  auto fp = runtime::CreateSession(g, so);
  ASSERT_TRUE(fp.ok());
  auto y32 = (*fp)->Run({{"x", x}}, &mm);
  ASSERT_TRUE(y32.ok());
  const Tensor& a = y32->at("y");
  auto max_err = [&](const Tensor& b) {  // mean squared error against FP32
    double e = 0;
    for (int64_t i = 0; i < a.numel(); ++i) {
      double d = static_cast<double>(a.data<float>()[i]) - b.data<float>()[i];
      e += d * d;
    }
    return e / static_cast<double>(a.numel());
  };
  double err[2] = {0, 0};
  for (int asym = 0; asym < 2; ++asym) {
    runtime::Int8Options io;
    io.lowering.speed_rule = false;
    if (asym) io.lowering.ranges = mm.r;
    quant::Int8Plan plan;
    auto s8 = runtime::CreateInt8Session(g, t, io, {}, &plan);
    ASSERT_TRUE(s8.ok()) << s8.status().message();
    EXPECT_EQ(plan.num_fp32, 0) << quant::PlanToText(plan);
    const std::string text = quant::PlanToText(plan);
    // x in [-0.3, 1.7]: scale 2/255, zero point round(0.3 / (2/255)) = 38.
    EXPECT_EQ(text.find("u8 (zp 38) in") != std::string::npos, asym == 1) << text;
    auto y8 = (*s8)->Run({{"x", x}});
    ASSERT_TRUE(y8.ok()) << y8.status().message();
    err[asym] = max_err(y8->at("y"));
    Tensor yr = RunPlanReference(plan, x);
    ASSERT_TRUE(yr.defined());
    for (int64_t i = 0; i < a.numel(); ++i)
      EXPECT_NEAR(yr.data<float>()[i], y8->at("y").data<float>()[i], 0.02);
  }
  EXPECT_LT(err[1], err[0]) << "asymmetric " << err[1] << " vs symmetric " << err[0];
}

TEST(Quantize, ZeroPointElementwiseEqualToQuantizeQ) {
  // Quantize / Dequantize with a zero point against quant::QuantizeQ / DequantizeQ, NCHW and
  // NHWC, including ties and both saturation ends.
  std::mt19937 rng(9);
  std::normal_distribution<float> nd(0.3f, 2.0f);
  const quant::QParams p = quant::AsymmetricParams(-1.1f, 3.9f);
  ASSERT_EQ(p.zero_point, 56);  // round(1.1 / (5 / 255)) = round(56.1)
  Tensor x(DataType::kFloat32, {2, 5, 3, 7});
  for (int64_t i = 0; i < x.numel(); ++i)
    x.data<float>()[i] = i % 4 == 0 ? (static_cast<float>(i % 400) - 200.5f) * p.scale : nd(rng);
  for (int nhwc = 0; nhwc < 2; ++nhwc) {
    ir::Node q{"q", "Quantize", "calib8.int8", {"x"}, {"y"}, {}};
    q.attrs["scale"] = A(p.scale);
    q.attrs["unsigned"] = A(int64_t{1});
    q.attrs["zero_point"] = A(int64_t{p.zero_point});
    q.attrs["nhwc"] = A(int64_t{nhwc});
    RunResult r = RunBoth(q, {}, {&x}, QuantizeKernel(), QuantizeKernel());
    ASSERT_TRUE(r.ref.defined());
    Tensor yq = nhwc ? ToNchw(r.ref) : r.ref;
    for (int64_t i = 0; i < x.numel(); ++i)
      ASSERT_EQ(yq.data<uint8_t>()[i], quant::QuantizeQ(x.data<float>()[i], p)) << i;
    ir::Node d{"d", "Dequantize", "calib8.int8", {"y"}, {"z"}, {}};
    d.attrs["scale"] = A(p.scale);
    d.attrs["zero_point"] = A(int64_t{p.zero_point});
    d.attrs["nhwc"] = A(int64_t{nhwc});
    RunResult z = RunBoth(d, {}, {&r.ref}, DequantizeKernel(), DequantizeKernel());
    ASSERT_TRUE(z.ref.defined());
    for (int64_t i = 0; i < x.numel(); ++i)
      ASSERT_EQ(z.ref.data<float>()[i], quant::DequantizeQ(yq.data<uint8_t>()[i], p)) << i;
  }
}

TEST(Lowering, ReasonsKeepFp32CoverageAndBadScales) {
  ir::Graph g = SmallModel();
  Tensor x = SmallInput();
  table::CalibrationTable full = TableFromFp32Run(g, x);
  // keep-fp32 on the conv output: the conv still runs INT8 and writes that tensor as FP32 (only
  // its consumers pay); the pool reading it stays FP32; the rest has no 8-bit input.
  {
    quant::LoweringOptions o;
    o.keep_fp32 = {"r"};
    o.speed_rule = false;
    auto p = quant::LowerToInt8(g, full, o);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->nodes[0].precision, quant::Precision::kInt8) << p->nodes[0].reason;
    EXPECT_NE(
        p->nodes[0].reason.find("output 'r' kept FP32 by the user (--keep-fp32): written as FP32"),
        std::string::npos)
        << p->nodes[0].reason;
    EXPECT_NE(p->nodes[1].reason.find("excluded by the user"), std::string::npos);
    EXPECT_NE(p->nodes[2].reason.find("no speed benefit"), std::string::npos);
    EXPECT_EQ(p->nodes[3].precision, quant::Precision::kInt8);  // Gemm quantizes its input
    // With the speed rule (the default), that Gemm (128 -> 10: 1280 MACs per row for 138
    // elements crossing its borders, 9.28 per element) is an INT8 island too small to pay.
    o.speed_rule = true;
    auto q = quant::LowerToInt8(g, full, o);
    ASSERT_TRUE(q.ok());
    EXPECT_EQ(q->nodes[3].precision, quant::Precision::kFp32);
    EXPECT_NE(q->nodes[3].reason.find("no speed benefit: Gemm 128 -> 10"), std::string::npos)
        << q->nodes[3].reason;
    EXPECT_NE(q->nodes[3].reason.find("9.28 MACs per element"), std::string::npos)
        << q->nodes[3].reason;
    EXPECT_EQ(q->num_int8, 0);
    EXPECT_EQ(q->num_quantize, 0);
  }
  // A table without the input tensor: the conv stays FP32 with the reason; coverage shows it.
  {
    table::CalibrationTable t;
    for (const auto& e : full.entries())
      if (e.name != "x") t.Put(e);
    auto p = quant::LowerToInt8(g, t, {});
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->nodes[0].precision, quant::Precision::kFp32);
    EXPECT_NE(p->nodes[0].reason.find("no table entry for input 'x'"), std::string::npos);
    EXPECT_EQ(p->coverage.missing, std::vector<std::string>{"x"});
    runtime::Int8Options strict;
    strict.strict = true;
    EXPECT_FALSE(runtime::PlanInt8(g, t, strict).ok());
  }
  // amax 0: FP32 with reason; inf: refused naming the tensor.
  {
    table::CalibrationTable t = full;
    t.SetScaleBits("x", 0);
    auto p = quant::LowerToInt8(g, t, {});
    ASSERT_TRUE(p.ok());
    EXPECT_NE(p->nodes[0].reason.find("amax 0"), std::string::npos);
    t.SetScaleBits("x", 0x7f800000u);
    auto bad = quant::LowerToInt8(g, t, {});
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.status().message().find("'x'"), std::string::npos);
  }
}

// A custom op between two convolutions: x -> Conv -> c -> com.example::Op -> m -> Conv -> y. With
// an INT8 compute registered (int8_custom_ops), the op runs as QPlugin on s8 tensors whose scales
// are the table's symmetric ones, even where the sidecar gives asymmetric ranges; output 0 takes
// input 0's scale when the plugin says so; --keep-fp32 on it makes it an FP32 island again.
TEST(Lowering, CustomOpWithInt8Compute) {
  ir::Graph g;
  g.source = "test model";
  g.opsets[""] = 13;
  g.opsets["com.example"] = 1;
  g.inputs.push_back({"x", DataType::kFloat32, {{1, ""}, {4, ""}, {8, ""}, {8, ""}}, true});
  g.outputs.push_back({"y", DataType::kFloat32, {}, false});
  Tensor w(DataType::kFloat32, {4, 4, 1, 1});
  for (int64_t i = 0; i < w.numel(); ++i)
    w.data<float>()[i] = 0.1f * static_cast<float>(i % 7) - 0.3f;
  g.initializers["W1"] = w;
  g.initializers["W2"] = w;
  g.nodes = {ir::Node{"conv1", "Conv", "", {"x", "W1"}, {"c"}, {}},
             ir::Node{"op", "Op", "com.example", {"c"}, {"m"}, {}},
             ir::Node{"conv2", "Conv", "", {"m", "W2"}, {"y"}, {}}};
  table::CalibrationTable t;
  const std::map<std::string, float> amax = {{"x", 2.0f}, {"c", 3.0f}, {"m", 5.0f}, {"y", 4.0f}};
  for (const auto& [name, a] : amax) {
    table::TableEntry e;
    e.name = name;
    e.scale_bits = {table::FloatToBits(a / 127.0f)};
    t.Put(e);
  }
  quant::LoweringOptions o;
  o.speed_rule = false;
  for (const auto& [name, a] : amax) o.ranges[name] = {-0.5f * a, a};
  auto find = [](const quant::Int8Plan& p, const std::string& name) -> const ir::Node* {
    for (const auto& n : p.graph.nodes)
      if (n.name == name) return &n;
    return nullptr;
  };
  {  // no INT8 compute: FP32 island; c keeps its asymmetric range (conv1 writes u8 with a zp)
    auto p = quant::LowerToInt8(g, t, o);
    ASSERT_TRUE(p.ok()) << p.status().message();
    EXPECT_EQ(p->nodes[1].precision, quant::Precision::kFp32);
    EXPECT_NE(p->nodes[1].reason.find("no INT8 compute"), std::string::npos) << p->nodes[1].reason;
  }
  for (bool same_scale : {false, true}) {
    o.int8_custom_ops = {{"com.example::Op", same_scale}};
    auto p = quant::LowerToInt8(g, t, o);
    ASSERT_TRUE(p.ok()) << p.status().message();
    ASSERT_EQ(p->nodes[1].precision, quant::Precision::kInt8) << p->nodes[1].reason;
    const ir::Node* op = find(*p, "op");
    ASSERT_NE(op, nullptr);
    EXPECT_EQ(op->domain, quant::kInt8Domain);
    EXPECT_EQ(op->op_type, quant::Int8PluginOpType("com.example", "Op"));
    ASSERT_EQ(op->GetFloats(quant::kPluginInScalesAttr).size(), 1u);
    EXPECT_EQ(op->GetFloats(quant::kPluginInScalesAttr)[0], 3.0f / 127.0f);
    EXPECT_EQ(op->GetFloats(quant::kPluginOutScalesAttr)[0],
              same_scale ? 3.0f / 127.0f : 5.0f / 127.0f);
    EXPECT_EQ(op->inputs[0], "c:s8");
    EXPECT_EQ(op->outputs[0], "m:s8");
    const ir::Node* conv1 = find(*p, "conv1");
    ASSERT_NE(conv1, nullptr);
    EXPECT_EQ(conv1->GetString("out_type", ""), "s8");  // symmetric at the plugin's border
    EXPECT_EQ(conv1->GetInt("out_zp", 0), 0);
    EXPECT_NE(conv1->GetInt("in_zp", 0), 0);  // x keeps its asymmetric range
  }
  o.keep_fp32 = {"op"};
  auto kept = quant::LowerToInt8(g, t, o);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->nodes[1].precision, quant::Precision::kFp32);
  const ir::Node* conv1 = find(*kept, "conv1");
  ASSERT_NE(conv1, nullptr);
  EXPECT_EQ(conv1->GetString("out_type", ""), "f32");
}

}  // namespace
}  // namespace calib8::int8
