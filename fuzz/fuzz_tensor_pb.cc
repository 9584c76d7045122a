// fuzz/fuzz_tensor_pb.cc — ONNX TensorProto files (input_0.pb; run --input, calibrate --data):
// protobuf parse, then the conversion to a Tensor, external data included.
#include "fuzz/fuzz_util.h"
#include "onnx/onnx_import.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string path = calib8::fuzz::WriteScratch("input_0.pb", data, size);
  (void)calib8::onnx_io::LoadTensorProtoFile(path);
  return 0;
}
