// fuzz/fuzz_npy.cc — .npy files: the whole-file reader (run --input) and the header reader the
// calibration sources use, which must agree on what they accept.
#include "data/data_source.h"
#include "data/npy.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes = calib8::fuzz::Bytes(data, size);
  auto t = calib8::data::ParseNpy(bytes, "fuzz.npy");
  if (t.ok()) (void)calib8::data::SerializeNpy(*t);
  // The calibration path: header from a file, then the data source reads every sample.
  std::string path = calib8::fuzz::WriteScratch("fuzz.npy", data, size);
  auto src = calib8::data::OpenDataSource(path);
  if (src.ok() && (*src)->NumSamples() <= 64) (void)(*src)->Read(0, (*src)->NumSamples());
  return 0;
}
