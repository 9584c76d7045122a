// ops/epilogue_ref.cc — parsing and reference application of the fused epilogue (see
// epilogue_ref.h). Shared by the reference and the oneDNN kernels of Conv, ConvTranspose, Gemm
// and MatMul; the formulas follow the ONNX definitions of the activation ops.
#include "ops/epilogue_ref.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ops/op_util.h"

namespace calib8::ops {

Result<Epilogue> ParseEpilogue(const ir::Node& node, size_t num_normal_inputs) {
  Epilogue e;
  std::string act = node.GetString("_calib8_act", "");
  // Defaults follow the ONNX ops the activation was fused from.
  float def_alpha = 0.0f, def_beta = 0.0f;
  if (act.empty()) {
    e.act = Epilogue::Act::kNone;
  } else if (act == "Relu") {
    e.act = Epilogue::Act::kRelu;
  } else if (act == "LeakyRelu") {
    e.act = Epilogue::Act::kLeakyRelu;
    def_alpha = 0.01f;
  } else if (act == "Clip") {
    e.act = Epilogue::Act::kClip;
    def_alpha = std::numeric_limits<float>::lowest();
    def_beta = std::numeric_limits<float>::max();
  } else if (act == "HardSwish") {
    e.act = Epilogue::Act::kHardSwish;
  } else if (act == "HardSigmoid") {
    e.act = Epilogue::Act::kHardSigmoid;
    def_alpha = 0.2f;
    def_beta = 0.5f;
  } else if (act == "Sigmoid") {
    e.act = Epilogue::Act::kSigmoid;
  } else if (act == "Tanh") {
    e.act = Epilogue::Act::kTanh;
  } else {
    return InvalidArgument("_calib8_act '", act,
                           "' is not one of Relu, LeakyRelu, Clip, HardSwish, HardSigmoid, "
                           "Sigmoid, Tanh");
  }
  e.alpha = node.GetFloat("_calib8_act_alpha", def_alpha);
  e.beta = node.GetFloat("_calib8_act_beta", def_beta);
  int64_t sum = node.GetInt("_calib8_sum", 0);
  if (sum != 0 && sum != 1) return InvalidArgument("_calib8_sum must be 0 or 1, got ", sum);
  e.sum = sum == 1;
  e.sum_input = num_normal_inputs;
  e.affine = node.HasAttr("_calib8_post_mul") || node.HasAttr("_calib8_post_add");
  e.post_mul = node.GetFloat("_calib8_post_mul", 1.0f);
  e.post_add = node.GetFloat("_calib8_post_add", 0.0f);
  if (e.sum && (node.inputs.size() <= num_normal_inputs || node.input(num_normal_inputs).empty()))
    return InvalidArgument("_calib8_sum = 1 needs the residual as input ", num_normal_inputs,
                           ", but the node has ", node.inputs.size(), " input(s)");
  return e;
}

Result<const float*> EpilogueResidual(const Epilogue& e, const exec::KernelContext& ctx,
                                      const Shape& out) {
  if (!e.sum) return static_cast<const float*>(nullptr);
  CALIB8_ASSIGN_OR_RETURN(const Tensor* r, RequireInput(ctx, e.sum_input));
  if (r->dtype() != DataType::kFloat32)
    return InvalidArgument("fused residual input ", e.sum_input, " must be float32, got ",
                           DataTypeName(r->dtype()));
  if (r->shape() != out)
    return InvalidArgument("fused residual input ", e.sum_input, " has shape ",
                           ShapeToString(r->shape()), ", expected the output shape ",
                           ShapeToString(out));
  return r->data<float>();
}

void ApplyEpilogue(const Epilogue& e, const float* residual, float* y, int64_t n) {
  if (e.empty()) return;
  EpilogueRow(e, y, residual, y, n);
}

}  // namespace calib8::ops
