// fuzz/fuzz_qdq_import.cc — import-qdq: a Q/DQ ONNX model back to a calibration table.
#include "fuzz/fuzz_util.h"
#include "onnx/qdq.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string path = calib8::fuzz::WriteScratch("qdq.onnx", data, size);
  calib8::onnx_io::QdqImportReport report;
  (void)calib8::onnx_io::ImportQdqFile(path, &report);
  return 0;
}
