// onnx/pytorch_scales.h — a calibration table mapped onto the modules of the PyTorch model an ONNX
// file was exported from (`calib8 convert TABLE --to pytorch --model MODEL.onnx -o scales.json`),
// for fine-tuning with the table's scales (docs/fine-tuning.md; the Python side is
// python/calib8_torch).
//
// For every table entry: the float32 scale bits, scale, amax = 127 x scale, the integer range
// (symmetric int8, zero point 0, [-128, 127], as ONNX QuantizeLinear and calib8's INT8 run), the
// ONNX node producing the tensor and the nodes consuming it, each with the PyTorch module it
// belongs to. The module comes from
//   1. the exporter's scope name of the node: "/layer1/layer1.0/conv1/Conv" -> "layer1.0.conv1";
//   2. else the parameter name of an initializer the node reads: "conv1.weight" -> "conv1"
//      (a model exported with do_constant_folding=False keeps those names);
//   3. else null (the entry is still written; the helper cannot attach a quantizer for it).
#pragma once

#include <string>
#include <vector>

#include "calib8/status.h"
#include "table/calibration_table.h"
#include "table/sidecar.h"

namespace calib8::onnx_io {

// "/layer1/layer1.0/conv1/Conv" -> "layer1.0.conv1"; "/features/features.0/Conv" -> "features.0";
// "" when the name carries no module scope ("Conv_0", "/Flatten").
std::string ModuleFromScope(const std::string& node_name);
// "conv1.weight" -> "conv1", "layer1.0.bn1.running_mean" -> "layer1.0.bn1"; "" for names the
// exporter made up ("onnx::Conv_32", "weight" without a module).
std::string ModuleFromParameter(const std::string& initializer_name);

struct PytorchScalesOptions {
  std::string table_name;  // for messages and the "table" field
  // The table's sidecar when there is one: gives each tensor's observed [min, max] (signedness).
  const table::Sidecar* sidecar = nullptr;
};

struct PytorchScalesReport {
  int tensors = 0;                        // table activation entries written
  int with_module = 0;                    // ... whose producer or a consumer has a module
  int input_quantizers = 0;               // weighted modules that get an input quantizer
  std::vector<std::string> not_in_model;  // table entries naming no tensor of the model
  std::vector<std::string> warnings;
};

// The JSON document (docs/fine-tuning.md, "scales.json").
Result<std::string> PytorchScalesJson(const table::CalibrationTable& table,
                                      const std::string& model_path,
                                      const PytorchScalesOptions& options,
                                      PytorchScalesReport* report);

}  // namespace calib8::onnx_io
