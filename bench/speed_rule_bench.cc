// bench/speed_rule_bench.cc — measures the "no speed benefit" rule of the INT8 lowering
// (docs/int8.md): one weighted layer between FP32 nodes, run (a) in FP32 and (b) as an INT8
// island — Quantize of its input, the INT8 kernel writing float32 directly (the plan
// `calib8 plan --int8-all` makes) — for layers of growing work per element crossing the border.
// The rule keeps a layer FP32 when its MACs per border element are below the break-even measured
// here. bench/speed_rule.sh runs it and prints the ratio table for bench/RESULTS.md.
//
//   calib8_speed_rule_bench [--benchmark_filter=...] [--benchmark_format=json]
//
// Each benchmark is one Session::Run at batch 1 on one thread, timed in process CPU time (the
// machine is small and shared: CPU time is what the work costs). Counters: macs (per run) and
// mpe (MACs per element crossing the borders, as the lowering computes it).
#include <benchmark/benchmark.h>

#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "runtime/engine.h"
#include "runtime/int8_engine.h"

using namespace calib8;

namespace {

struct Layer {
  const char* name;
  const char* op;               // Conv, ConvTranspose, Gemm
  int64_t c, m, k, stride, hw;  // Gemm: c = K, m = N, hw = rows
};

// The shapes swept: 1x1 and 3x3 convs from 3 to 128 channels, the strided stem of a CNN,
// ConvTranspose upsampling (PaddleOCR det's k2 s2), Gemm rows.
const std::vector<Layer>& Layers() {
  static const std::vector<Layer> v = {
      {"conv1x1_c3_m8_56", "Conv", 3, 8, 1, 1, 56},
      {"conv1x1_c8_m8_56", "Conv", 8, 8, 1, 1, 56},
      {"conv1x1_c16_m16_56", "Conv", 16, 16, 1, 1, 56},
      {"conv1x1_c24_m24_56", "Conv", 24, 24, 1, 1, 56},
      {"conv1x1_c32_m32_56", "Conv", 32, 32, 1, 1, 56},
      {"conv1x1_c64_m64_56", "Conv", 64, 64, 1, 1, 56},
      {"conv1x1_c128_m128_56", "Conv", 128, 128, 1, 1, 56},
      {"conv1x1_c32_m32_14", "Conv", 32, 32, 1, 1, 14},
      {"conv1x1_c64_m64_14", "Conv", 64, 64, 1, 1, 14},
      {"conv3x3_c3_m8_56", "Conv", 3, 8, 3, 1, 56},
      {"conv3x3_c3_m16_56", "Conv", 3, 16, 3, 1, 56},
      {"conv3x3_c8_m8_56", "Conv", 8, 8, 3, 1, 56},
      {"conv3x3_c16_m16_56", "Conv", 16, 16, 3, 1, 56},
      {"conv3x3_c32_m32_56", "Conv", 32, 32, 3, 1, 56},
      {"conv3x3_c64_m64_28", "Conv", 64, 64, 3, 1, 28},
      {"conv3x3_c24_m24_56", "Conv", 24, 24, 3, 1, 56},
      {"conv3x3_c16_m32_56", "Conv", 16, 32, 3, 1, 56},
      {"conv1x1_c192_m192_28", "Conv", 192, 192, 1, 1, 28},
      {"conv1x1_c256_m256_14", "Conv", 256, 256, 1, 1, 14},
      {"conv3x3s2_c3_m32_112", "Conv", 3, 32, 3, 2, 112},
      {"deconv2x2s2_c24_m1_80", "ConvTranspose", 24, 1, 2, 2, 80},
      {"deconv2x2s2_c16_m16_40", "ConvTranspose", 16, 16, 2, 2, 40},
      {"deconv2x2s2_c64_m64_40", "ConvTranspose", 64, 64, 2, 2, 40},
      {"deconv2x2s2_c96_m24_40", "ConvTranspose", 96, 24, 2, 2, 40},
      {"deconv2x2s2_c256_m64_20", "ConvTranspose", 256, 64, 2, 2, 20},
      {"gemm_k16_n10_r1", "Gemm", 16, 10, 1, 1, 1},
      {"gemm_k16_n10_r256", "Gemm", 16, 10, 1, 1, 256},
      {"gemm_k32_n32_r256", "Gemm", 32, 32, 1, 1, 256},
      {"gemm_k128_n128_r1", "Gemm", 128, 128, 1, 1, 1},
      {"gemm_k128_n128_r256", "Gemm", 128, 128, 1, 1, 256},
      {"gemm_k64_n64_r1", "Gemm", 64, 64, 1, 1, 1},
      {"gemm_k512_n1000_r1", "Gemm", 512, 1000, 1, 1, 1},
      {"gemm_k64_n64_r256", "Gemm", 64, 64, 1, 1, 256},
  };
  return v;
}

ir::Attribute Ints(std::vector<int64_t> v) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::kInts;
  a.ints = std::move(v);
  return a;
}
ir::Attribute Int(int64_t i) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::kInt;
  a.i = i;
  return a;
}

