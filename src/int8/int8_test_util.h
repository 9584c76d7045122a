// int8/int8_test_util.h — helpers shared by the INT8 kernel tests (int8_test.cc,
// qconv_nd_test.cc): attribute builders, random 8-bit tensors, running a reference and a fast
// kernel factory on the same node and inputs, and their difference in output units.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "int8/qkernels.h"
#include "runtime/engine.h"
#include "runtime/int8_engine.h"
#include "table/calibration_table.h"

namespace calib8::int8::test_util {

// A(value): the ir::Attribute of that type, one overloaded name for the tests.
inline ir::Attribute A(int64_t i) { return ir::Attribute::Int(i); }
inline ir::Attribute A(float f) { return ir::Attribute::Float(f); }
inline ir::Attribute A(std::string s) { return ir::Attribute::String(std::move(s)); }
inline ir::Attribute A(std::vector<int64_t> v) { return ir::Attribute::Ints(std::move(v)); }
inline ir::Attribute A(std::vector<float> v) { return ir::Attribute::Floats(std::move(v)); }

template <typename T>
Tensor Random(DataType dt, Shape s, int lo, int hi, std::mt19937& rng) {
  Tensor t(dt, std::move(s));
  std::uniform_int_distribution<int> d(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<T>()[i] = static_cast<T>(d(rng));
  return t;
}

// The quantization attributes of a test QConv/QConvTranspose with m output channels: input scale
// 0.05, weight scales 0.002 + 0.0005 (c % 7), output scale 0.11, the given output type, layouts
// and fused activation (Clip: [0, 6]).
inline void SetQConvAttrs(ir::Node& node, int64_t m, const char* out_type, bool in_nhwc,
                          bool out_nhwc, const char* act) {
  std::vector<float> ws;
  for (int64_t i = 0; i < m; ++i) ws.push_back(0.002f + 0.0005f * static_cast<float>(i % 7));
  node.attrs["in_scale"] = A(0.05f);
  node.attrs["w_scales"] = A(ws);
  node.attrs["out_type"] = A(std::string(out_type));
  node.attrs["out_scale"] = A(0.11f);
  node.attrs["in_nhwc"] = A(int64_t{in_nhwc});
  node.attrs["out_nhwc"] = A(int64_t{out_nhwc});
  if (act[0]) node.attrs["_calib8_act"] = A(std::string(act));
  if (std::string(act) == "Clip") {
    node.attrs["_calib8_act_alpha"] = A(0.0f);
    node.attrs["_calib8_act_beta"] = A(6.0f);
  }
}

struct RunResult {
  Tensor ref, fast;
};

// Runs `node` with the kernels of both factories (constants: initializers the kernels may pack).
inline RunResult RunBoth(const ir::Node& node, const std::map<std::string, Tensor>& consts,
                         std::vector<const Tensor*> inputs, exec::KernelFactory ref,
                         exec::KernelFactory fast) {
  auto constant = [&](const std::string& n) -> const Tensor* {
    auto it = consts.find(n);
    return it == consts.end() ? nullptr : &it->second;
  };
  exec::KernelInit init{node, 13, constant, 1};
  RunResult r;
  for (int k = 0; k < 2; ++k) {
    auto kern = (k == 0 ? ref : fast)(init);
    EXPECT_TRUE(kern.ok()) << kern.status().message();
    if (!kern.ok()) return r;
    exec::KernelContext ctx{node, inputs, {}, 1};
    ctx.outputs.resize(1);
    Status s = (*kern)->Run(ctx);
    EXPECT_TRUE(s.ok()) << s.message();
    (k == 0 ? r.ref : r.fast) = ctx.outputs[0];
  }
  return r;
}

// Max |ref - fast| in output units (LSB for 8-bit) and the number of differing elements.
inline std::pair<double, int64_t> Diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.dtype(), b.dtype());
  EXPECT_EQ(a.shape(), b.shape());
  double m = 0;
  int64_t n = 0;
  for (int64_t i = 0; i < a.numel() && a.shape() == b.shape(); ++i) {
    double d = std::fabs(static_cast<double>(LoadAsFloat(a, i)) - LoadAsFloat(b, i));
    if (d > 0) ++n;
    m = std::max(m, d);
  }
  return {m, n};
}

// amax of every tensor of the FP32 run on input "x", as a table.
inline table::CalibrationTable TableFromFp32Run(const ir::Graph& g, const Tensor& x) {
  class Amax : public exec::TensorObserver {
   public:
    std::map<std::string, float> amax;
    void OnTensor(const std::string& name, const ir::Node*, const Tensor& v) override {
      float m = 0;
      for (int64_t i = 0; i < v.numel(); ++i) m = std::max(m, std::fabs(v.data<float>()[i]));
      amax[name] = m;
    }
  } obs;
  exec::SessionOptions so;
  so.fuse_epilogues = false;
  auto s = runtime::CreateSession(g, so);
  EXPECT_TRUE(s.ok());
  auto out = (*s)->Run({{"x", x}}, &obs);
  EXPECT_TRUE(out.ok());
  table::CalibrationTable t;
  for (const auto& [name, a] : obs.amax) {
    table::TableEntry e;
    e.name = name;
    e.scale_bits = {table::ScaleBitsFromAmax(a)};
    t.Put(e);
  }
  return t;
}

// Output "y" of `plan` run with the reference kernels on input "x" (the executable contract the
// fast plan is compared against); an undefined tensor (and a test failure) when it cannot run.
inline Tensor RunPlanReference(const quant::Int8Plan& plan, const Tensor& x) {
  exec::SessionOptions ro;
  ro.flavor = exec::KernelFlavor::kReference;
  auto sr = runtime::CreateInt8Session(plan, ro);
  EXPECT_TRUE(sr.ok()) << sr.status().message();
  if (!sr.ok()) return Tensor();
  auto yr = (*sr)->Run({{"x", x}});
  EXPECT_TRUE(yr.ok()) << yr.status().message();
  return yr.ok() ? yr->at("y") : Tensor();
}

}  // namespace calib8::int8::test_util
