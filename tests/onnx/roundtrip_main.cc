// tests/onnx/roundtrip_main.cc — calib8_onnx_roundtrip: loads an ONNX model the way calib8 does
// (runtime::LoadModel, the load-time passes on with --optimize, off without) and writes the
// ir::Graph back with onnx_io::SaveModel. A test-only tool for tests/onnx/write_ort_test.py.
//
// Usage: calib8_onnx_roundtrip IN.onnx OUT.onnx [--optimize]
// Exit codes: 0 written; 3 out of scope (calib8 cannot load the model, or has no kernel for one of
// its ops: the conformance scope); 1 the writer failed; 2 usage.
#include <iostream>
#include <string>

#include "onnx/onnx_write.h"
#include "runtime/engine.h"

int main(int argc, char** argv) {
  using namespace calib8;
  std::string in, out;
  bool optimize = false;
  bool bad = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--optimize")
      optimize = true;
    else if (in.empty())
      in = a;
    else if (out.empty())
      out = a;
    else
      bad = true;
  }
  if (bad || in.empty() || out.empty()) {
    std::cerr << "usage: calib8_onnx_roundtrip IN.onnx OUT.onnx [--optimize]\n";
    return 2;
  }
  runtime::LoadOptions lo;
  lo.optimize = optimize;
  auto g = runtime::LoadModel(in, lo);
  if (!g.ok()) {
    std::cerr << "out of scope: " << g.status().message() << "\n";
    return 3;
  }
  if (Status s = runtime::CheckRunnable(*g); !s.ok()) {
    std::cerr << "out of scope: " << s.message() << "\n";
    return 3;
  }
  if (Status s = onnx_io::SaveModel(*g, {}, out); !s.ok()) {
    std::cerr << "write failed: " << s.message() << "\n";
    return 1;
  }
  return 0;
}