Tensor Normal(Shape s, float sd, std::mt19937& rng) {
  std::normal_distribution<float> nd(0.0f, sd);
  Tensor t(DataType::kFloat32, std::move(s));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = nd(rng);
  return t;
}

// x -> layer -> y, and an input for it.
struct Model {
  ir::Graph g;
  Tensor x;
  double macs = 0, mpe = 0;
};

Model Build(const Layer& l) {
  std::mt19937 rng(3);
  Model md;
  ir::Graph& g = md.g;
  g.name = l.name;
  g.opsets[""] = 13;
  ir::Node n{"layer", l.op, "", {"x", "W", "B"}, {"y"}, {}};
  Shape xs;
  if (std::string(l.op) == "Gemm") {
    xs = {l.hw, l.c};
    g.initializers["W"] = Normal({l.m, l.c}, 0.1f, rng);
    n.attrs["transB"] = Int(1);
    md.macs = static_cast<double>(l.hw * l.c * l.m);
    md.mpe = static_cast<double>(l.c * l.m) / static_cast<double>(l.c + l.m);
  } else {
    xs = {1, l.c, l.hw, l.hw};
    const bool t = std::string(l.op) == "ConvTranspose";
    g.initializers["W"] =
        Normal(t ? Shape{l.c, l.m, l.k, l.k} : Shape{l.m, l.c, l.k, l.k}, 0.1f, rng);
    n.attrs["strides"] = Ints({l.stride, l.stride});
    if (!t) {
      int64_t p = l.k / 2;
      n.attrs["pads"] = Ints({p, p, p, p});
    }
    const double in_pos = static_cast<double>(l.hw * l.hw),
                 s2 = static_cast<double>(l.stride * l.stride);
    const double r = t ? s2 : 1.0 / s2, k2 = static_cast<double>(l.k * l.k);
    const double per_pos = t ? l.c * l.m * k2 : r * l.m * l.c * k2;
    md.macs = in_pos * per_pos;
    md.mpe = per_pos / (l.c + r * l.m);
  }
  g.initializers["B"] = Normal({l.m}, 0.1f, rng);
  ir::ValueInfo in{"x", DataType::kFloat32, {}, true};
  for (int64_t d : xs) in.dims.push_back({d, ""});
  g.inputs.push_back(in);
  g.outputs.push_back({"y", DataType::kFloat32, {}, false});
  g.nodes = {n};
  md.x = Normal(xs, 1.0f, rng);
  return md;
}

// A table with amax of x and y from one FP32 run.
table::CalibrationTable Table(const Model& md) {
  auto s = runtime::CreateSession(md.g);
  auto out = (*s)->Run({{"x", md.x}});
  table::CalibrationTable t;
  auto put = [&t](const std::string& name, const Tensor& v) {
    float m = 0;
    for (int64_t i = 0; i < v.numel(); ++i) m = std::max(m, std::fabs(v.data<float>()[i]));
    table::TableEntry e;
    e.name = name;
    e.scale_bits = {table::ScaleBitsFromAmax(m)};
    t.Put(e);
  };
  put("x", md.x);
  put("y", out->at("y"));
  return t;
}

void Run(benchmark::State& state, const Layer& l, bool int8) {
  Model md = Build(l);
  exec::SessionOptions so;
  so.num_threads = 1;
  std::unique_ptr<exec::Session> s;
  if (int8) {
    runtime::Int8Options io;
    io.lowering.speed_rule = false;  // the island is what is measured
    quant::Int8Plan plan;
    auto r = runtime::CreateInt8Session(md.g, Table(md), io, so, &plan);
    if (!r.ok() || plan.num_int8 != 1) {
      state.SkipWithError(r.ok() ? "layer did not lower to INT8" : r.status().message().c_str());
      return;
    }
    s = std::move(r).value();
  } else {
    auto r = runtime::CreateSession(md.g, so);
    if (!r.ok()) {
      state.SkipWithError(r.status().message().c_str());
      return;
    }
    s = std::move(r).value();
  }
  exec::TensorMap feeds{{"x", md.x}};
  (void)s->Run(feeds);  // warm-up: primitives created, weights packed
  for (auto _ : state) {
    auto out = s->Run(feeds);
    benchmark::DoNotOptimize(out);
  }
  state.counters["macs"] = md.macs;
  state.counters["mpe"] = md.mpe;
}

const bool kRegistered = [] {
  for (const Layer& l : Layers()) {
    benchmark::RegisterBenchmark((std::string("fp32/") + l.name).c_str(),
                                 [&l](benchmark::State& s) { Run(s, l, false); })
        ->MeasureProcessCPUTime()
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((std::string("int8/") + l.name).c_str(),
                                 [&l](benchmark::State& s) { Run(s, l, true); })
        ->MeasureProcessCPUTime()
        ->Unit(benchmark::kMicrosecond);
  }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
