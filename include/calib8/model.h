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
#include <optional>
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
  // Per dimension: the model's name for an open one ("batch"), "" for the others.
  std::vector<std::string> dim_names;
};

// "[1,3,224,224]"; an open dimension is its name or "?"; "[unknown rank]" without a shape.
std::string ShapeText(const TensorInfo& info);

struct LoadOptions {
  bool optimize = true;  // false: the graph as stored (no load-time passes)
};

// What the load-time passes changed.
struct LoadReport {
  int constants_folded = 0;
  int batchnorms_folded = 0;
  int affine_folded = 0;  // per-channel Add/Mul after a Conv folded into its bias/weights
  int hardswish_fused = 0;
  int dead_nodes_removed = 0;
};

// A node as the graph holds it.
struct NodeInfo {
  std::string name, op_type;
  std::vector<std::string> inputs, outputs;  // "" for an omitted optional input
};

// An operator calib8 has no kernel or loaded plugin for, with every node that uses it.
struct UnknownOpInfo {
  std::string domain;  // "" = ai.onnx
  std::string op_type;
  std::string name;  // "domain::op_type", or "op_type" for the ONNX domain
  std::vector<NodeInfo> nodes;
};

// The model at a glance (`calib8 info`).
struct ModelDescription {
  int64_t opset = 0;
  size_t num_nodes = 0;
  int64_t num_parameters = 0;  // elements of every initializer
  std::vector<TensorInfo> inputs, outputs;
  std::vector<std::pair<std::string, int>> op_counts;  // sorted by op type
  std::vector<std::string> unsupported_ops;            // names as UnknownOpInfo::name
  std::vector<UnknownOpInfo> unknown_ops;
  // With unknown ops: the ways on, a paragraph that starts "To run or calibrate it, " (a plugin,
  // or calibrating around them with --until / --from); empty otherwise.
  std::string ways_on;
};

class Model {
 public:
  // Parses the ONNX file (its external data too) and applies the load-time passes the CLI
  // applies: constant folding, BatchNormalization and per-channel affine folding into Conv,
  // HardSwish fusion, dead-node removal. Custom layers need their plugin loaded first
  // (calib8/plugin.h, `--plugin` in the CLI).
  static Result<Model> Load(const std::string& path);
  // The same with `options`; `report`, when given, gets what the passes changed.
  static Result<Model> Load(const std::string& path, const LoadOptions& options,
                            LoadReport* report = nullptr);

  const std::string& path() const;
  std::vector<TensorInfo> inputs() const;
  std::vector<TensorInfo> outputs() const;
  int64_t opset() const;     // of the default ONNX domain
  size_t num_nodes() const;  // after the load-time passes
  // Operators calib8 has no kernel or loaded plugin for, as "domain::op_type" ("op_type" for the
  // ONNX domain); empty when every node can run.
  std::vector<std::string> unknown_ops() const;
  ModelDescription Describe() const;
  // The inferred type and shape of tensor `name`; nullopt when the model has none for it.
  std::optional<TensorInfo> FindTensor(const std::string& name) const;
  bool IsInitializer(const std::string& name) const;
  std::vector<NodeInfo> nodes() const;  // in execution order, after the load-time passes

  // Partial calibration (docs/custom-layers.md): the part of this model that computes the
  // tensors `until` (all outputs when empty), fed at the tensors `from` (which become its
  // inputs). Fails naming a tensor the model does not have or a cut that leaves a gap.
  Result<Model> Subgraph(const std::vector<std::string>& until,
                         const std::vector<std::string>& from) const;

 private:
  Model() = default;
  friend struct detail::Access;
  std::shared_ptr<const detail::ModelImpl> impl_;
};

// One tensor per graph input, by name; Run returns one per graph output.
using TensorMap = std::map<std::string, Tensor>;

struct SessionOptions {
  int threads = 0;         // 0: all cores
  bool reference = false;  // the reference kernels (slow, for checking)
  bool profile = false;    // time every node from the first run (see EnableProfile)
  bool row_major = false;  // no channels-last hand-over between FP32 convolutions
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
  // stay FP32 otherwise; docs/int8.md). The rule applies to the asymmetric mode only: TensorRT
  // mode (symmetric) runs every covered layer INT8 whatever this says, as TensorRT does.
  bool int8_all = false;
  // Keep 8-bit activations NCHW between layers (a measurement knob; the default is NHWC).
  bool nchw = false;
};

