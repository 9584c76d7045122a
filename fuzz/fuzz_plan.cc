// fuzz/fuzz_plan.cc — keep-FP32 plan files (run --int8 --keep-fp32, export-qdq --keep-fp32,
// written by sensitivity): both readers.
#include "fuzz/fuzz_util.h"
#include "onnx/qdq.h"
#include "quant/lowering.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string path = calib8::fuzz::WriteScratch("plan.txt", data, size);
  auto a = calib8::quant::ReadKeepFp32File(path);
  auto b = calib8::onnx_io::ReadKeepFp32File(path);
  (void)a;
  (void)b;
  return 0;
}
