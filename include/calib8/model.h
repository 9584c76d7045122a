// calib8/model.h — load an ONNX model and run it, in FP32 or in INT8 with a calibration table.
//
//   auto model = calib8::Model::Load("net.onnx");                 // Result<Model>
//   if (!model.ok()) { std::cerr << model.status().message(); return 1; }
//   auto fp32 = calib8::Session::Create(*model);                  // oneDNN FP32 kernels
//   auto int8 = calib8::Session::CreateInt8(*model, "net.cache"); // the table (and its sidecar)
//   auto out = int8->Run({{"input", x}});                         // Result<TensorMap>
//
// This is the library's public seam (docs/library.md): these headers include only other
// calib8/ headers and the standard library. Nothing throws; every failure is a Status whose
// message names the file, node or tensor and what was expected (calib8/status.h).
//
// Thread-safety: a Model is immutable after Load and cheap to copy (copies share it); any number
// of Sessions may be created from it on any threads. One Session runs one call at a time.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "calib8/status.h"
#include "calib8/tensor.h"

namespace calib8 {

namespace detail {
struct ModelImpl;
struct SessionImpl;
struct Access;
}  // namespace detail

// A graph input or output as the model declares it.
struct TensorInfo {
  std::string name;
  DataType type = DataType::kUndefined;
  std::vector<int64_t> shape;  // -1 where the model leaves the dimension open (a batch, say)
  bool rank_known = true;      // false: the model gives no shape at all (`shape` is empty)
};

class Model {
 public:
  // Parses the ONNX file (its external data too) and applies the load-time passes the CLI
  // applies: constant folding, BatchNormalization and per-channel affine folding into Conv,
  // HardSwish fusion, dead-node removal. Custom layers need their plugin loaded first
  // (calib8/plugin.h, `--plugin` in the CLI).
  static Result<Model> Load(const std::string& path);

  const std::string& path() const;
  std::vector<TensorInfo> inputs() const;
  std::vector<TensorInfo> outputs() const;
  int64_t opset() const;     // of the default ONNX domain
  size_t num_nodes() const;  // after the load-time passes
  // Operators calib8 has no kernel or loaded plugin for, as "domain::op_type" ("op_type" for the
  // ONNX domain); empty when every node can run.
  std::vector<std::string> unknown_ops() const;

 private:
  Model() = default;
  friend struct detail::Access;
  std::shared_ptr<const detail::ModelImpl> impl_;
};

// One tensor per graph input, by name; Run returns one per graph output.
using TensorMap = std::map<std::string, Tensor>;

struct SessionOptions {
  int threads = 0;  // 0: all cores
};

struct Int8Options {
  int threads = 0;  // 0: all cores
  // TensorRT mode: symmetric s8 from the table's scales alone, as TensorRT <= 10 runs a cache.
  // Off (the default): when the table's calib8 sidecar is current, its asymmetric ranges give u8
  // activations with zero points (docs/int8.md).
  bool symmetric = false;
  // A --keep-fp32 file: tensor or node names, one per line, that never run in 8 bits.
  std::string keep_fp32_file;
  // Fail, instead of running the uncovered nodes in FP32, when the table misses a tensor an INT8
  // node needs.
  bool strict = false;
  // u8 (scale amax / 255) for tensors that are never negative (symmetric mode).
  bool unsigned_activations = false;
  // Run every layer that can run INT8 in INT8: no no-speed-benefit rule (isolated small layers
  // stay FP32 otherwise; docs/int8.md).
  bool int8_all = false;
  // Keep 8-bit activations NCHW between layers (a measurement knob; the default is NHWC).
  bool nchw = false;
};

// What an INT8 session runs in 8 bits (calib8 plan shows the same, node by node).
struct Int8Summary {
  bool asymmetric = false;  // u8 with zero points (sidecar) or symmetric s8
  std::string table_note;   // one line: which encoding was used and why
  int int8_nodes = 0, fp32_nodes = 0;
  std::string coverage;  // "coverage 12/14 (85.7%); missing: ..."
};

class Session {
 public:
  // FP32 with the built-in kernels (and any loaded plugins).
  static Result<Session> Create(const Model& model, const SessionOptions& options = {});
  // INT8 with the scales of the table at `table_path` (any format calib8 reads); nodes the
  // table does not cover, or that INT8 would not speed up, run FP32 with a recorded reason.
  static Result<Session> CreateInt8(const Model& model, const std::string& table_path,
                                    const Int8Options& options = {});

  // Checks the feeds' names, types and shapes against the model's inputs.
  Result<TensorMap> Run(const TensorMap& feeds);

  bool is_int8() const;
  const Int8Summary& int8_summary() const;  // empty for an FP32 session
  // After a Run: the nodes whose kernel left its fast path, with why, e.g. {"conv3", "reference
  // kernel: oneDNN has no negative padding (a cropping pad)"}; node names as the session runs
  // them (INT8 sessions: the plan's fused nodes).
  std::vector<std::pair<std::string, std::string>> KernelNotes() const;

  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;
  ~Session();

 private:
  Session();
  std::unique_ptr<detail::SessionImpl> impl_;
};

// Reads a tensor file: .npy or ONNX TensorProto .pb (by extension, else by content).
Result<Tensor> LoadTensorFile(const std::string& path);
// Writes a tensor as .npy (to a temporary file renamed into place).
Status SaveNpy(const Tensor& tensor, const std::string& path);

}  // namespace calib8
