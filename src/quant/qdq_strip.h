// quant/qdq_strip.h — the plain graph of a Q/DQ graph, as a pass on calib8's IR (`calib8
// import-qdq QDQ.onnx -o T --model-out PLAIN.onnx`; onnx/qdq_strip.cc reads the file, runs this
// pass and writes the result): what `calib8 run --int8 --table T` runs so that it computes what
// the Q/DQ model computes (docs/fine-tuning.md, docs/qdq.md "Import").
//
//  * an activation pair `x -> QuantizeLinear -> DequantizeLinear -> consumers` is removed and the
//    consumers read `x` again (the table import-qdq writes has x's scale); a DequantizeLinear
//    that writes a graph output becomes an Identity from `x`;
//  * a weight pair `W -> Q -> DQ` (or `int8 W -> DQ`, weights stored quantized) becomes one float
//    initializer, named as the DQ output, holding the dequantized values DQ(Q(W)): the trained
//    weights exactly as the Q/DQ model uses them. Quantizing them again per output channel at
//    max|W_c| / 127, as calib8's lowering does, gives back the same integers when the exporter's
//    weight scale was max|W_c| / 127 (torch, pytorch-quantization, ModelOpt, calib8) -- and within
//    half a step otherwise.
// Constants are initializers (the importer's Constant nodes included) and the outputs of
// default-domain Identity nodes reading a constant (torch's export reads deduplicated constants
// through them). The scales, zero points and weights the removed nodes read, and the Identity
// copies of them, are removed when nothing reads them any more; everything else (node names,
// other initializers, BatchNormalization kept or folded) stays. ONNX's QuantizeLinear /
// DequantizeLinear arithmetic (opset 13) is quant_params.h's QuantizeQ / DequantizeQ, per tensor
// or along `axis` (default 1).
#pragma once

#include <string>
#include <vector>

#include "calib8/status.h"
#include "ir/graph.h"

namespace calib8::quant {

struct QdqStripReport {
  int activation_pairs = 0;  // Q/DQ pairs on activations removed
  int weight_pairs = 0;  // constants (weights, int32 biases) replaced by their dequantized values
  std::vector<std::string> warnings;
};

// Strips `g` as described above; `source` ("model 'x.onnx'") names the model in messages. Fails,
// naming the node, on a DequantizeLinear whose input is neither a QuantizeLinear output nor a
// constant, a QuantizeLinear read by anything but DequantizeLinear nodes or writing a graph
// output, a QuantizeLinear without a DequantizeLinear, scales or zero points that are not
// constants of the expected types, and a graph without any pair; `g` is then left as it was.
// `report` may be null.
Status StripQdq(ir::Graph* g, const std::string& source, QdqStripReport* report);

}  // namespace calib8::quant
