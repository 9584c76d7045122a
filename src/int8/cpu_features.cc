// int8/cpu_features.cc — reads the CPU's INT8-relevant feature flags: /proc/cpuinfo on Linux (the
// kernel also says whether the OS enabled AMX/AVX-512 state), CPUID where that file is absent.
#include "int8/cpu_features.h"

#include <cpuid.h>

#include <fstream>
#include <set>
#include <sstream>

namespace calib8::int8 {

CpuInt8Features DetectCpuInt8Features() {
  CpuInt8Features f;
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  bool have_flags = false;
  while (in && std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
    std::string val = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
    if (key == "model name" && f.model.empty()) f.model = val;
    if (key == "flags" && !have_flags) {
      have_flags = true;
      std::istringstream ss(val);
      std::set<std::string> flags;
      for (std::string w; ss >> w;) flags.insert(w);
      f.avx2 = flags.count("avx2");
      f.avx512bw = flags.count("avx512bw");
      f.avx512_vnni = flags.count("avx512_vnni");
      f.avx_vnni = flags.count("avx_vnni");
      f.amx_int8 = flags.count("amx_int8");
    }
  }
  if (!have_flags) {  // CPUID leaf 7: EBX bit 5 AVX2, bit 30 AVX512BW; ECX bit 11 AVX512_VNNI;
                      // EDX bit 25 AMX-INT8; leaf 7 sub-leaf 1 EAX bit 4 AVX-VNNI.
    unsigned a, b, c, d;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
      f.avx2 = b & (1u << 5);
      f.avx512bw = b & (1u << 30);
      f.avx512_vnni = c & (1u << 11);
      f.amx_int8 = d & (1u << 25);
    }
    if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) f.avx_vnni = a & (1u << 4);
  }
  return f;
}

}  // namespace calib8::int8
