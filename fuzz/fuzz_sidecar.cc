// fuzz/fuzz_sidecar.cc — the table sidecar (TABLE.calib8.json): parse, and serialize what parsed.
#include "fuzz/fuzz_util.h"
#include "table/sidecar.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto s = calib8::table::ParseSidecar(calib8::fuzz::Bytes(data, size), "fuzz.calib8.json");
  if (s.ok()) (void)calib8::table::SerializeSidecar(*s);
  return 0;
}
