// fuzz/replay_main.cc — runs a fuzz target over files without libFuzzer: each argument is a file
// or a directory of files (not recursive). The regular (and the ASan/UBSan) build links every
// target with this main, so CTest replays the seed and regression corpora on every build; a
// crash or a sanitizer report fails the test. scripts/fuzz.sh builds the same targets with
// libFuzzer (-DCALIB8_FUZZ=ON) to search for new inputs.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    fs::path p(argv[i]);
    if (!fs::exists(p)) {  // a target's regression directory exists once it has found something
      std::printf("replay: %s does not exist, skipped\n", p.c_str());
      continue;
    }
    if (fs::is_directory(p)) {
      for (const auto& e : fs::directory_iterator(p))
        if (e.is_regular_file()) files.push_back(e.path());
    } else {
      files.push_back(p);
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "replay: cannot read %s\n", f.c_str());
      return 2;
    }
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  }
  std::printf("replayed %zu inputs\n", files.size());
  return files.empty() ? 1 : 0;  // a missing seed corpus is an error
}
