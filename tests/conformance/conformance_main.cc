// tests/conformance/conformance_main.cc — runs the ONNX backend node tests that Debian's
// libonnx-testdata installs (model.onnx + test_data_set_N/{input,output}_K.pb) through calib8.
//
// A case is in scope when every op of its model is registered in calib8. Each in-scope case runs
// with the fast kernels and with the reference kernels; outputs must match the expected .pb within
// the ONNX backend's tolerance (rtol 1e-3, atol 1e-7; a case may need a looser one, see below).
// Cases listed in allowlist.txt (one "name  reason" per line) are expected to fail and are skipped.
//
// With --upgrade-to-13, only the in-scope cases whose model opset is below 13 run, each after
// ir::UpgradeOpsTo13 (src/ir/opset_upgrade.h) has rewritten it into its opset-13 form: the same
// expected outputs and tolerances check that the rewrite kept the meaning. A case the pass
// refuses is reported (not a failure) with the reason; the summary counts cases by op.
//
// Usage: calib8_conformance [--data DIR] [--allowlist FILE] [--filter REGEX] [--verbose]
//                           [--upgrade-to-13]
// Prints one line per failure and "N passed, M failed, K skipped"; exit 1 if anything failed.
#include "core/std_regex.h"  // first: see there (g++ 12 + ASan false positive in <regex>)

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "ir/opset_upgrade.h"
#include "onnx/onnx_import.h"
#include "ops/ops.h"
#include "runtime/engine.h"

namespace fs = std::filesystem;
using namespace calib8;

namespace {

std::map<std::string, std::string> ReadAllowlist(const std::string& path) {
  std::map<std::string, std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ss(line);
    std::string name, reason;
    ss >> name;
    std::getline(ss, reason);
    out[name] = reason;
  }
  return out;
}

template <typename T>
double AsDouble(const Tensor& t, int64_t i) {
  return static_cast<double>(t.data<T>()[i]);
}

double ElementAt(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DataType::kFloat32:
      return AsDouble<float>(t, i);
    case DataType::kFloat64:
      return AsDouble<double>(t, i);
    case DataType::kInt8:
      return AsDouble<int8_t>(t, i);
    case DataType::kUint8:
      return AsDouble<uint8_t>(t, i);
    case DataType::kInt16:
      return AsDouble<int16_t>(t, i);
    case DataType::kUint16:
      return AsDouble<uint16_t>(t, i);
    case DataType::kInt32:
      return AsDouble<int32_t>(t, i);
    case DataType::kUint32:
      return AsDouble<uint32_t>(t, i);
    case DataType::kInt64:
      return AsDouble<int64_t>(t, i);
    case DataType::kUint64:
      return AsDouble<uint64_t>(t, i);
    case DataType::kBool:
      return t.data<bool>()[i] ? 1.0 : 0.0;
    default:
      return NAN;
  }
}

// Empty string: equal within tolerance; else a description of the first mismatch.
std::string Compare(const Tensor& got, const Tensor& want, double rtol, double atol) {
  if (got.dtype() != want.dtype())
    return std::string("dtype ") + DataTypeName(got.dtype()) + " != expected " +
           DataTypeName(want.dtype());
  if (got.shape() != want.shape())
    return "shape " + ShapeToString(got.shape()) + " != expected " + ShapeToString(want.shape());
  for (int64_t i = 0; i < got.numel(); ++i) {
    double g = ElementAt(got, i), w = ElementAt(want, i);
    if (std::isnan(w) && std::isnan(g)) continue;
    if (std::isinf(w) && g == w) continue;
    if (!(std::fabs(g - w) <= atol + rtol * std::fabs(w))) {
      std::ostringstream os;
      os << "element " << i << ": got " << g << ", expected " << w;
      return os.str();
    }
  }
  return "";
}

// --upgrade-to-13: the case's model, if its default opset is below 13, rewritten by
// ir::UpgradeOpsTo13. False when the case is not for this mode (opset >= 13: *skip set) or the
// pass refused it (*why set, counted under the op types of its nodes in *refused).
struct UpgradeTally {
  std::map<std::string, int> passed;   // op type -> upgraded cases that pass
  std::map<std::string, int> refused;  // op type -> cases the pass refuses
  int not_old = 0;                     // cases at opset >= 13
};

std::string CaseOps(const ir::Graph& g) {
  std::set<std::string> ops;
  for (const auto& n : g.nodes) ops.insert(n.op_type);
  std::string s;
  for (const auto& op : ops) s += (s.empty() ? "" : "+") + op;
  return s;
}

bool UpgradeCase(ir::Graph* g, UpgradeTally* tally, std::string* why) {
  if (g->DefaultOpset() >= 13) {
    ++tally->not_old;
    return false;
  }
  const std::string ops = CaseOps(*g);
  Status s = ir::UpgradeOpsTo13(g, nullptr);
  if (!s.ok()) {
    ++tally->refused[ops];
    *why = s.message();
  }
  return s.ok();
}

