// fuzz/fuzz_image.cc — image decoding through stb_image (PNG, JPEG) and the preprocessing of
// images:DIR: the input is one file in a directory, read as PNG or JPEG by its magic.
#include "data/data_source.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace fs = std::filesystem;
  fs::path dir = calib8::fuzz::ScratchDir() / "images";
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir);
  bool png = size >= 1 && data[0] == 0x89;
  std::string name = std::string("images/x") + (png ? ".png" : ".jpg");
  calib8::fuzz::WriteScratch(name, data, size);
  for (const char* spec :
       {"", "@resize=8,crop=4,mean=0.5,std=0.25", "@layout=nhwc,order=gray,scale=255"}) {
    auto src = calib8::data::OpenDataSource("images:" + dir.string() + spec);
    if (src.ok()) (void)(*src)->Read(0, 1);
  }
  return 0;
}
