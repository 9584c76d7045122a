// ops/register_fp32_ops.cc — THE list of built-in FP32 ops: one line each, name -> factories.
// Adding an op: write its kernel (reference first), declare the factory in kernels.h, add a line.
#include <mutex>

#include "ops/kernels.h"
#include "ops/ops.h"

namespace calib8::ops {

namespace {
struct Registrar {
  exec::OpRegistry& r;
  void Add(const char* op, exec::KernelFactory reference, exec::KernelFactory fast = nullptr) {
    exec::OpEntry e;
    e.op_type = op;
    e.reference = std::move(reference);
    e.fast = std::move(fast);
    Status s = r.Register(std::move(e));
    (void)s;  // built-ins are registered once into an empty registry
  }
};
}  // namespace

void RegisterBuiltinOps(exec::OpRegistry& registry) {
  Registrar r{registry};
  // Unary math and activations.
  for (const char* op :
       {"Relu",       "Sigmoid",  "Tanh",      "Exp",         "Log",       "Sqrt",  "Neg",  "Abs",
        "Reciprocal", "Erf",      "LeakyRelu", "HardSigmoid", "HardSwish", "Floor", "Ceil", "Elu",
        "Selu",       "Softplus", "Sin",       "Cos",         "Not",       "Sign"})
    r.Add(op, UnaryKernel(op), AnyLayoutElementwise(UnaryKernel(op)));
  // Binary arithmetic and comparison (numpy broadcasting). The fast flavour of the unary ops and
  // of these is the same kernel, taking channels-last tensors as well (AnyLayoutElementwise).
  for (const char* op :
       {"Add", "Sub", "Mul", "Div", "Pow", "Equal", "Less", "Greater", "LessOrEqual",
        "GreaterOrEqual", "And", "Or", "Xor", "Max", "Min", "Sum", "Mean", "Mod"})
    r.Add(op, BinaryKernel(op), AnyLayoutElementwise(BinaryKernel(op)));
  r.Add("Where", WhereKernel());
  r.Add("Clip", ClipKernel(), AnyLayoutElementwise(ClipKernel()));
  r.Add("PRelu", PReluKernel());
  r.Add("Cast", CastKernel());
  r.Add("Identity", IdentityKernel());
  r.Add("Dropout", IdentityKernel());
  // Data movement.
  r.Add("Concat", ConcatKernel());
  r.Add("Split", SplitKernel());
  r.Add("Reshape", ReshapeKernel());
  r.Add("Flatten", FlattenKernel());
  r.Add("Transpose", TransposeKernel());
  r.Add("Squeeze", SqueezeKernel());
  r.Add("Unsqueeze", UnsqueezeKernel());
  r.Add("Slice", SliceKernel());
  r.Add("Gather", GatherKernel());
  r.Add("Shape", ShapeKernel());
  r.Add("Expand", ExpandKernel());
  r.Add("Pad", PadKernel());
  r.Add("Resize", ResizeKernel());
  r.Add("Upsample", UpsampleKernel());
  // Normalisation, softmax, reductions, quantization.
  r.Add("Softmax", SoftmaxKernel());
  r.Add("LogSoftmax", LogSoftmaxKernel());
  r.Add("BatchNormalization", BatchNormalizationKernel());
  r.Add("LayerNormalization", LayerNormalizationKernel());
  r.Add("InstanceNormalization", InstanceNormalizationKernel());
  for (const char* op : {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin"})
    r.Add(op, ReduceKernel(op));
  r.Add("QuantizeLinear", QuantizeLinearKernel());
  r.Add("DequantizeLinear", DequantizeLinearKernel());
  // Compute-heavy ops: reference twin + oneDNN.
  r.Add("Conv", ConvReference(), ConvOneDnn());
  r.Add("ConvTranspose", ConvTransposeReference(), ConvTransposeOneDnn());
  r.Add("Gemm", GemmReference(), GemmOneDnn());
  r.Add("MatMul", MatMulReference(), MatMulOneDnn());
  for (const char* op : {"MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"})
    r.Add(op, PoolReference(op), PoolOneDnn(op));
}

exec::OpRegistry& BuiltinRegistry() {
  static std::once_flag once;
  std::call_once(once, [] { RegisterBuiltinOps(exec::OpRegistry::Global()); });
  return exec::OpRegistry::Global();
}

}  // namespace calib8::ops
