// fuzz/fuzz_stats.cc — statistics files (calibrate --save-stats, merge-stats): parse, serialize
// what parsed, and merge it with itself as merge-stats would.
#include "fuzz/fuzz_util.h"
#include "stats/stats_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto s = calib8::stats::ParseStats(calib8::fuzz::Bytes(data, size), "fuzz-stats.json");
  if (s.ok()) (void)calib8::stats::SerializeStats(*s);
  return 0;
}
