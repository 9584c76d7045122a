// int8/cpu_features.h — which 8-bit dot-product instructions this CPU has (from the kernel's
// /proc/cpuinfo flags, with CPUID as the fallback), for `calib8 doctor` and for the warning that
// INT8 may not be faster on a CPU without VNNI.
#pragma once

#include <string>

namespace calib8::int8 {

struct CpuInt8Features {
  std::string model;  // "Intel(R) Xeon(R) ..." or "" if unknown
  bool avx2 = false;
  bool avx512bw = false;
  bool avx512_vnni = false;
  bool avx_vnni = false;
  bool amx_int8 = false;
  bool any_vnni() const { return avx512_vnni || avx_vnni || amx_int8; }
};

CpuInt8Features DetectCpuInt8Features();

}  // namespace calib8::int8
