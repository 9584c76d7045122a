// examples/library/calibrate_and_run.cc — calib8 as a library (include/calib8/calib8.h only):
// load a model, calibrate it on data, run it in FP32 and in INT8 on one input, and say how far
// apart the two outputs are.
//
//   calibrate_and_run MODEL DATA MAX_SAMPLES TABLE INPUT.npy INT8_OUTPUT.npy
//   e.g. calibrate_and_run models/fashion_mnist_cnn.onnx
//          idx:/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz 500 out/lib.cache
//          batch.npy out/lib_int8.npy   (one line)
//
// The table and sidecar are those `calib8 calibrate MODEL --data DATA --max-samples N -o TABLE`
// writes, and INT8_OUTPUT.npy is what `calib8 run MODEL --int8 --table TABLE --input INPUT.npy`
// writes for the first output (tests/cli/library_example_test.sh checks both).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "calib8/calib8.h"

namespace {

int Fail(const calib8::Status& s) {
  std::fprintf(stderr, "calibrate_and_run: %s\n", s.message().c_str());
  return 1;
}

// Signal-to-quantisation-noise ratio of `test` against `ref` in dB (both float32, same size).
double SqnrDb(const calib8::Tensor& ref, const calib8::Tensor& test) {
  const float* r = ref.data<float>();
  const float* t = test.data<float>();
  double signal = 0, noise = 0;
  for (int64_t i = 0; i < ref.numel(); ++i) {
    signal += double(r[i]) * r[i];
    noise += (double(r[i]) - t[i]) * (double(r[i]) - t[i]);
  }
  return noise == 0 ? INFINITY : 10 * std::log10(signal / noise);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: %s MODEL DATA MAX_SAMPLES TABLE INPUT.npy INT8_OUTPUT.npy\n",
                 argv[0]);
    return 2;
  }
  const std::string model_path = argv[1], data = argv[2], table = argv[4], input = argv[5],
                    output = argv[6];

  auto model = calib8::Model::Load(model_path);
  if (!model.ok()) return Fail(model.status());
  if (model->inputs().size() != 1 || model->outputs().empty())
    return Fail(calib8::InvalidArgument(model_path, ": this example feeds one input"));

  calib8::CalibrateOptions options;  // the CLI's defaults: method, range search, batch 1
  options.data = {data};
  char* end = nullptr;
  options.max_samples = std::strtoll(argv[3], &end, 10);
  if (end == argv[3] || *end != '\0' || options.max_samples < 0)
    return Fail(calib8::InvalidArgument("MAX_SAMPLES '", argv[3], "': expected a count >= 0"));
  auto calibration = calib8::Calibrate(*model, options, table);
  if (!calibration.ok()) return Fail(calibration.status());
  std::printf("%s %s: %zu tensors, %s on %lld samples\n",
              calibration->reused ? "reused" : "calibrated", table.c_str(), calibration->tensors,
              calibration->method.c_str(), static_cast<long long>(calibration->samples));

  auto x = calib8::LoadTensorFile(input);
  if (!x.ok()) return Fail(x.status());
  const calib8::TensorMap feeds = {{model->inputs()[0].name, *x}};
  auto fp32 = calib8::Session::Create(*model);
  if (!fp32.ok()) return Fail(fp32.status());
  auto int8 = calib8::Session::CreateInt8(*model, table);
  if (!int8.ok()) return Fail(int8.status());
  const calib8::Int8Summary& plan = int8->int8_summary();
  std::printf("int8: %s; %d INT8 / %d FP32 nodes\n", plan.table_note.c_str(), plan.int8_nodes,
              plan.fp32_nodes);

  auto ref = fp32->Run(feeds);
  if (!ref.ok()) return Fail(ref.status());
  auto out = int8->Run(feeds);
  if (!out.ok()) return Fail(out.status());
  for (const auto& [node, why] : int8->KernelNotes())  // a fast kernel that fell back, and why
    std::printf("kernel: %s: %s\n", node.c_str(), why.c_str());
  const std::string name = model->outputs()[0].name;
  std::printf("output '%s': INT8 vs FP32 SQNR %.2f dB\n", name.c_str(),
              SqnrDb(ref->at(name), out->at(name)));
  calib8::Status s = calib8::SaveNpy(out->at(name), output);
  if (!s.ok()) return Fail(s);
  std::printf("wrote %s\n", output.c_str());
  return 0;
}
