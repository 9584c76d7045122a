// onnx/qdq_strip.h — the plain model of a Q/DQ ONNX model (`calib8 import-qdq QDQ.onnx -o T
// --model-out PLAIN.onnx`): what `calib8 run --int8 --table T` runs so that it computes what the
// Q/DQ model computes (docs/fine-tuning.md, docs/qdq.md "Import"). The file driver around the IR
// pass quant::StripQdq (quant/qdq_strip.h, which states what is removed and what replaces it):
// the model is parsed and imported into calib8's IR as import-qdq reads it (no shape inference;
// Constant nodes become initializers), raised to opset 13 when below it (ir::UpgradeOpsTo13),
// stripped, written back by onnx_io::WriteModel with the model's producer, domain, version, doc
// string and metadata (calib8.* keys dropped), checked with onnx::checker and written atomically.
#pragma once

#include <string>

#include "calib8/status.h"
#include "quant/qdq_strip.h"

namespace calib8::onnx_io {

// Reads `qdq_path`, writes the plain model to `out_path` atomically. Errors name the file and,
// where one is at fault, the node (see quant::StripQdq); a model the IR cannot hold is refused
// as GraphFromModel refuses it. `report` may be null.
Status StripQdqFile(const std::string& qdq_path, const std::string& out_path,
                    quant::QdqStripReport* report);

}  // namespace calib8::onnx_io
