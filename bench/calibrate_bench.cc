// bench/calibrate_bench.cc — calibration cost measured side by side with plain FP32 inference.
//
//   calib8_calibrate_bench MODEL DATA_SPEC [--samples N] [--batch B] [--threads T] [--reps R]
//
// In one process and one run: R repetitions of (a) one plain FP32 inference pass over the N
// samples (default session: fused epilogues, no observer), (b) a full two-pass calibration
// (calib::Calibrate with the default method; data opened, fingerprinted and read by Calibrate
// itself) over the same samples. Prints min and median of each, the ratio of medians, and the
// min and median of the per-repetition ratios (issue 15 item 7's goal: <= 2.0x one inference
// pass; bench/calibrate_cost.sh runs the two cases of RESULTS.md). Peak memory is measured outside
// (bench/calibrate_memory.sh runs `calib8 calibrate` under /usr/bin/time for 100 and 2000 samples).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "calib/calibrate.h"
#include "data/data_source.h"
#include "runtime/engine.h"

using namespace calib8;

namespace {
double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}
double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
// Process CPU time (all threads): on a shared, loaded machine wall time is noisy; CPU time is what
// the work costs.
double Cpu() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}
int Fail(const Status& s) {
  std::fprintf(stderr, "calibrate_bench: %s\n", s.message().c_str());
  return 1;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: %s MODEL DATA_SPEC [--samples N] [--batch B] [--threads T] [--reps R]\n",
                 argv[0]);
    return 2;
  }
  std::string model = argv[1], spec = argv[2];
  int64_t samples = 1000;
  int batch = 32, threads = 1, reps = 3;
  for (int i = 3; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--samples"))
      samples = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--batch"))
      batch = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--threads"))
      threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--reps"))
      reps = std::atoi(argv[i + 1]);
  }
  auto g = runtime::LoadModel(model);
  if (!g.ok()) return Fail(g.status());
  data::OpenOptions oo;
  oo.max_samples = samples;
  auto d = data::MultiInputData::Open({spec}, oo);
  if (!d.ok()) return Fail(d.status());
  exec::SessionOptions so;
  so.num_threads = threads;
  auto session = runtime::CreateSession(*g, so);
  if (!session.ok()) return Fail(session.status());
  const std::string input = g->inputs[0].name;
  std::vector<double> infer, calib, infer_cpu, calib_cpu;
  for (int r = 0; r < reps; ++r) {
    double t0 = Now(), c0 = Cpu();
    for (int64_t first = 0; first < d->NumSamples(); first += batch) {
      auto x = d->Read(first, std::min<int64_t>(batch, d->NumSamples() - first));
      if (!x.ok()) return Fail(x.status());
      auto out = (*session)->Run({{input, (*x)[0]}});
      if (!out.ok()) return Fail(out.status());
    }
    infer.push_back(Now() - t0);
    infer_cpu.push_back(Cpu() - c0);
    calib::CalibrateOptions co;
    co.data_specs = {spec};
    co.max_samples = samples;
    co.batch = batch;
    co.threads = threads;
    double t1 = Now(), c1 = Cpu();
    auto res = calib::Calibrate(*g, co);
    if (!res.ok()) return Fail(res.status());
    calib.push_back(Now() - t1);
    calib_cpu.push_back(Cpu() - c1);
  }
  std::printf("model=%s samples=%lld batch=%d threads=%d reps=%d\n", model.c_str(),
              static_cast<long long>(d->NumSamples()), batch, threads, reps);
  std::printf("fp32_inference_pass_s: min=%.3f median=%.3f\n",
              *std::min_element(infer.begin(), infer.end()), Median(infer));
  std::printf("calibration_two_pass_s: min=%.3f median=%.3f\n",
              *std::min_element(calib.begin(), calib.end()), Median(calib));
  std::printf("ratio_calibration_over_inference_median=%.2f\n", Median(calib) / Median(infer));
  // Per repetition: calibration over the inference pass just before it (same machine state).
  std::vector<double> ratios, cpu_ratios;
  for (size_t i = 0; i < calib.size(); ++i) {
    ratios.push_back(calib[i] / infer[i]);
    cpu_ratios.push_back(calib_cpu[i] / infer_cpu[i]);
  }
  std::printf("ratio_per_rep: wall min=%.2f median=%.2f  cpu min=%.2f median=%.2f\n",
              *std::min_element(ratios.begin(), ratios.end()), Median(ratios),
              *std::min_element(cpu_ratios.begin(), cpu_ratios.end()), Median(cpu_ratios));
  std::printf(
      "cpu_s: inference min=%.3f median=%.3f  calibration min=%.3f median=%.3f  "
      "ratio_median=%.2f\n",
      *std::min_element(infer_cpu.begin(), infer_cpu.end()), Median(infer_cpu),
      *std::min_element(calib_cpu.begin(), calib_cpu.end()), Median(calib_cpu),
      Median(calib_cpu) / Median(infer_cpu));
  return 0;
}
