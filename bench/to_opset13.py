#!/usr/bin/python3
"""bench/to_opset13.py IN.onnx OUT.onnx — converts a model to opset 13 with onnx.version_converter
(calib8 export-qdq needs opset >= 13 and does not convert operators itself). The converter's
Softmax 12 -> 13 adapter needs the input shape, which onnx cannot infer in PaddleOCR rec; a Softmax
over the last axis means the same at both versions, so such nodes are set aside as Identity for
the conversion and restored afterwards (their rank is read from the axis, which must be the last
one: PaddleOCR writes axis = rank - 1)."""
import sys

import onnx
import onnx.shape_inference
import onnx.version_converter


def main():
    model = onnx.load(sys.argv[1])
    parked = {}
    for n in model.graph.node:
        if n.op_type == "Softmax":
            axis = [a.i for a in n.attribute if a.name == "axis"]
            if not axis or axis[0] < 0:
                sys.exit("to_opset13.py: Softmax %s: expected a non-negative axis" % n.name)
            parked[n.name] = list(n.attribute)
            n.op_type = "Identity"
            del n.attribute[:]
    out = onnx.version_converter.convert_version(model, 13)
    for n in out.graph.node:
        if n.name in parked and n.op_type == "Identity":
            n.op_type = "Softmax"
            n.attribute.extend(parked[n.name])
    # The axis must be the last one for the two versions to agree: check the inferred rank.
    inferred = onnx.shape_inference.infer_shapes(out)
    ranks = {v.name: len(v.type.tensor_type.shape.dim) for v in inferred.graph.value_info
             if v.type.tensor_type.HasField("shape")}
    for n in out.graph.node:
        if n.name in parked and ranks.get(n.input[0], 0) not in (0, n.attribute[0].i + 1):
            sys.exit("to_opset13.py: Softmax %s (axis %d) is not over the last axis of a rank-%d input" % (n.name, n.attribute[0].i, ranks[n.input[0]]))
    onnx.checker.check_model(out)
    onnx.save(out, sys.argv[2])


if __name__ == "__main__":
    main()
