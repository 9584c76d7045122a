// fuzz/fuzz_onnx.cc — ONNX model loading: protobuf parse, import into the IR (initializers,
// attributes, Constant nodes, value infos), ONNX shape inference, topological sort.
#include "fuzz/fuzz_util.h"
#include "onnx/onnx_import.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string dir = calib8::fuzz::ScratchDir().string();
  (void)calib8::onnx_io::LoadModelFromBytes(calib8::fuzz::Bytes(data, size), "model 'fuzz.onnx'",
                                            dir);
  return 0;
}
