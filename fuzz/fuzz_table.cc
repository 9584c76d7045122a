// fuzz/fuzz_table.cc — every calibration table reader (TensorRT cache, calib8 JSON, ncnn,
// sampleINT8API ranges, ONNX Runtime JSON / cache / FlatBuffers): format detection, then the
// detected reader and each explicit one; a table that parses is written back in every writable
// format and the TensorRT form must parse again.
#include <cstdlib>

#include "fuzz/fuzz_util.h"
#include "table/calibration_table.h"

using namespace calib8;
using namespace calib8::table;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes = fuzz::Bytes(data, size);
  const TableFormat all[] = {TableFormat::kTensorRt,      TableFormat::kCalib8Json,
                             TableFormat::kNcnn,          TableFormat::kRange,
                             TableFormat::kOrtJson,       TableFormat::kOrtCache,
                             TableFormat::kOrtFlatBuffers};
  auto detected = DetectFormat(bytes, "fuzz.cache");
  for (TableFormat f : all) {
    if (detected.ok() && *detected == f) continue;
    ReadReport report;
    (void)ParseTable(bytes, "fuzz.cache", f, ReadOptions{}, &report);
  }
  if (!detected.ok()) return 0;
  for (bool lenient : {false, true}) {
    ReadReport report;
    auto t = ParseTable(bytes, "fuzz.cache", *detected, ReadOptions{lenient}, &report);
    if (!t.ok()) continue;
    for (TableFormat f : all) {
      if (!CanWrite(f)) continue;
      WriteReport wr;
      (void)SerializeTable(*t, f, WriteOptions{}, &wr);
    }
    // The TensorRT form of a strictly read table reads back with the same entries.
    WriteReport wr;
    auto trt = SerializeTable(*t, TableFormat::kTensorRt, WriteOptions{}, &wr);
    if (!lenient && trt.ok()) {
      auto back = ParseTable(*trt, "fuzz-roundtrip.cache", TableFormat::kTensorRt);
      size_t activations = 0;
      for (const auto& e : t->entries()) activations += e.kind == EntryKind::kActivation;
      if (back.ok() && back->size() != activations) std::abort();
    }
  }
  return 0;
}
