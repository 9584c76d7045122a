// tools/calib8/cmd_doctor.cc — `calib8 doctor`: which INT8 instructions this machine has (CPU
// flags via calib8::DetectCpuInt8Features, calib8/plan.h; CUDA devices through nvidia-smi when a
// driver is present) and what speed-up INT8 can be expected to give on them.
#include <array>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

#include "calib8/plan.h"
#include "commands.h"

namespace calib8::cli {

namespace {
std::string RunCapture(const char* cmd, int* rc) {
  std::string out;
  FILE* p = popen(cmd, "r");
  if (!p) {
    *rc = -1;
    return out;
  }
  std::array<char, 512> buf;
  while (fgets(buf.data(), buf.size(), p)) out += buf.data();
  *rc = pclose(p);
  return out;
}
}  // namespace

Command AddDoctorCommand(CLI::App& app) {
  app.add_subcommand("doctor", "Which INT8 instructions this CPU (and any CUDA GPU) has");
  return []() -> int {
    CpuInt8Features f = DetectCpuInt8Features();
    auto yn = [](bool b) { return b ? "yes" : "no"; };
    std::cout << "CPU: " << (f.model.empty() ? "unknown" : f.model) << "\n"
              << "  avx2         " << yn(f.avx2)
              << "   (8-bit dot products via vpmaddubsw, 16-bit "
                 "intermediates)\n"
              << "  avx512bw     " << yn(f.avx512bw) << "\n"
              << "  avx512_vnni  " << yn(f.avx512_vnni)
              << "   (vpdpbusd: 4 int8 MACs per lane "
                 "in one instruction)\n"
              << "  avx_vnni     " << yn(f.avx_vnni) << "\n"
              << "  amx_int8     " << yn(f.amx_int8) << "   (tile matrix multiply)\n";
    std::cout << "expectation: ";
    if (f.amx_int8)
      std::cout << "AMX: INT8 convolutions and matmuls can run 4x-10x faster than FP32 (oneDNN "
                   "uses AMX for large enough layers; small layers gain less).\n";
    else if (f.avx512_vnni)
      std::cout << "AVX512-VNNI: about 3x-4x over FP32 on dense 3x3 convolutions.\n";
    else if (f.avx_vnni)
      std::cout << "AVX-VNNI (256-bit): about 2x-3x over FP32.\n";
    else if (f.avx512bw || f.avx2)
      std::cout << "warning: no VNNI. INT8 works, but 8-bit dot products take 3 instructions; "
                   "expect 1x-1.5x over FP32, and INT8 may not be faster at all.\n"
                   "  vpmaddubsw adds pairs of u8 x s8 products in saturating 16-bit lanes: calib8 "
                   "splits each weight in two halves there so its INT8 results stay exact "
                   "(docs/int8.md). ONNX Runtime's u8 x s8 kernels do saturate on this CPU: for "
                   "ORT here, export with `export-qdq --target ort --ort-weights u8` "
                   "(docs/qdq.md).\n";
    else
      std::cout << "warning: no AVX2: INT8 runs on reference or SSE paths and will likely be "
                   "slower than FP32.\n";
    int rc = 0;
    std::string gpus = RunCapture(
        "nvidia-smi --query-gpu=name,compute_cap --format=csv,noheader 2>/dev/null", &rc);
    std::cout << "CUDA devices: ";
    if (rc != 0 || gpus.find_first_not_of(" \n") == std::string::npos) {
      std::cout << "none (no NVIDIA driver / nvidia-smi found)\n";
      return 0;
    }
    std::cout << "\n";
    std::istringstream ss(gpus);
    for (std::string line; std::getline(ss, line);) {
      if (line.empty()) continue;
      auto comma = line.rfind(',');
      std::string name = line.substr(0, comma);
      double cc = comma == std::string::npos ? 0.0 : std::atof(line.c_str() + comma + 1);
      std::cout << "  " << name << "  sm "
                << (comma == std::string::npos ? "?" : line.substr(comma + 2)) << "  dp4a "
                << yn(cc >= 6.1 - 1e-9) << "  int8 tensor cores " << yn(cc >= 7.2 - 1e-9) << "\n";
    }
    std::cout << "  (calib8 runs INT8 on the CPU; a GPU with int8 tensor cores runs TensorRT INT8 "
                 "typically 2x-4x faster than FP16)\n";
    return 0;
  };
}

}  // namespace calib8::cli