void PrintTally(const UpgradeTally& t) {
  int passed = 0, refused = 0;
  for (const auto& [ops, n] : t.passed) {
    std::cout << "upgraded+passed  " << ops << ": " << n << "\n";
    passed += n;
  }
  for (const auto& [ops, n] : t.refused) {
    std::cout << "not upgradable   " << ops << ": " << n << "\n";
    refused += n;
  }
  std::cout << "upgrade-to-13: " << passed << " upgraded cases pass, " << refused
            << " not upgradable, " << t.not_old << " already at opset >= 13\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::string data_dir = "/usr/share/libonnx-testdata/data/node";
  std::string src = getenv("CALIB8_SOURCE_DIR") ? getenv("CALIB8_SOURCE_DIR") : ".";
  std::string allow_path = src + "/tests/conformance/allowlist.txt";
  std::string filter = ".*";
  bool verbose = false, upgrade = false;
  UpgradeTally tally;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--data" && i + 1 < argc)
      data_dir = argv[++i];
    else if (a == "--allowlist" && i + 1 < argc)
      allow_path = argv[++i];
    else if (a == "--filter" && i + 1 < argc)
      filter = argv[++i];
    else if (a == "--verbose")
      verbose = true;
    else if (a == "--upgrade-to-13")
      upgrade = true;
    else {
      std::cerr << "unknown argument " << a << "\n";
      return 2;
    }
  }
  if (!fs::is_directory(data_dir)) {
    std::cerr << "conformance: '" << data_dir << "' not found: install Debian's libonnx-testdata\n";
    return 1;
  }
  auto allow = ReadAllowlist(allow_path);
  std::regex re(filter);
  std::vector<fs::path> cases;
  for (const auto& e : fs::directory_iterator(data_dir))
    if (fs::exists(e.path() / "model.onnx") && std::regex_search(e.path().filename().string(), re))
      cases.push_back(e.path());
  std::sort(cases.begin(), cases.end());
  auto& registry = ops::BuiltinRegistry();
  int passed = 0, failed = 0, skipped = 0, out_of_scope = 0, allowlisted_pass = 0;
  for (const auto& dir : cases) {
    std::string name = dir.filename().string();
    auto g = onnx_io::LoadModel((dir / "model.onnx").string());
    if (!g.ok()) {
      if (allow.count(name)) {
        ++skipped;
        continue;
      }
      ++out_of_scope;
      if (verbose) std::cout << "OUT  " << name << ": " << g.status().message() << "\n";
      continue;
    }
    if (!exec::UnsupportedOps(*g, registry).empty()) {
      ++out_of_scope;
      continue;
    }
    std::string ops = CaseOps(*g), why;
    if (upgrade && !UpgradeCase(&*g, &tally, &why)) {
      if (!why.empty()) std::cout << "NOT UPGRADABLE " << name << ": " << why << "\n";
      continue;
    }
    bool allowlisted = allow.count(name) > 0;
    std::string failure;
    for (auto flavor : {exec::KernelFlavor::kFast, exec::KernelFlavor::kReference}) {
      exec::SessionOptions so;
      so.flavor = flavor;
      so.num_threads = 1;
      auto session = runtime::CreateSession(*g, so);
      if (!session.ok()) {
        failure = session.status().message();
        break;
      }
      for (int k = 0; failure.empty(); ++k) {
        fs::path ds = dir / ("test_data_set_" + std::to_string(k));
        if (!fs::is_directory(ds)) break;
        exec::TensorMap feeds;
        for (size_t i = 0; i < g->inputs.size() && failure.empty(); ++i) {
          auto t =
              onnx_io::LoadTensorProtoFile((ds / ("input_" + std::to_string(i) + ".pb")).string());
          if (!t.ok())
            failure = t.status().message();
          else
            feeds[g->inputs[i].name] = std::move(t).value();
        }
        if (!failure.empty()) break;
        auto out = (*session)->Run(feeds);
        if (!out.ok()) {
          failure = out.status().message();
          break;
        }
        for (size_t i = 0; i < g->outputs.size() && failure.empty(); ++i) {
          auto want =
              onnx_io::LoadTensorProtoFile((ds / ("output_" + std::to_string(i) + ".pb")).string());
          if (!want.ok()) {
            failure = want.status().message();
            break;
          }
          std::string diff = Compare((*out)[g->outputs[i].name], *want, 1e-3, 1e-7);
          if (!diff.empty())
            failure = std::string(flavor == exec::KernelFlavor::kFast ? "fast" : "reference") +
                      " kernels, " + ds.filename().string() + ", output '" + g->outputs[i].name +
                      "': " + diff;
        }
      }
      if (!failure.empty()) break;
    }
    if (allowlisted) {
      ++skipped;
      if (failure.empty()) {
        ++allowlisted_pass;
        if (verbose) std::cout << "NOTE " << name << " is allowlisted but passes\n";
      }
      continue;
    }
    if (failure.empty()) {
      ++passed;
      if (upgrade) ++tally.passed[ops];
      if (verbose) std::cout << "PASS " << name << "\n";
    } else {
      ++failed;
      std::cout << "FAIL " << name << ": " << failure << "\n";
    }
  }
  std::cout << "conformance: " << cases.size() << " cases, " << out_of_scope
            << " use ops calib8 does not register, " << allowlisted_pass
            << " allowlisted cases now pass\n";
  if (upgrade) PrintTally(tally);
  std::cout << passed << " passed, " << failed << " failed, " << skipped << " skipped\n";
  return failed ? 1 : 0;
}
