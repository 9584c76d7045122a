// ops/conv_matmul_test.cc — unit tests for the compute-heavy kernels: each case builds an
// ir::Node by hand, runs the reference and the oneDNN kernel on the same random inputs (fixed
// seed) and requires max |fast - ref| <= 1e-4 * max |ref|. Covers Conv (groups, depthwise,
// stride/dilation/pads/auto_pad, 1-D/3-D), ConvTranspose (output_padding, output_shape),
// fused activation + residual sum, Gemm transposes/C broadcast, batched broadcast MatMul, pools.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <sstream>

#include "ops/kernels.h"

namespace calib8::ops {
namespace {

Tensor Random(const Shape& shape, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  Tensor t(DataType::kFloat32, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = dist(rng);
  return t;
}

const auto Ints = &ir::Attribute::Ints;
const auto Int = &ir::Attribute::Int;
const auto Float = &ir::Attribute::Float;
const auto Str = &ir::Attribute::String;

// One test configuration: a node, its inputs (undefined = omitted) and which inputs are
// initializers (seen by the factory through KernelInit::constant).
struct Case {
  std::string desc;
  ir::Node node;
  std::vector<Tensor> inputs;
  std::set<size_t> constants;
};

Case MakeCase(const std::string& op, const std::string& desc, std::vector<Tensor> inputs,
              std::map<std::string, ir::Attribute> attrs, std::set<size_t> constants = {}) {
  Case c;
  c.desc = op + " " + desc;
  c.node.name = "n";
  c.node.op_type = op;
  for (size_t i = 0; i < inputs.size(); ++i)
    c.node.inputs.push_back(inputs[i].defined() ? "in" + std::to_string(i) : "");
  c.node.outputs = {"y"};
  c.node.attrs = std::move(attrs);
  c.inputs = std::move(inputs);
  c.constants = std::move(constants);
  return c;
}

// Runs `factory` on the case (twice, to exercise cached plans); returns output 0.
Result<Tensor> RunCase(const exec::KernelFactory& factory, const Case& c) {
  auto constant = [&c](const std::string& name) -> const Tensor* {
    for (size_t i = 0; i < c.inputs.size(); ++i)
      if (c.node.inputs[i] == name && c.constants.count(i)) return &c.inputs[i];
    return nullptr;
  };
  exec::KernelInit init{c.node, 17, constant, 1};
  CALIB8_ASSIGN_OR_RETURN(auto kernel, factory(init));
  Tensor out;
  for (int rep = 0; rep < 2; ++rep) {
    exec::KernelContext ctx{c.node, {}, {}, 1};
    for (const Tensor& t : c.inputs) ctx.inputs.push_back(t.defined() ? &t : nullptr);
    ctx.outputs.resize(1);
    CALIB8_RETURN_IF_ERROR(kernel->Run(ctx));
    out = ctx.outputs[0];
  }
  return out;
}

void ExpectSame(const exec::KernelFactory& ref, const exec::KernelFactory& fast, const Case& c,
                const Shape& want_shape = {}) {
  SCOPED_TRACE(c.desc);
  auto r = RunCase(ref, c);
  ASSERT_TRUE(r.ok()) << c.desc << ": reference failed: " << r.status().message();
  auto f = RunCase(fast, c);
  ASSERT_TRUE(f.ok()) << c.desc << ": fast failed: " << f.status().message();
  ASSERT_EQ(r->shape(), f->shape()) << c.desc;
  if (!want_shape.empty()) {
    EXPECT_EQ(r->shape(), want_shape) << c.desc;
  }
  double max_ref = 0.0, max_diff = 0.0;
  int64_t worst = 0;
  for (int64_t i = 0; i < r->numel(); ++i) {
    double a = r->data<float>()[i], b = f->data<float>()[i];
    max_ref = std::max(max_ref, std::fabs(a));
    if (!(std::fabs(a - b) <= max_diff)) max_diff = std::fabs(a - b), worst = i;
  }
  EXPECT_LE(max_diff, 1e-4 * std::max(max_ref, 1e-6))
      << c.desc << ": output " << ShapeToString(r->shape()) << ", element " << worst << ": ref "
      << r->data<float>()[worst] << " fast " << f->data<float>()[worst];
}

// "+affine": a fused scalar affine after the activation (PaddleOCR's Mul/Add by constants).
const char* kActs[] = {"Relu",    "LeakyRelu", "Clip",        "HardSwish",       "HardSigmoid",
                       "Sigmoid", "Tanh",      "Relu+affine", "HardSwish+affine"};

std::map<std::string, ir::Attribute> WithAct(std::map<std::string, ir::Attribute> attrs,
                                             std::string act, bool sum) {
  const std::string kAffine = "+affine";
  if (act.size() >= kAffine.size() &&
      act.compare(act.size() - kAffine.size(), kAffine.size(), kAffine) == 0) {
    act.resize(act.size() - kAffine.size());
    attrs["_calib8_post_mul"] = Float(-0.75f);
    attrs["_calib8_post_add"] = Float(0.3f);
  }
  if (!act.empty()) {
    attrs["_calib8_act"] = Str(act);
    if (act == "LeakyRelu") attrs["_calib8_act_alpha"] = Float(0.1f);
    if (act == "Clip") attrs["_calib8_act_alpha"] = Float(-0.5f);
    if (act == "Clip") attrs["_calib8_act_beta"] = Float(0.7f);
    if (act == "HardSigmoid") attrs["_calib8_act_alpha"] = Float(0.3f);
    if (act == "HardSigmoid") attrs["_calib8_act_beta"] = Float(0.4f);
  }
  if (sum) attrs["_calib8_sum"] = Int(1);
  return attrs;
}

// One Conv case: input and weight shapes, attributes, whether it has a bias and a constant weight,
// and the output shape ONNX defines for it.
struct ConvCfg {
  std::string desc;
  Shape x, w;
  std::map<std::string, ir::Attribute> attrs;
  bool bias, const_w;
  Shape out;
};

// The Conv cases the oneDNN and direct kernels must match the reference twin on.
// budget: data table
std::vector<ConvCfg> ConvConfigs() {
  return {
      {"2-D k3 pad1",
       {1, 3, 9, 9},
       {4, 3, 3, 3},
       {{"pads", Ints({1, 1, 1, 1})}},
       true,
       true,
       {1, 4, 9, 9}},
      {"group 2 stride 2 asym pads",
       {1, 4, 10, 11},
       {6, 2, 3, 3},
       {{"group", Int(2)}, {"strides", Ints({2, 2})}, {"pads", Ints({0, 1, 1, 0})}},
       true,
       true,
       {1, 6, 5, 5}},
      {"depthwise dilation 2",
       {1, 8, 12, 12},
       {8, 1, 3, 3},
       {{"group", Int(8)}, {"dilations", Ints({2, 2})}, {"pads", Ints({2, 2, 2, 2})}},
       true,
       true,
       {1, 8, 12, 12}},
      {"depthwise stride 2 SAME_UPPER no bias",
       {1, 16, 15, 15},
       {16, 1, 5, 5},
       {{"group", Int(16)}, {"strides", Ints({2, 2})}, {"auto_pad", Str("SAME_UPPER")}},
       false,
       true,
       {1, 16, 8, 8}},
      {"1-D SAME_UPPER stride 2",
       {1, 3, 17},
       {5, 3, 4},
       {{"strides", Ints({2})}, {"auto_pad", Str("SAME_UPPER")}},
       true,
       true,
       {1, 5, 9}},
      {"3-D SAME_LOWER stride 2",
       {1, 2, 5, 6, 7},
       {3, 2, 3, 3, 3},
       {{"strides", Ints({2, 2, 2})}, {"auto_pad", Str("SAME_LOWER")}},
       true,
       true,
       {1, 3, 3, 3, 4}},
      {"batch 2 VALID stride 3 runtime W",
       {2, 5, 13, 10},
       {7, 5, 2, 3},
       {{"strides", Ints({3, 3})}, {"auto_pad", Str("VALID")}},
       true,
       false,
       {2, 7, 4, 3}},
      {"1x1 wide", {1, 64, 14, 14}, {128, 64, 1, 1}, {}, true, true, {1, 128, 14, 14}},
      {"k7 s2 p3 first layer",
       {1, 3, 32, 32},
       {16, 3, 7, 7},
       {{"strides", Ints({2, 2})}, {"pads", Ints({3, 3, 3, 3})}},
       false,
       true,
       {1, 16, 16, 16}},
      {"1x1 batch 2 no bias (pointwise matmul)",
       {2, 24, 7, 9},
       {40, 24, 1, 1},
       {},
       false,
       true,
       {2, 40, 7, 9}},
      {"1x1 stride 2 (oneDNN conv)",
       {1, 16, 9, 9},
       {8, 16, 1, 1},
       {{"strides", Ints({2, 2})}},
       true,
       true,
       {1, 8, 5, 5}},
      {"wide depthwise s1 p1 (direct NCHW)",
       {2, 5, 9, 64},
       {5, 1, 3, 3},
       {{"group", Int(5)}, {"pads", Ints({1, 1, 1, 1})}},
       true,
       true,
       {2, 5, 9, 64}},
      {"wide depthwise s2 asym pads (direct NCHW)",
       {1, 6, 11, 129},
       {6, 1, 3, 3},
       {{"group", Int(6)}, {"strides", Ints({2, 2})}, {"pads", Ints({0, 1, 1, 0})}},
       true,
       true,
       {1, 6, 5, 64}},
      {"wide depthwise multiplier 2 dilation 2 k5 (direct NCHW)",
       {1, 3, 8, 70},
       {6, 1, 3, 5},
       {{"group", Int(3)}, {"dilations", Ints({2, 2})}, {"pads", Ints({2, 4, 2, 4})}},
       false,
       false,
       {1, 6, 8, 70}},
      {"depthwise unit stride asym pads (direct NCHW)",
       {1, 3, 9, 40},
       {3, 1, 3, 3},
       {{"group", Int(3)}, {"pads", Ints({0, 2, 1, 0})}},
       true,
       true,
       {1, 3, 8, 40}},
      {"1-D wide depthwise SAME_UPPER s3 (direct NCHW)",
       {1, 4, 200},
       {4, 1, 5},
       {{"group", Int(4)}, {"strides", Ints({3})}, {"auto_pad", Str("SAME_UPPER")}},
       true,
       true,
       {1, 4, 67}},
      {"very wide depthwise row chunks (direct NCHW)",
       {1, 2, 3, 2100},
       {2, 1, 3, 3},
       {{"group", Int(2)}, {"pads", Ints({1, 1, 1, 1})}},
       true,
       true,
       {1, 2, 3, 2100}},
      {"grouped runtime W dilation",
       {1, 6, 9, 9},
       {9, 2, 3, 3},
       {{"group", Int(3)}, {"dilations", Ints({1, 2})}, {"pads", Ints({1, 2, 1, 2})}},
       true,
       false,
       {1, 9, 9, 9}},
  };
}

TEST(ConvKernels, ReferenceMatchesOneDnn) {
  std::mt19937 rng(42);
  for (const auto& cfg : ConvConfigs()) {
    std::vector<Tensor> in = {Random(cfg.x, rng), Random(cfg.w, rng)};
    if (cfg.bias) in.push_back(Random({cfg.w[0]}, rng));
    std::set<size_t> consts;
    if (cfg.const_w) consts = {1, 2};
    ExpectSame(ConvReference(), ConvOneDnn(), MakeCase("Conv", cfg.desc, in, cfg.attrs, consts),
               cfg.out);
  }
}

TEST(ConvKernels, FusedActivationAndSum) {
  std::mt19937 rng(7);
  Shape x = {1, 16, 12, 12}, w = {16, 16, 3, 3}, y = {1, 16, 12, 12};
  for (std::string act : {"", "Relu", "LeakyRelu", "Clip", "HardSwish", "HardSigmoid", "Sigmoid",
                          "Tanh", "+affine", "HardSwish+affine"}) {
    for (bool sum : {false, true}) {
      for (bool bias : {false, true}) {
        std::vector<Tensor> in = {Random(x, rng), Random(w, rng),
                                  bias ? Random({16}, rng) : Tensor()};
        if (sum) in.push_back(Random(y, rng));
        std::string desc = "k3 pad1 act '" + act + "' sum " + std::to_string(sum) + " bias " +
                           std::to_string(bias);
        auto attrs = WithAct({{"pads", Ints({1, 1, 1, 1})}}, act, sum);
        ExpectSame(ConvReference(), ConvOneDnn(), MakeCase("Conv", desc, in, attrs, {1, 2}), y);
      }
    }
  }
}

TEST(ConvKernels, FusedEpilogueOnEveryPath) {
  // 1x1 (matmul), wide depthwise (direct loops) and narrow depthwise (oneDNN conv), each with
  // every activation, with and without residual.
  std::mt19937 rng(13);
  struct Path {
    std::string desc;
    Shape x, w, y;
    std::map<std::string, ir::Attribute> attrs;
  };
  std::vector<Path> paths = {
      {"1x1", {1, 8, 6, 10}, {12, 8, 1, 1}, {1, 12, 6, 10}, {}},
      {"wide depthwise",
       {1, 4, 5, 64},
       {4, 1, 3, 3},
       {1, 4, 5, 64},
       {{"group", Int(4)}, {"pads", Ints({1, 1, 1, 1})}}},
      {"narrow depthwise",
       {1, 16, 7, 7},
       {16, 1, 3, 3},
       {1, 16, 7, 7},
       {{"group", Int(16)}, {"pads", Ints({1, 1, 1, 1})}}},
  };
  for (const auto& path : paths)
    for (const char* act : kActs)
      for (bool sum : {false, true}) {
        std::vector<Tensor> in = {Random(path.x, rng), Random(path.w, rng),
                                  Random({path.w[0]}, rng)};
        if (sum) in.push_back(Random(path.y, rng));
        std::string desc = path.desc + " act " + act + " sum " + std::to_string(sum);
        ExpectSame(ConvReference(), ConvOneDnn(),
                   MakeCase("Conv", desc, in, WithAct(path.attrs, act, sum), {1, 2}), path.y);
      }
}

TEST(ConvKernels, TransposedReferenceMatchesOneDnn) {
  std::mt19937 rng(3);
  struct Cfg {
    std::string desc;
    Shape x, w;
    std::map<std::string, ir::Attribute> attrs;
    Shape out;
  };
  std::vector<Cfg> cfgs = {
      {"k3 s2 output_padding 1",
       {1, 4, 5, 6},
       {4, 3, 3, 3},
       {{"strides", Ints({2, 2})}, {"output_padding", Ints({1, 1})}},
       {1, 3, 12, 14}},
      {"group 2 dilation 2 pads",
       {1, 4, 5, 5},
       {4, 3, 3, 3},
       {{"group", Int(2)}, {"dilations", Ints({2, 2})}, {"pads", Ints({1, 0, 2, 1})}},
       {1, 6, 6, 8}},
      {"output_shape SAME_UPPER s2",
       {1, 2, 4, 4},
       {2, 3, 3, 3},
       {{"strides", Ints({2, 2})}, {"auto_pad", Str("SAME_UPPER")}},
       {1, 3, 8, 8}},
      {"explicit output_shape",
       {1, 2, 3, 3},
       {2, 2, 3, 3},
       {{"strides", Ints({3, 2})}, {"output_shape", Ints({10, 8})}},
       {1, 2, 10, 8}},
      {"1-D s2 pads",
       {2, 3, 7},
       {3, 4, 4},
       {{"strides", Ints({2})}, {"pads", Ints({1, 2})}},
       {2, 4, 13}},
      {"16 -> 32 k3 s2 p1 output_padding 1 (oneDNN deconvolution)",
       {1, 16, 6, 7},
       {16, 32, 3, 3},
       {{"strides", Ints({2, 2})}, {"pads", Ints({1, 1, 1, 1})}, {"output_padding", Ints({1, 1})}},
       {1, 32, 12, 14}},
      {"32 -> 16 k2 s2 batch 2 (matmul + col2im)",
       {2, 32, 5, 6},
       {32, 16, 2, 2},
       {{"strides", Ints({2, 2})}},
       {2, 16, 10, 12}},
      {"24 -> 1 k2 s2 (matmul + col2im)",
       {1, 24, 8, 8},
       {24, 1, 2, 2},
       {{"strides", Ints({2, 2})}},
       {1, 1, 16, 16}},
      {"depthwise-like group 4 s2",
       {1, 4, 6, 6},
       {4, 1, 4, 4},
       {{"group", Int(4)}, {"strides", Ints({2, 2})}, {"pads", Ints({1, 1, 1, 1})}},
       {1, 4, 12, 12}},
  };
  for (const auto& cfg : cfgs) {
    std::vector<Tensor> in = {Random(cfg.x, rng), Random(cfg.w, rng), Random({cfg.out[1]}, rng)};
    ExpectSame(ConvTransposeReference(), ConvTransposeOneDnn(),
               MakeCase("ConvTranspose", cfg.desc, in, cfg.attrs, {1, 2}), cfg.out);
  }
  // Fused epilogue, runtime weights.
  Shape y = {1, 3, 12, 14};
  for (const char* act : kActs) {
    std::vector<Tensor> in = {Random({1, 4, 5, 6}, rng), Random({4, 3, 3, 3}, rng), Tensor(),
                              Random(y, rng)};
    auto attrs = WithAct({{"strides", Ints({2, 2})}, {"output_padding", Ints({1, 1})}}, act, true);
    ExpectSame(ConvTransposeReference(), ConvTransposeOneDnn(),
               MakeCase("ConvTranspose", std::string("fused sum + ") + act, in, attrs), y);
  }
}

TEST(MatMulKernels, ReferenceMatchesOneDnn) {
  std::mt19937 rng(11);
  struct Cfg {
    std::string desc;
    Shape a, b, out;
    bool const_b;
  };
  std::vector<Cfg> cfgs = {
      {"2-D", {7, 9}, {9, 5}, {7, 5}, false},
      {"2-D constant B", {1, 64}, {64, 100}, {1, 100}, true},
      {"batched broadcast", {2, 1, 3, 4, 5}, {3, 5, 6}, {2, 1, 3, 4, 6}, false},
      {"batch broadcast both", {2, 1, 4, 5}, {1, 3, 5, 6}, {2, 3, 4, 6}, false},
      {"3-D x 2-D constant", {4, 6, 8}, {8, 3}, {4, 6, 3}, true},
      {"1-D x 2-D", {8}, {8, 3}, {3}, false},
      {"2-D x 1-D", {5, 8}, {8}, {5}, false},
      {"1-D x 3-D", {8}, {2, 8, 3}, {2, 3}, false},
  };
  for (const auto& cfg : cfgs) {
    std::vector<Tensor> in = {Random(cfg.a, rng), Random(cfg.b, rng)};
    std::set<size_t> consts;
    if (cfg.const_b) consts = {1};
    ExpectSame(MatMulReference(), MatMulOneDnn(), MakeCase("MatMul", cfg.desc, in, {}, consts),
               cfg.out);
  }
  for (const char* act : kActs) {
    for (bool sum : {false, true}) {
      Shape out = {2, 3, 4, 6};
      std::vector<Tensor> in = {Random({2, 3, 4, 5}, rng), Random({5, 6}, rng)};
      if (sum) in.push_back(Random(out, rng));
      std::string desc = std::string("fused ") + act + " sum " + std::to_string(sum);
      ExpectSame(MatMulReference(), MatMulOneDnn(),
                 MakeCase("MatMul", desc, in, WithAct({}, act, sum), {1}), out);
    }
  }
}

TEST(GemmKernels, ReferenceMatchesOneDnn) {
  std::mt19937 rng(5);
  const int64_t M = 6, K = 10, N = 7;
  std::vector<Shape> c_shapes = {{}, {N}, {1, N}, {M, 1}, {M, N}, {1}};
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb)
      for (size_t ci = 0; ci <= c_shapes.size(); ++ci)  // ci == size(): no C
        for (float alpha : {1.0f, 0.5f})
          for (float beta : {1.0f, 2.0f})
            for (bool const_b : {false, true}) {
              std::vector<Tensor> in = {Random(ta ? Shape{K, M} : Shape{M, K}, rng),
                                        Random(tb ? Shape{N, K} : Shape{K, N}, rng)};
              if (ci < c_shapes.size()) in.push_back(Random(c_shapes[ci], rng));
              std::ostringstream desc;
              desc << "transA " << ta << " transB " << tb << " C "
                   << (ci < c_shapes.size() ? ShapeToString(c_shapes[ci]) : "none") << " alpha "
                   << alpha << " beta " << beta << " const B " << const_b;
              std::map<std::string, ir::Attribute> attrs = {{"transA", Int(ta)},
                                                            {"transB", Int(tb)},
                                                            {"alpha", Float(alpha)},
                                                            {"beta", Float(beta)}};
              std::set<size_t> consts;
              if (const_b) consts = {1, 2};
              ExpectSame(GemmReference(), GemmOneDnn(),
                         MakeCase("Gemm", desc.str(), in, attrs, consts), {M, N});
            }
  for (const char* act : kActs) {
    for (int c_kind = 0; c_kind < 3; ++c_kind) {  // no C, C [N], C [M, N]
      std::vector<Tensor> in = {Random({1, 32}, rng), Random({20, 32}, rng)};
      if (c_kind == 0) in.push_back(Tensor());
      if (c_kind == 1) in.push_back(Random({20}, rng));
      if (c_kind == 2) in.push_back(Random({1, 20}, rng));
      in.push_back(Random({1, 20}, rng));
      std::string desc = std::string("fused ") + act + " + sum, C kind " + std::to_string(c_kind);
      ExpectSame(GemmReference(), GemmOneDnn(),
                 MakeCase("Gemm", desc, in, WithAct({{"transB", Int(1)}}, act, true), {1, 2}),
                 {1, 20});
    }
  }
}

TEST(PoolKernels, ReferenceMatchesOneDnn) {
  std::mt19937 rng(9);
  struct Cfg {
    std::string op, desc;
    Shape x;
    std::map<std::string, ir::Attribute> attrs;
    Shape out;
  };
  std::vector<Cfg> cfgs = {
      {"MaxPool",
       "k3 s2 p1",
       {1, 8, 16, 16},
       {{"kernel_shape", Ints({3, 3})}, {"strides", Ints({2, 2})}, {"pads", Ints({1, 1, 1, 1})}},
       {1, 8, 8, 8}},
      {"MaxPool",
       "ceil_mode",
       {1, 3, 9, 10},
       {{"kernel_shape", Ints({3, 3})}, {"strides", Ints({2, 2})}, {"ceil_mode", Int(1)}},
       {1, 3, 4, 5}},
      {"MaxPool",
       "dilations",
       {1, 2, 11, 11},
       {{"kernel_shape", Ints({2, 3})}, {"dilations", Ints({2, 2})}, {"strides", Ints({1, 2})}},
       {1, 2, 9, 4}},
      {"MaxPool",
       "1-D SAME_LOWER",
       {2, 3, 15},
       {{"kernel_shape", Ints({4})}, {"strides", Ints({2})}, {"auto_pad", Str("SAME_LOWER")}},
       {2, 3, 8}},
      {"MaxPool",
       "3-D",
       {1, 2, 6, 6, 6},
       {{"kernel_shape", Ints({2, 2, 2})}, {"strides", Ints({2, 2, 2})}},
       {1, 2, 3, 3, 3}},
      {"AveragePool",
       "exclude pad",
       {1, 4, 10, 10},
       {{"kernel_shape", Ints({3, 3})}, {"pads", Ints({1, 1, 1, 1})}},
       {1, 4, 10, 10}},
      {"AveragePool",
       "include pad",
       {1, 4, 10, 10},
       {{"kernel_shape", Ints({3, 3})},
        {"pads", Ints({1, 0, 1, 2})},
        {"count_include_pad", Int(1)}},
       {1, 4, 10, 10}},
      {"AveragePool",
       "ceil_mode include pad",
       {1, 2, 10, 10},
       {{"kernel_shape", Ints({3, 3})},
        {"strides", Ints({2, 2})},
        {"pads", Ints({1, 1, 1, 1})},
        {"ceil_mode", Int(1)},
        {"count_include_pad", Int(1)}},
       {1, 2, 6, 6}},
      {"AveragePool",
       "ceil_mode exclude pad",
       {1, 2, 10, 10},
       {{"kernel_shape", Ints({3, 3})},
        {"strides", Ints({2, 2})},
        {"pads", Ints({1, 1, 1, 1})},
        {"ceil_mode", Int(1)}},
       {1, 2, 6, 6}},
      {"MaxPool",
       "ceil_mode drops a window in the pad",
       {1, 2, 9, 9},
       {{"kernel_shape", Ints({2, 2})},
        {"strides", Ints({2, 2})},
        {"pads", Ints({1, 1, 1, 1})},
        {"ceil_mode", Int(1)}},
       {1, 2, 5, 5}},
      {"AveragePool",
       "ceil_mode SAME_UPPER",
       {1, 2, 9, 9},
       {{"kernel_shape", Ints({3, 3})},
        {"strides", Ints({2, 2})},
        {"auto_pad", Str("SAME_UPPER")},
        {"ceil_mode", Int(1)}},
       {1, 2, 5, 5}},
      {"GlobalAveragePool", "", {2, 16, 7, 7}, {}, {2, 16, 1, 1}},
      {"GlobalMaxPool", "", {1, 16, 5, 6}, {}, {1, 16, 1, 1}},
      {"GlobalAveragePool", "3-D", {1, 4, 3, 4, 5}, {}, {1, 4, 1, 1, 1}},
  };
  for (const auto& cfg : cfgs) {
    std::vector<Tensor> in = {Random(cfg.x, rng)};
    ExpectSame(PoolReference(cfg.op), PoolOneDnn(cfg.op), MakeCase(cfg.op, cfg.desc, in, cfg.attrs),
               cfg.out);
  }
}

TEST(ConvKernels, ShapeChangeBetweenRuns) {
  // One kernel instance sees two input shapes: plans are cached per shape.
  std::mt19937 rng(1);
  Case c = MakeCase("Conv", "two shapes", {Random({1, 3, 8, 8}, rng), Random({4, 3, 3, 3}, rng)},
                    {{"pads", Ints({1, 1, 1, 1})}}, {1});
  Case c2 = c;
  c2.inputs[0] = Random({2, 3, 5, 7}, rng);
  auto constant = [&c](const std::string& name) -> const Tensor* {
    return name == "in1" ? &c.inputs[1] : nullptr;
  };
  exec::KernelInit init{c.node, 17, constant, 1};
  auto fast = ConvOneDnn()(init);
  auto ref = ConvReference()(init);
  ASSERT_TRUE(fast.ok() && ref.ok());
  for (const Case* k : {&c, &c2, &c}) {
    Tensor outs[2];
    for (int flavor = 0; flavor < 2; ++flavor) {
      exec::KernelContext ctx{k->node, {&k->inputs[0], &k->inputs[1]}, {}, 1};
      ctx.outputs.resize(1);
      Status st = (flavor ? *ref : *fast)->Run(ctx);
      ASSERT_TRUE(st.ok()) << st.message();
      outs[flavor] = ctx.outputs[0];
    }
    ASSERT_EQ(outs[0].shape(), outs[1].shape());
    for (int64_t i = 0; i < outs[0].numel(); ++i)
      ASSERT_NEAR(outs[0].data<float>()[i], outs[1].data<float>()[i], 1e-4)
          << ShapeToString(k->inputs[0].shape());
  }
}

TEST(ConvKernels, ClearErrors) {
  std::mt19937 rng(2);
  Case c = MakeCase("Conv", "channel mismatch",
                    {Random({1, 3, 8, 8}, rng), Random({4, 2, 3, 3}, rng)}, {});
  for (const auto& f : {ConvReference(), ConvOneDnn()}) {
    auto r = RunCase(f, c);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("channels"), std::string::npos) << r.status().message();
  }
  Case bad = MakeCase("Conv", "bad act", {Random({1, 3, 8, 8}, rng), Random({4, 3, 3, 3}, rng)},
                      {{"_calib8_act", Str("Gelu")}});
  auto r = RunCase(ConvOneDnn(), bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("Gelu"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace calib8::ops
