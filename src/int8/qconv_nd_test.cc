// int8/qconv_nd_test.cc — INT8 ConvTranspose and 1-D / 3-D Conv: the reference kernels against
// hand-computed values, the oneDNN kernels against the reference (bit-exact or within the
// documented ±1 LSB on at most 1% of elements), and the lowering end to end (plan says INT8,
// output close to FP32).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "int8/int8_test_util.h"
#include "int8/qkernels.h"
#include "ops/conv_ref.h"
#include "quant/lowering.h"
#include "runtime/engine.h"
#include "runtime/int8_engine.h"

namespace calib8::int8 {
namespace {

using namespace calib8::int8::test_util;  // NOLINT(build/namespaces): test helpers

// A QConv / QConvTranspose node with unit scales (in 1, weights 1, out 1): the output is then
// exactly acc + bias, saturated, so hand-computed sums can be compared directly.
ir::Node UnitNode(const char* op, int64_t m, std::vector<int64_t> k, std::vector<int64_t> strides,
                  std::vector<int64_t> pads) {
  ir::Node n;
  n.name = "n";
  n.op_type = op;
  n.domain = "calib8.int8";
  n.inputs = {"x", "w", "b"};
  n.attrs["kernel_shape"] = A(std::move(k));
  n.attrs["strides"] = A(std::move(strides));
  n.attrs["pads"] = A(std::move(pads));
  n.attrs["in_scale"] = A(1.0f);
  n.attrs["w_scales"] = A(std::vector<float>(static_cast<size_t>(m), 1.0f));
  n.attrs["out_scale"] = A(1.0f);
  n.attrs["out_type"] = A(std::string("s8"));
  return n;
}

template <typename T>
Tensor Make(DataType dt, Shape s, std::vector<int> v) {
  Tensor t(dt, std::move(s));
  EXPECT_EQ(t.numel(), static_cast<int64_t>(v.size()));
  for (size_t i = 0; i < v.size(); ++i) t.data<T>()[i] = static_cast<T>(v[i]);
  return t;
}

std::vector<int> Values(const Tensor& t) {
  std::vector<int> v;
  for (int64_t i = 0; i < t.numel(); ++i) v.push_back(static_cast<int>(LoadAsFloat(t, i)));
  return v;
}

// Runs one factory on the node; returns the output (undefined on failure).
Tensor RunOne(const ir::Node& node, exec::KernelFactory f, std::vector<const Tensor*> in,
              const std::map<std::string, Tensor>& consts) {
  return RunBoth(node, consts, std::move(in), f, f).ref;
}

TEST(QConvTransposeReference, HandComputed1D) {
  // x = [1, 2, 3], w = [1, 1, 1], stride 2: each input writes 3 taps two apart, so positions 2
  // and 4 receive two inputs: [1, 1, 1+2, 2, 2+3, 3, 3] = [1, 1, 3, 2, 5, 3, 3].
  Tensor x = Make<int8_t>(DataType::kInt8, {1, 1, 3}, {1, 2, 3});
  Tensor w = Make<int8_t>(DataType::kInt8, {1, 1, 3}, {1, 1, 1});
  Tensor b = Make<int32_t>(DataType::kInt32, {1}, {0});
  std::map<std::string, Tensor> c{{"w", w}, {"b", b}};
  ir::Node n = UnitNode("QConvTranspose", 1, {3}, {2}, {0, 0});
  EXPECT_EQ(Values(RunOne(n, QConvTransposeReference(), {&x, &w, &b}, c)),
            (std::vector<int>{1, 1, 3, 2, 5, 3, 3}));
  // pads 1, 1 and output_padding 1: the full output [1, 1, 3, 2, 5, 3, 3, 0] (output_padding
  // adds a position no input reaches) cropped by one at each end; bias 10 added everywhere.
  n = UnitNode("QConvTranspose", 1, {3}, {2}, {1, 1});
  n.attrs["output_padding"] = A(std::vector<int64_t>{1});
  Tensor b10 = Make<int32_t>(DataType::kInt32, {1}, {10});
  c["b"] = b10;
  EXPECT_EQ(Values(RunOne(n, QConvTransposeReference(), {&x, &w, &b10}, c)),
            (std::vector<int>{11, 13, 12, 15, 13, 13}));
}

TEST(QConvTransposeReference, HandComputed2DStride2Groups) {
  // k = stride = 2: every input pixel writes its own 2x2 block, v * w. Two groups of one channel:
  // W [C=2, M/G=1, 2, 2], channel 0 -> output 0 with w0, channel 1 -> output 1 with w1.
  Tensor x = Make<int8_t>(DataType::kInt8, {1, 2, 2, 2}, {1, 2, 3, 4, -1, 0, 0, 2});
  Tensor w = Make<int8_t>(DataType::kInt8, {2, 1, 2, 2}, {1, 0, 0, 2, /*ch1*/ 3, 3, 3, 3});
  Tensor b = Make<int32_t>(DataType::kInt32, {2}, {0, 1});
  std::map<std::string, Tensor> c{{"w", w}, {"b", b}};
  ir::Node n = UnitNode("QConvTranspose", 2, {2, 2}, {2, 2}, {0, 0, 0, 0});
  n.attrs["group"] = A(int64_t{2});
  std::vector<int> want = {1, 0, 2, 0,  //
                           0, 2, 0, 4,  //
                           3, 0, 4, 0,  //
                           0, 6, 0, 8,
                           // channel 1: -1*3+1, 0*3+1, 0*3+1, 2*3+1 blocks
                           -2, -2, 1, 1,  //
                           -2, -2, 1, 1,  //
                           1, 1, 7, 7,    //
                           1, 1, 7, 7};
  EXPECT_EQ(Values(RunOne(n, QConvTransposeReference(), {&x, &w, &b}, c)), want);
}

TEST(QConvReference, HandComputed1DAnd3D) {
  // 1-D: x = [1..5], w = [1, 0, -1], pad 1, stride 2: windows [0,1,2], [2,3,4], [4,5,0]:
  // 0 - 2 = -2, 2 - 4 = -2, 4 - 0 = 4.
  Tensor x = Make<int8_t>(DataType::kInt8, {1, 1, 5}, {1, 2, 3, 4, 5});
  Tensor w = Make<int8_t>(DataType::kInt8, {1, 1, 3}, {1, 0, -1});
  Tensor b = Make<int32_t>(DataType::kInt32, {1}, {0});
  std::map<std::string, Tensor> c{{"w", w}, {"b", b}};
  ir::Node n = UnitNode("QConv", 1, {3}, {2}, {1, 1});
  EXPECT_EQ(Values(RunOne(n, QConvReference(), {&x, &w, &b}, c)), (std::vector<int>{-2, -2, 4}));
  // 3-D: x = 1..8 in a 2x2x2 cube; W all ones (output 0) and the corner (0,0,0) = 1 plus the
  // corner (1,1,1) = 2 (output 1); bias 5 on output 1. Sums: 36 and 1 + 2*8 + 5 = 22.
  Tensor x3 = Make<uint8_t>(DataType::kUint8, {1, 1, 2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  Tensor w3 = Make<int8_t>(DataType::kInt8, {2, 1, 2, 2, 2},
                           {1, 1, 1, 1, 1, 1, 1, 1, /*out 1*/ 1, 0, 0, 0, 0, 0, 0, 2});
  Tensor b3 = Make<int32_t>(DataType::kInt32, {2}, {0, 5});
  c = {{"w", w3}, {"b", b3}};
  ir::Node n3 = UnitNode("QConv", 2, {2, 2, 2}, {1, 1, 1}, {0, 0, 0, 0, 0, 0});
  Tensor y3 = RunOne(n3, QConvReference(), {&x3, &w3, &b3}, c);
  EXPECT_EQ(y3.shape(), (Shape{1, 2, 1, 1, 1}));
  EXPECT_EQ(Values(y3), (std::vector<int>{36, 22}));
}

// oneDNN against the reference on random data, any rank.
struct NdCase {
  const char* name;
  const char* op;  // QConv or QConvTranspose
  Shape x;         // NCHW (channels first), rank 3..5
  int64_t m;       // output channels
  std::vector<int64_t> k, strides, pads, dil, out_pad;
  int64_t group;
  DataType in_dt;
  const char* out_type;
  const char* act;
  bool residual, nhwc;            // nhwc: 4-D tensors held NHWC on both sides
  int32_t in_zp = 0, out_zp = 0;  // asymmetric u8 input / output zero points
};

class QConvNdVsReference : public ::testing::TestWithParam<NdCase> {};

TEST_P(QConvNdVsReference, OneDnnAgreesWithReference) {
  const NdCase& cc = GetParam();
  const bool transposed = std::string(cc.op) == "QConvTranspose";
  std::mt19937 rng(11);
  ir::Node node;
  node.name = cc.name;
  node.op_type = cc.op;
  node.domain = "calib8.int8";
  node.attrs["kernel_shape"] = A(cc.k);
  node.attrs["strides"] = A(cc.strides);
  node.attrs["pads"] = A(cc.pads);
  if (!cc.dil.empty()) node.attrs["dilations"] = A(cc.dil);
  if (!cc.out_pad.empty()) node.attrs["output_padding"] = A(cc.out_pad);
  node.attrs["group"] = A(cc.group);
  SetQConvAttrs(node, cc.m, cc.out_type, cc.nhwc, cc.nhwc, cc.act);
  if (cc.in_zp) node.attrs["in_zp"] = A(int64_t{cc.in_zp});
  if (cc.out_zp) node.attrs["out_zp"] = A(int64_t{cc.out_zp});
  Shape wshape = transposed ? Shape{cc.x[1], cc.m / cc.group} : Shape{cc.m, cc.x[1] / cc.group};
  for (int64_t kk : cc.k) wshape.push_back(kk);
  std::map<std::string, Tensor> consts;
  consts["w"] = Random<int8_t>(DataType::kInt8, wshape, -127, 127, rng);
  consts["b"] = Random<int32_t>(DataType::kInt32, {cc.m}, -3000, 3000, rng);
  Tensor x = cc.in_dt == DataType::kUint8 ? Random<uint8_t>(DataType::kUint8, cc.x, 0, 255, rng)
                                          : Random<int8_t>(DataType::kInt8, cc.x, -128, 127, rng);
  if (cc.nhwc) x = ToNhwc(x);
  node.inputs = {"x", "w", "b"};
  std::vector<const Tensor*> in{&x, &consts["w"], &consts["b"]};
  auto attrs = ops::ParseConvAttrs(node, transposed);
  ASSERT_TRUE(attrs.ok());
  auto geo = transposed ? ops::ConvTransposeGeometryFor(*attrs, cc.x, wshape)
                        : ops::ConvGeometryFor(*attrs, cc.x, wshape);
  ASSERT_TRUE(geo.ok()) << geo.status().message();
  Tensor r;
  if (cc.residual) {
    node.attrs["_calib8_sum"] = A(int64_t{1});
    node.inputs.push_back("r");
    if (std::string(cc.out_type) == "f32") {
      r = Tensor(DataType::kFloat32, geo->out_shape);
      for (int64_t i = 0; i < r.numel(); ++i)
        r.data<float>()[i] = 0.01f * static_cast<float>(i % 201 - 100);
    } else {
      node.attrs["res_scale"] = A(0.07f);
      node.attrs["res_nhwc"] = A(int64_t{cc.nhwc});
      r = Random<int8_t>(DataType::kInt8, geo->out_shape, -128, 127, rng);
      if (cc.nhwc) r = ToNhwc(r);
    }
    in.push_back(&r);
  }
  int64_t fallbacks = OneDnnFallbacks();
  RunResult res = transposed
                      ? RunBoth(node, consts, in, QConvTransposeReference(), QConvTransposeOneDnn())
                      : RunBoth(node, consts, in, QConvReference(), QConvOneDnn());
  ASSERT_TRUE(res.ref.defined() && res.fast.defined());
  EXPECT_EQ(OneDnnFallbacks(), fallbacks) << cc.name << ": the oneDNN path did not run";
  Shape want = geo->out_shape;
  if (cc.nhwc && std::string(cc.out_type) != "f32")
    want = ToNhwc(Tensor(DataType::kInt8, want)).shape();
  EXPECT_EQ(res.fast.shape(), want) << cc.name;
  auto [maxd, count] = Diff(res.ref, res.fast);
  // Documented tolerance (docs/int8.md): 8-bit outputs within 1 LSB on at most 1% of elements;
  // float outputs within 1e-3.
  if (std::string(cc.out_type) == "f32") {
    EXPECT_LE(maxd, 1e-3) << cc.name;
  } else {
    EXPECT_LE(maxd, 1.0) << cc.name;
    EXPECT_LE(count, res.ref.numel() / 100 + 1) << cc.name;
  }
  RecordProperty("max_diff", std::to_string(maxd));
  RecordProperty("differing", std::to_string(count));
}

using V = std::vector<int64_t>;
constexpr DataType kS8 = DataType::kInt8, kU8 = DataType::kUint8;
// clang-format off
INSTANTIATE_TEST_SUITE_P(Cases, QConvNdVsReference, ::testing::Values(
    // ConvTranspose (2-D): PaddleOCR det's k2 s2 upsampling, overlapping k3/k4 s2 with pads and
    // output_padding, groups, depthwise, dilation, residual, float output with Sigmoid.
    //     name                          op                x shape         M   kernel    strides  pads            dilations outpad group in  out    act        res    nhwc
    NdCase{"deconv_k2s2_relu",           "QConvTranspose", {1, 16, 6, 7},  16, V{2, 2},  V{2, 2}, V{0, 0, 0, 0}, {},      {},      1,  kU8, "u8",  "Relu",    false, true},
    NdCase{"deconv_k3s2_p1_outpad1",     "QConvTranspose", {1, 8, 5, 5},   12, V{3, 3},  V{2, 2}, V{1, 1, 1, 1}, {},      V{1, 1}, 1,  kS8, "s8",  "",        false, true},
    NdCase{"deconv_k4s2_p1_groups2_nchw","QConvTranspose", {2, 8, 4, 6},   8,  V{4, 4},  V{2, 2}, V{1, 1, 1, 1}, {},      {},      2,  kU8, "s8",  "Clip",    false, false},
    NdCase{"deconv_depthwise",           "QConvTranspose", {1, 16, 5, 5},  16, V{3, 3},  V{2, 2}, V{1, 1, 1, 1}, {},      V{1, 1}, 16, kS8, "s8",  "",        false, true},
    NdCase{"deconv_dilation2",           "QConvTranspose", {1, 8, 6, 6},   8,  V{3, 3},  V{1, 1}, V{2, 2, 2, 2}, V{2, 2}, {},      1,  kS8, "s8",  "Relu",    false, true},
    // (A u8 output with an s8 residual is not offered by oneDNN 2.6's int8 deconvolution: that
    // mix runs the reference kernel, see docs/int8.md.)
    NdCase{"deconv_residual_s8",         "QConvTranspose", {1, 8, 4, 4},   16, V{2, 2},  V{2, 2}, V{0, 0, 0, 0}, {},      {},      1,  kU8, "s8",  "Relu",    true,  true},
    NdCase{"deconv_f32_sigmoid",         "QConvTranspose", {1, 16, 5, 5},  4,  V{2, 2},  V{2, 2}, V{0, 0, 0, 0}, {},      {},      1,  kU8, "f32", "Sigmoid", false, false},
    NdCase{"deconv_asym_stride",         "QConvTranspose", {1, 8, 3, 5},   8,  V{3, 2},  V{2, 1}, V{0, 1, 1, 0}, {},      V{1, 0}, 1,  kS8, "s8",  "",        false, true},
    // ConvTranspose 1-D and 3-D.
    NdCase{"deconv1d_k4s2",              "QConvTranspose", {2, 8, 9},      16, V{4},     V{2},    V{1, 1},       {},      {},      1,  kS8, "s8",  "",        false, false},
    NdCase{"deconv3d_k2s2",              "QConvTranspose", {1, 8, 3, 4, 4}, 8, V{2, 2, 2}, V{2, 2, 2}, V{0, 0, 0, 0, 0, 0}, {}, {}, 1, kU8, "u8", "Relu", false, false},
    // Conv 1-D.
    NdCase{"conv1d_k3p1",                "QConv",          {2, 16, 20},    32, V{3},     V{1},    V{1, 1},       {},      {},      1,  kU8, "u8",  "Relu",    false, false},
    NdCase{"conv1d_k5s2_groups4",        "QConv",          {1, 16, 31},    16, V{5},     V{2},    V{2, 2},       {},      {},      4,  kS8, "s8",  "",        false, false},
    NdCase{"conv1d_dil2_residual",       "QConv",          {1, 8, 17},     8,  V{3},     V{1},    V{2, 2},       V{2},    {},      1,  kS8, "s8",  "Relu",    true,  false},
    NdCase{"conv1d_depthwise_f32",       "QConv",          {1, 12, 15},    12, V{3},     V{1},    V{1, 1},       {},      {},      12, kU8, "f32", "HardSwish", false, false},
    // Conv 3-D.
    NdCase{"conv3d_k3p1",                "QConv", {1, 8, 5, 6, 6},  16, V{3, 3, 3}, V{1, 1, 1}, V{1, 1, 1, 1, 1, 1}, {}, {}, 1,  kU8, "u8", "Relu", false, false},
    NdCase{"conv3d_k133_s122",           "QConv", {2, 16, 4, 9, 9}, 8,  V{1, 3, 3}, V{1, 2, 2}, V{0, 1, 1, 0, 1, 1}, {}, {}, 1,  kS8, "s8", "",     false, false},
    NdCase{"conv3d_groups2_residual",    "QConv", {1, 8, 4, 5, 5},  8,  V{3, 3, 3}, V{1, 1, 1}, V{1, 1, 1, 1, 1, 1}, {}, {}, 2,  kS8, "s8", "",     true,  false},
    NdCase{"conv3d_depthwise",           "QConv", {1, 16, 4, 6, 6}, 16, V{3, 3, 3}, V{1, 1, 1}, V{1, 1, 1, 1, 1, 1}, {}, {}, 16, kU8, "u8", "Clip", false, false},
    // Zero points (asymmetric u8): PaddleOCR det's upsampling, an overlapping padded deconv, 1-D.
    NdCase{"zp_deconv_k2s2",             "QConvTranspose", {1, 16, 6, 7},  16, V{2, 2},  V{2, 2}, V{0, 0, 0, 0}, {},      {},      1,  kU8, "u8",  "",        false, true, 60, 130},
    NdCase{"zp_deconv_k4s2_p1_f32",      "QConvTranspose", {1, 8, 5, 5},   8,  V{4, 4},  V{2, 2}, V{1, 1, 1, 1}, {},      {},      1,  kU8, "f32", "",        false, true, 201, 0},
    NdCase{"zp_conv1d_k3p1",             "QConv",          {2, 16, 20},    32, V{3},     V{1},    V{1, 1},       {},      {},      1,  kU8, "u8",  "",        false, false, 99, 17}),
    [](const auto& info) { return std::string(info.param.name); });
// clang-format on

TEST(QConvTransposeOneDnn, NegativePadsRunTheReference) {
  // output_shape smaller than the full output with SAME_* padding gives negative pad_e: oneDNN
  // cannot express it, so the kernel must use the reference (and count it).
  std::mt19937 rng(2);
  ir::Node n = UnitNode("QConvTranspose", 4, {3, 3}, {2, 2}, {0, 0, 0, 0});
  n.attrs.erase("pads");
  n.attrs["output_shape"] = A(V{12, 12});  // full is 2*(5-1)+3 = 11: extended by one
  n.attrs["auto_pad"] = A(std::string("SAME_UPPER"));
  std::map<std::string, Tensor> c;
  c["w"] = Random<int8_t>(DataType::kInt8, {4, 4, 3, 3}, -5, 5, rng);
  c["b"] = Random<int32_t>(DataType::kInt32, {4}, -10, 10, rng);
  Tensor x = Random<int8_t>(DataType::kInt8, {1, 4, 5, 5}, -3, 3, rng);
  int64_t before = OneDnnFallbacks();
  RunResult r =
      RunBoth(n, c, {&x, &c["w"], &c["b"]}, QConvTransposeReference(), QConvTransposeOneDnn());
  ASSERT_TRUE(r.fast.defined());
  EXPECT_EQ(r.fast.shape(), (Shape{1, 4, 12, 12}));
  EXPECT_EQ(OneDnnFallbacks(), before + 1);
  EXPECT_EQ(Diff(r.ref, r.fast).second, 0);
}

// ---- Lowering end to end --------------------------------------------------------------------

Tensor RandomFloat(Shape s, std::mt19937& rng, float sd) {
  std::normal_distribution<float> nd(0.0f, sd);
  Tensor t(DataType::kFloat32, std::move(s));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = nd(rng);
  return t;
}

// x [1, 8, S...] -> Conv(k3, p1)+Relu -> ConvTranspose(k2, s2) (+Relu) -> Conv(1x1) -> y, all
// weighted layers constant: with spatial rank `sp` (1, 2 or 3).
ir::Graph ChainModel(int sp) {
  std::mt19937 rng(9);
  ir::Graph g;
  g.name = "chain";
  g.source = "test";
  g.opsets[""] = 13;
  ir::ValueInfo in{"x", DataType::kFloat32, {{1, ""}, {8, ""}}, true};
  for (int i = 0; i < sp; ++i) in.dims.push_back({6, ""});
  g.inputs.push_back(in);
  g.outputs.push_back({"y", DataType::kFloat32, {}, false});
  Shape k3{16, 8}, kt{16, 8}, k1{4, 8};
  for (int i = 0; i < sp; ++i) k3.push_back(3), kt.push_back(2), k1.push_back(1);
  g.initializers["W1"] = RandomFloat(k3, rng, 0.2f);
  g.initializers["B1"] = RandomFloat({16}, rng, 0.1f);
  g.initializers["W2"] = RandomFloat(kt, rng, 0.3f);  // [C=16, M=8, 2...]
  g.initializers["B2"] = RandomFloat({8}, rng, 0.1f);
  g.initializers["W3"] = RandomFloat(k1, rng, 0.3f);
  V twos(static_cast<size_t>(sp), 2), pads1(static_cast<size_t>(2 * sp), 1);
  ir::Node c1{"conv1", "Conv", "", {"x", "W1", "B1"}, {"c1"}, {}};
  c1.attrs["pads"] = A(pads1);
  ir::Node r1{"relu1", "Relu", "", {"c1"}, {"r1"}, {}};
  ir::Node up{"up", "ConvTranspose", "", {"r1", "W2", "B2"}, {"u"}, {}};
  up.attrs["strides"] = A(twos);
  ir::Node r2{"relu2", "Relu", "", {"u"}, {"r2"}, {}};
  ir::Node c3{"conv3", "Conv", "", {"r2", "W3"}, {"y"}, {}};
  g.nodes = {c1, r1, up, r2, c3};
  return g;
}

class LoweringNd : public ::testing::TestWithParam<int> {};

TEST_P(LoweringNd, ConvTransposeAndNdConvRunInt8CloseToFp32) {
  const int sp = GetParam();
  ir::Graph g = ChainModel(sp);
  std::mt19937 rng(4);
  Shape xs{1, 8};
  for (int i = 0; i < sp; ++i) xs.push_back(6);
  Tensor x = RandomFloat(xs, rng, 1.0f);
  table::CalibrationTable t = TableFromFp32Run(g, x);
  for (bool u : {false, true}) {
    runtime::Int8Options io;
    io.lowering.unsigned_activations = u;
    io.lowering.speed_rule = false;  // tiny layers: this test is about the kernels
    quant::Int8Plan plan;
    auto s8 = runtime::CreateInt8Session(g, t, io, {}, &plan);
    ASSERT_TRUE(s8.ok()) << s8.status().message();
    EXPECT_EQ(plan.num_int8, 3) << quant::PlanToText(plan);
    EXPECT_EQ(plan.num_fp32, 0) << quant::PlanToText(plan);
    EXPECT_EQ(plan.nodes[1].op_type, "ConvTranspose+Relu");
    EXPECT_EQ(plan.num_quantize, 1);  // only the graph input: the chain stays 8-bit
    auto fp = runtime::CreateSession(g);
    ASSERT_TRUE(fp.ok());
    auto y32 = (*fp)->Run({{"x", x}});
    auto y8 = (*s8)->Run({{"x", x}});
    ASSERT_TRUE(y8.ok()) << y8.status().message();
    const Tensor& a = y32->at("y");
    const Tensor& b = y8->at("y");
    ASSERT_EQ(a.shape(), b.shape());
    double amax = 0, err = 0, se = 0, ss = 0;
    for (int64_t i = 0; i < a.numel(); ++i) {
      double av = a.data<float>()[i], bv = b.data<float>()[i];
      amax = std::max(amax, std::fabs(av));
      err = std::max(err, std::fabs(av - bv));
      se += (av - bv) * (av - bv);
      ss += av * av;
    }
    EXPECT_LT(err, 0.05 * amax) << "spatial " << sp << " unsigned " << u;
    EXPECT_GT(10 * std::log10(ss / std::max(se, 1e-30)), 30.0) << "SQNR, spatial " << sp;
    // The reference flavour computes the same plan within 1 LSB of the output.
    Tensor yr = RunPlanReference(plan, x);
    ASSERT_TRUE(yr.defined());
    for (int64_t i = 0; i < b.numel(); ++i)
      EXPECT_NEAR(yr.data<float>()[i], b.data<float>()[i], 0.02 * amax + 1e-6);
  }
}

INSTANTIATE_TEST_SUITE_P(Spatial, LoweringNd, ::testing::Values(1, 2, 3),
                         [](const auto& info) { return std::to_string(info.param) + "d"; });

TEST(LoweringNd, ConvTransposeWeightScalesPerOutputChannelWithGroups) {
  // W [C=4, M/G=1, 1, 1] with 2 groups gives M = 2 outputs: output 0 reads channels 0-1
  // (weights 0.5, -2), output 1 channels 2-3 (weights 0.25, 1). Per-output-channel scales:
  // max|W| / 127 over the channels of each group's slice: 2/127 and 1/127.
  ir::Graph g;
  g.name = "g";
  g.opsets[""] = 13;
  g.inputs.push_back({"x", DataType::kFloat32, {{1, ""}, {4, ""}, {3, ""}, {3, ""}}, true});
  g.outputs.push_back({"y", DataType::kFloat32, {}, false});
  Tensor w(DataType::kFloat32, {4, 1, 1, 1});
  float wv[] = {0.5f, -2.0f, 0.25f, 1.0f};
  for (int i = 0; i < 4; ++i) w.data<float>()[i] = wv[i];
  g.initializers["W"] = w;
  ir::Node up{"up", "ConvTranspose", "", {"x", "W"}, {"y"}, {}};
  up.attrs["group"] = A(int64_t{2});
  g.nodes = {up};
  std::mt19937 rng(1);
  Tensor x = RandomFloat({1, 4, 3, 3}, rng, 1.0f);
  quant::LoweringOptions o;
  o.speed_rule = false;
  auto p = quant::LowerToInt8(g, TableFromFp32Run(g, x), o);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->nodes[0].precision, quant::Precision::kInt8) << quant::PlanToText(*p);
  const ir::Node* q = nullptr;
  for (const auto& n : p->graph.nodes)
    if (n.op_type == "QConvTranspose") q = &n;
  ASSERT_NE(q, nullptr);
  std::vector<float> s = q->GetFloats("w_scales");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_FLOAT_EQ(s[0], 2.0f / 127.0f);
  EXPECT_FLOAT_EQ(s[1], 1.0f / 127.0f);
  const Tensor& wq = p->graph.initializers.at("up:weights_s8");
  EXPECT_EQ(wq.shape(), (Shape{4, 1, 1, 1}));
  // 0.5 / (2/127) = 31.75 -> 32; -2 -> -127; 0.25 / (1/127) = 31.75 -> 32; 1 -> 127.
  EXPECT_EQ(Values(wq), (std::vector<int>{32, -127, 32, 127}));
}

}  // namespace
}  // namespace calib8::int8
