// fuzz/fuzz_idx.cc — IDX files (idx:FILE, MNIST's format), plain and gzip-compressed: open, then
// read every sample (up to a bound) and hash the data as calibrate's fingerprint does.
#include <zlib.h>

#include "data/data_source.h"
#include "fuzz/fuzz_util.h"

namespace {
void Try(const std::string& path) {
  auto src = calib8::data::OpenDataSource("idx:" + path);
  if (!src.ok()) return;
  const int64_t n = std::min<int64_t>((*src)->NumSamples(), 16);
  (void)(*src)->Read(0, n);
  (void)(*src)->Read(n - 1, 1);  // backwards: a gzip stream rewinds
  if ((*src)->NumSamples() <= 16) (void)(*src)->Fingerprint();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // As given (plain, or a .gz the fuzzer made), and the same bytes gzip-compressed.
  Try(calib8::fuzz::WriteScratch(
      size >= 2 && data[0] == 0x1f && data[1] == 0x8b ? "f.idx.gz" : "f.idx", data, size));
  std::string gz = (calib8::fuzz::ScratchDir() / "g.idx.gz").string();
  gzFile f = gzopen(gz.c_str(), "wb1");
  if (!f) return 0;
  if (size) gzwrite(f, data, static_cast<unsigned>(size));
  gzclose(f);
  Try(gz);
  return 0;
}