// What an INT8 session runs in 8 bits (calib8 plan shows the same, node by node).
struct Int8Summary {
  bool asymmetric = false;  // u8 with zero points (sidecar) or symmetric s8
  std::string table_note;   // one line: which encoding was used and why
  int int8_nodes = 0, fp32_nodes = 0;
  std::string coverage;        // "coverage 12/14 (85.7%); missing: ..." (at most 8 names)
  std::string coverage_brief;  // the same naming at most 3 missing tensors
  // One line each, for the user: the table does not cover the model; this CPU has no VNNI/AMX
  // INT8 instructions.
  std::vector<std::string> warnings;
  std::string plan_text;  // the plan node by node, as `calib8 plan` prints it
};

// The time spent in one node, summed over Session::profiled_runs() runs.
struct NodeTime {
  std::string name, op_type;
  double ms = 0;
};

class Session {
 public:
  // FP32 with the built-in kernels (and any loaded plugins).
  static Result<Session> Create(const Model& model, const SessionOptions& options = {});
  // INT8 with the scales of the table at `table_path` (any format calib8 reads); nodes the
  // table does not cover, or that INT8 would not speed up, run FP32 with a recorded reason.
  // `session`: the kernel options (its threads count when options.threads is 0). `summary`,
  // when given, is filled as far as the work got, on failure too: once the table is read,
  // table_note says which encoding it was read for.
  static Result<Session> CreateInt8(const Model& model, const std::string& table_path,
                                    const Int8Options& options = {},
                                    const SessionOptions& session = {},
                                    Int8Summary* summary = nullptr);

  // Checks the feeds' names, types and shapes against the model's inputs.
  Result<TensorMap> Run(const TensorMap& feeds);

  bool is_int8() const;
  const Int8Summary& int8_summary() const;  // empty for an FP32 session
  // After a Run: the nodes whose kernel left its fast path, with why, e.g. {"conv3", "reference
  // kernel: oneDNN has no negative padding (a cropping pad)"}; node names as the session runs
  // them (INT8 sessions: the plan's fused nodes).
  std::vector<std::pair<std::string, std::string>> KernelNotes() const;

  int num_threads() const;
  // Starts timing every node from the next Run (anew: earlier times are dropped).
  void EnableProfile();
  // Per node as the session runs them (INT8: the plan's fused nodes); empty without profiling.
  std::vector<NodeTime> NodeTimes() const;
  int64_t profiled_runs() const;

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
// "conv1/out:0" -> "conv1_out_0": characters other than [A-Za-z0-9._-] become '_'.
std::string SanitizeFileName(const std::string& name);

// Records chosen tensors over a whole data set (`calib8 run --dump`), for partial calibration
// (`calibrate --from T=DIR/T.npy`, docs/custom-layers.md). Only the subgraph that computes them
// runs, unfused, so the values are what calibration observes.
struct DumpOptions {
  std::vector<std::string> data;  // NAME=SPEC or SPEC, as CalibrateOptions::data
  std::string preprocess;
  int64_t max_samples = 0;  // 0: all
  int batch = 1;
  int threads = 0;
  std::vector<std::string> tensors;  // what to record
  std::string dir;                   // created if missing
};
struct DumpedTensor {
  std::string name, path;  // path: dir/<SanitizeFileName(name)>.npy
  Shape shape;             // [samples, ...]
};
// Writes one .npy per tensor (streamed to a temporary name, renamed when complete). Fails on
// unreadable data, an unknown tensor, or a tensor whose first axis is not the batch.
Result<std::vector<DumpedTensor>> DumpTensors(const Model& model, const DumpOptions& options);

// A custom-layer plugin (calib8/plugin.h) loaded into this process.
struct PluginInfo {
  std::string path, name, version;
  std::vector<std::string> ops;  // "domain::OpType" registered
};
// dlopen()s `path`, checks its ABI and registers its operators for every Model loaded after.
// Fails naming the file and what is wrong (no entry point, other ABI version, an op already
// registered). The library stays loaded until the process exits.
Result<PluginInfo> LoadPlugin(const std::string& path);

}  // namespace calib8
