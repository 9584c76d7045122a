#!/usr/bin/python3
"""fuzz/make_seeds.py — regenerates the small seed corpora in fuzz/corpus/ (committed; run again
only to change them). The table target also starts from tests/data/calibration-tables/ and the
ONNX targets from a few ONNX backend node-test models (Debian's libonnx-testdata), which
scripts/fuzz.sh passes as extra seed directories. Everything here is made from scratch:
numpy/onnx for tensors and models, a hand-written PNG encoder, stb_image_write (g++ one-off)
for JPEG."""
import gzip, json, os, struct, subprocess, sys, tempfile, zlib
import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper

ROOT = os.path.dirname(os.path.abspath(__file__))
C = os.path.join(ROOT, "corpus")


def put(target, name, data):
    d = os.path.join(C, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def npy_bytes(a):
    import io
    b = io.BytesIO()
    np.save(b, a)
    return b.getvalue()


# --- tables in the formats that tests/data has few of ------------------------------------------
put("table", "trt.cache", "TRT-8601-EntropyCalibration2\ninput: 3c010a14\nconv1:0: 3d8f5c29\n")
put("table", "legacy.cache", "1\nx: 3c010a14\n")
put("table", "calib8.json", json.dumps({"format": "calib8.table", "version": 1, "header": "TRT-8601-EntropyCalibration2",
    "tensors": [{"name": "x", "bits": "3c010a14"}, {"name": "y", "bits": "0"}]}))
put("table", "ranges.txt", "input:1.0\nconv1:0.5\n")
put("table", "ncnn.table", "conv1_param_0 12.5 13.25\nconv1 127.0\n")
put("table", "ort.cache", "input 1.0\nconv1 0.5\n")

# --- sidecar and statistics -------------------------------------------------------------------
put("sidecar", "min.calib8.json", json.dumps({"format": "calib8.sidecar", "format_version": 1}))
put("stats", "stats.json", json.dumps({"format": "calib8-stats", "version": 2, "num_bins": 4, "samples": 2,
    "single_pass": False, "tensors": {"x": {"producer": "", "producer_name": "", "sample_shape": [2],
    "min": -1.0, "max": 2.0, "absmax": 2.0, "count": 4, "hist_range": 2.0, "hist": [1, 1, 0, 2],
    "hist_neg": [1, 0, 0, 0]}, "y": {"count": 0, "absmax": 0.0, "hist": []}}}))

# --- .npy ---------------------------------------------------------------------------------------
put("npy", "f32.npy", npy_bytes(np.arange(12, dtype=np.float32).reshape(2, 2, 3)))
put("npy", "u8.npy", npy_bytes(np.arange(6, dtype=np.uint8).reshape(3, 2)))
put("npy", "f16.npy", npy_bytes(np.ones((2, 2), np.float16)))
put("npy", "i64.npy", npy_bytes(np.array([[1, -2]], np.int64)))

# --- TensorProto .pb ----------------------------------------------------------------------------
put("tensor_pb", "raw.pb", numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3), "x").SerializeToString())
t = helper.make_tensor("y", TensorProto.INT32, [2, 2], [1, 2, 3, 4])
put("tensor_pb", "typed.pb", t.SerializeToString())
t = helper.make_tensor("z", TensorProto.FLOAT, [2], [1.0, 2.0])
put("tensor_pb", "floats.pb", t.SerializeToString())

# --- IDX ----------------------------------------------------------------------------------------
def idx(code, dims, payload):
    return bytes([0, 0, code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload
put("idx", "u8_images", idx(0x08, [2, 3, 3], bytes(range(18))))
put("idx", "u8_labels", idx(0x08, [4], bytes([0, 1, 2, 9])))
put("idx", "f32", idx(0x0D, [2, 2], struct.pack(">4f", 1, -2, 3.5, 0)))
put("idx", "i16.gz", gzip.compress(idx(0x0B, [1, 2, 2], struct.pack(">4h", 1, -2, 300, 0)), mtime=0))

# --- images -------------------------------------------------------------------------------------
def png(w, h, color_type, rows):
    raw = b"".join(b"\0" + r for r in rows)
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
put("image", "rgb.png", png(3, 2, 2, [bytes(range(9)), bytes(range(9, 18))]))
put("image", "gray.png", png(2, 2, 0, [b"\x00\xff", b"\x80\x40"]))
with tempfile.TemporaryDirectory() as tmp:
    src = os.path.join(tmp, "w.cc")
    open(src, "w").write('#define STB_IMAGE_WRITE_IMPLEMENTATION\n#include <stb/stb_image_write.h>\n'
                         'int main(int, char** v) { unsigned char p[4*4*3]; for (int i = 0; i < 48; ++i) p[i] = i * 5;\n'
                         '  return !stbi_write_jpg(v[1], 4, 4, 3, p, 90); }\n')
    exe = os.path.join(tmp, "w")
    subprocess.check_call(["g++", "-O1", "-o", exe, src])
    out = os.path.join(tmp, "x.jpg")
    subprocess.check_call([exe, out])
    put("image", "rgb.jpg", open(out, "rb").read())

# --- ONNX models --------------------------------------------------------------------------------
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
w = numpy_helper.from_array(np.ones((2, 2, 1, 1), np.float32), "w")
b = numpy_helper.from_array(np.zeros((2,), np.float32), "b")
g = helper.make_graph([helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv"),
                       helper.make_node("Relu", ["c"], ["r"], name="relu"),
                       helper.make_node("Reshape", ["r", "shape"], ["y"], name="reshape")],
                      "g", [x], [y], [w, b, numpy_helper.from_array(np.array([1, -1], np.int64), "shape")])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
put("onnx", "conv_relu.onnx", m.SerializeToString())
g = helper.make_graph([helper.make_node("Constant", [], ["k"], value=numpy_helper.from_array(np.array([2.0], np.float32))),
                       helper.make_node("Mul", ["x", "k"], ["y"], name="mul")], "g", [x], [y])
put("onnx", "constant.onnx", helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString())

# --- Q/DQ model (what export-qdq writes, in miniature) -------------------------------------------
s = numpy_helper.from_array(np.array(0.0078125, np.float32), "x_scale")
z = numpy_helper.from_array(np.array(0, np.int8), "x_zp")
g = helper.make_graph([helper.make_node("QuantizeLinear", ["x", "x_scale", "x_zp"], ["xq"], name="q"),
                       helper.make_node("DequantizeLinear", ["xq", "x_scale", "x_zp"], ["xd"], name="dq"),
                       helper.make_node("Relu", ["xd"], ["y"], name="relu")], "g", [x], [y], [s, z])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
helper.set_model_props(m, {"calib8.table_header": "TRT-8601-EntropyCalibration2", "calib8.qdq_sources": "xq\tx\t3c000000\n"})
put("qdq_import", "qdq.onnx", m.SerializeToString())

# --- keep-FP32 plans ----------------------------------------------------------------------------
put("plan", "plan.txt", "# keep-fp32 plan\n# drop 0.31 points\nconv1_out\n  /model/head/Gemm_output_0 \r\n\n# end\n")
print("seeds written to", C)
