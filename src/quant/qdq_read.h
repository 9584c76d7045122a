// quant/qdq_read.h — import-qdq as a pass on calib8's IR: reads every QuantizeLinear on an
// activation of a Q/DQ graph (calib8's own export, or another tool's) back into a TensorRT
// calibration table, using calib8's export record (the model's metadata, read in onnx/) when it is
// there and agrees with the graph, and the DequantizeLinear after each INT8 custom op for that
// op's outputs. Protobuf-free: onnx/qdq_import.cc parses the file and builds the graph.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "calib8/status.h"
#include "ir/graph.h"
#include "table/calibration_table.h"

namespace calib8::quant {

// Model metadata keys written by the Q/DQ export and read back by import-qdq.
inline constexpr char kQdqHeaderKey[] = "calib8.table_header";
inline constexpr char kQdqExportKey[] = "calib8.qdq_export";
// --target ort: where each activation Q's scale came from (quant::PlaceOrt), for import-qdq.
inline constexpr char kQdqSourcesKey[] = "calib8.qdq_sources";

struct QdqImportReport {
  std::vector<std::string> weights;  // "tensor: N channel(s), axis A" (not put in the table)
  std::vector<std::string> skipped;  // Q nodes that give no TensorRT entry, with the reason
  // uint8 activations with zero point 0 and no calib8 export record: "tensor: how".
  std::vector<std::string> converted;
  std::vector<std::string> warnings;
};

// What the table reading needs from the model file besides its graph.
struct QdqModelInfo {
  std::string source;  // "model 'x.onnx'", names the model in messages
  std::string path;    // the file (names the table header's source)
  // metadata_props in file order (a key may repeat: each one is read, as before the IR).
  std::vector<std::pair<std::string, std::string>> metadata;
  // Per graph node (by its IR name): its index and name in the file ("" when unnamed). Nodes are
  // read in file order and named as in the file ("#<index>" when unnamed).
  std::map<std::string, std::pair<int, std::string>> nodes;
  // Constant nodes the IR turned into initializers, output -> file index: those whose value is a
  // `value` tensor (constants to this reader), and the other forms (value_float, value_ints, ...),
  // which this reader does not take as constants.
  std::map<std::string, int> constant_nodes;
  std::map<std::string, int> other_constants;
};

// Reads the activation table of `g`: one entry per quantized tensor, scale bits exactly as stored
// (amax = 127 * scale). uint8 with zero point 128 is read as int8 with zero point 0 (same grid);
// uint8 with zero point 0 as amax = 255 * scale, with the exact table bits taken from calib8's
// export record when it is there and consistent. Fails on a non-positive or non-finite activation
// scale and when the graph has no QuantizeLinear node.
Result<table::CalibrationTable> ReadQdqTable(const ir::Graph& g, const QdqModelInfo& meta,
                                             QdqImportReport* report);

}  // namespace calib8::quant
