// onnx/qdq_strip.h — the plain model of a Q/DQ ONNX model (`calib8 import-qdq QDQ.onnx -o T
// --model-out PLAIN.onnx`): what `calib8 run --int8 --table T` runs so that it computes what the
// Q/DQ model computes (docs/fine-tuning.md, docs/qdq.md "Import").
//
//  * an activation pair `x -> QuantizeLinear -> DequantizeLinear -> consumers` is removed and the
//    consumers read `x` again (the table import-qdq writes has x's scale);
//  * a weight pair `W -> Q -> DQ` (or `int8 W -> DQ`, weights stored quantized) becomes one float
//    initializer holding the dequantized values DQ(Q(W)): the trained weights exactly as the Q/DQ
//    model uses them. Quantizing them again per output channel at max|W_c| / 127, as calib8's
//    lowering does, gives back the same integers when the exporter's weight scale was
//    max|W_c| / 127 (torch, pytorch-quantization, ModelOpt, calib8) -- and within half a step
//    otherwise.
// Everything else (node names, other initializers, BatchNormalization kept or folded) stays.
#pragma once

#include <string>
#include <vector>

#include "calib8/status.h"

namespace calib8::onnx_io {

struct QdqStripReport {
  int activation_pairs = 0;  // Q/DQ pairs on activations removed
  int weight_pairs = 0;  // constants (weights, int32 biases) replaced by their dequantized values
  std::vector<std::string> warnings;
};

// Reads `qdq_path`, writes the plain model to `out_path` atomically (checked with
// onnx::checker::check_model). Fails, naming the node, on a DequantizeLinear whose input is
// neither a QuantizeLinear output nor a constant, or a QuantizeLinear read by anything but
// DequantizeLinear nodes.
Status StripQdqFile(const std::string& qdq_path, const std::string& out_path,
                    QdqStripReport* report);

}  // namespace calib8::onnx_io
