// table/model_check.h — a table against a model: which entries name a tensor of the graph (with
// its producer op and shape), which name nothing, and which float tensors have no entry (TensorRT
// keeps those in FP32 or refuses INT8 for their layers). Pure function of its inputs.
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"
#include "table/calibration_table.h"

namespace calib8::table {

struct EntryMatch {
  std::string name;
  bool matched = false;
  std::string producer;     // "Conv 'conv1'", "graph input", "initializer", "" if unmatched
  std::string shape = "?";  // "[1,64,56,56]", "?" when unknown
  std::string dtype;        // "float32", "" when unknown
};

struct ModelCoverage {
  std::vector<EntryMatch> entries;     // in table order
  std::vector<std::string> unmatched;  // entries that name no tensor of the graph
  std::vector<std::string> uncovered;  // float activations with no entry, in graph order
  int float_tensors = 0;               // graph inputs and node outputs of a float type
  int covered = 0;
  std::vector<std::string> inferred_float;  // untyped after shape inference, counted as float
                                            // (after a custom op; see CheckAgainstModel)
  int unknown_type = 0;                     // node outputs whose type is unknown (not counted)
  double coverage_percent() const {
    return float_tensors ? 100.0 * covered / float_tensors : 100.0;
  }
};

// Names match exactly. ncnn weight lines `<layer>_param_0` and ncnn activation lines keyed by a
// consuming layer's name also match that node.
// "" or one line (no newline) saying which float tensors were counted without a type from shape
// inference (validate and inspect --model print it under their coverage line).
std::string InferredFloatNote(const ModelCoverage& coverage, size_t max_names = 8);

ModelCoverage CheckAgainstModel(const CalibrationTable& table, const ir::Graph& graph);

}  // namespace calib8::table
