// ops/norm_ops.cc — Softmax, LogSoftmax, BatchNormalization, LayerNormalization and
// InstanceNormalization: reference kernels that are also the fast path (vectorised rows via
// row_simd.h, outer rows/planes in parallel). Reductions: reduce_ops.cc; Q/DQ: quant_ops.cc.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "ops/kernels.h"
#include "ops/op_util.h"
#include "ops/row_simd.h"

namespace calib8::ops {

namespace {

// Parallel grain (in rows) such that a parallel region covers at least ~32k elements of work.
int64_t RowGrain(int64_t work_per_row) {
  return std::max<int64_t>(1, (int64_t{1} << 15) / std::max<int64_t>(work_per_row, 1));
}

int64_t Product(const Shape& s, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end && i < s.size(); ++i) p *= s[i];
  return p;
}

// y[i] = e^(x[i] - shift), returning the sum of y (float: the vectorised exp of row_simd.h).
template <typename T>
T ExpShift(const T* x, T* y, int64_t n, T shift) {
  if constexpr (std::is_same_v<T, float>) {
    return simd::ExpShiftRow(x, y, n, shift);
  } else {
    T sum = 0;
    for (int64_t i = 0; i < n; ++i) {
      y[i] = std::exp(x[i] - shift);
      sum += y[i];
    }
    return sum;
  }
}

// ---------------------------------------------------------------------------------------------
// Softmax / LogSoftmax

// One contiguous row of length n.
template <typename T>
void SoftmaxRow(const T* x, T* y, int64_t n, bool log) {
  const T mx = simd::RowMax(x, n);
  const T sum = ExpShift(x, y, n, mx);
  if (log) {
    const T lse = std::log(sum);
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - mx) - lse;
  } else {
    const T inv = T(1) / sum;
    for (int64_t i = 0; i < n; ++i) y[i] *= inv;
  }
}

// One [n, inner] block, softmax along n (stride `inner`): works on whole rows of `inner` values.
template <typename T>
void SoftmaxStrided(const T* x, T* y, int64_t n, int64_t inner, bool log) {
  std::vector<T> mx(x, x + inner);
  std::vector<T> acc(static_cast<size_t>(inner), T(0)), ex(static_cast<size_t>(inner));
  T* m = mx.data();
  T* a = acc.data();
  T* e = ex.data();
  for (int64_t k = 1; k < n; ++k) {
    const T* r = x + k * inner;
    for (int64_t j = 0; j < inner; ++j) m[j] = m[j] < r[j] ? r[j] : m[j];
  }
  for (int64_t k = 0; k < n; ++k) {
    const T* r = x + k * inner;
    T* o = y + k * inner;
    for (int64_t j = 0; j < inner; ++j) o[j] = r[j] - m[j];
    ExpShift(o, e, inner, T(0));
    for (int64_t j = 0; j < inner; ++j) a[j] += e[j];
    if (!log) std::copy(e, e + inner, o);
  }
  for (int64_t j = 0; j < inner; ++j) a[j] = log ? std::log(a[j]) : T(1) / a[j];
  for (int64_t k = 0; k < n; ++k) {
    T* o = y + k * inner;
    if (log) {
      for (int64_t j = 0; j < inner; ++j) o[j] -= a[j];
    } else {
      for (int64_t j = 0; j < inner; ++j) o[j] *= a[j];
    }
  }
}

class SoftmaxOp : public exec::Kernel {
 public:
  SoftmaxOp(bool log, int64_t opset, int64_t axis) : log_(log), opset_(opset), axis_(axis) {}

  Status Run(exec::KernelContext& ctx) override {
    CALIB8_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0));
    const Shape& s = x->shape();
    int64_t outer = 1, n = 1, inner = 1;
    if (!s.empty()) {
      CALIB8_ASSIGN_OR_RETURN(int64_t a, NormalizeAxis(axis_, x->rank(), ctx.node));
      const size_t ua = static_cast<size_t>(a);
      outer = Product(s, 0, ua);
      if (opset_ < 13) {  // coerced to 2-D [prod(dims < axis), prod(dims >= axis)]
        n = Product(s, ua, s.size());
      } else {
        n = s[ua];
        inner = Product(s, ua + 1, s.size());
      }
    }
    Tensor y(x->dtype(), s);
    Status st = DispatchFloat(x->dtype(), ctx.node, [&](auto tag) {
      using T = decltype(tag);
      const T* xp = x->data<T>();
      T* yp = y.data<T>();
      if (n == 0 || x->numel() == 0) return;
      const int64_t block = n * inner;
      if (inner == 1) {
        ParallelFor(
            outer, [&](int64_t o) { SoftmaxRow(xp + o * n, yp + o * n, n, log_); }, RowGrain(n));
      } else {
        ParallelFor(
            outer,
            [&](int64_t o) { SoftmaxStrided(xp + o * block, yp + o * block, n, inner, log_); },
            RowGrain(block));
      }
    });
    CALIB8_RETURN_IF_ERROR(st);
    ctx.outputs[0] = std::move(y);
    return Status::Ok();
  }

 private:
  bool log_;
  int64_t opset_;
  int64_t axis_;
};

exec::KernelFactory MakeSoftmax(bool log) {
  return [log](const exec::KernelInit& init) -> Result<std::unique_ptr<exec::Kernel>> {
    const int64_t axis = init.node.GetInt("axis", init.opset < 13 ? 1 : -1);
    return std::unique_ptr<exec::Kernel>(new SoftmaxOp(log, init.opset, axis));
  };
}

// ---------------------------------------------------------------------------------------------
// Shared helpers for the normalisations

// A float/double tensor of `shape` with `values` (dtype float32 or float64).
Tensor MakeFloatTensor(DataType dt, const Shape& shape, const std::vector<double>& values) {
  Tensor t(dt == DataType::kFloat64 ? DataType::kFloat64 : DataType::kFloat32, shape);
  for (size_t i = 0; i < values.size(); ++i) {
    if (t.dtype() == DataType::kFloat64) {
      t.data<double>()[i] = values[i];
    } else {
      t.data<float>()[i] = static_cast<float>(values[i]);
    }
  }
  return t;
}

// A per-channel parameter (scale, bias, mean, var) of exactly `c` elements, read as doubles.
Result<std::vector<double>> ChannelParam(const Tensor& t, int64_t c, const char* what) {
  if (t.dtype() != DataType::kFloat32 && t.dtype() != DataType::kFloat64)
    return Unimplemented(what, ": data type ", DataTypeName(t.dtype()),
                         " is not supported (float32/float64 only)");
  if (t.numel() != c)
    return InvalidArgument(what, " has shape ", ShapeToString(t.shape()), ": expected [", c,
                           "] (one value per channel)");
  std::vector<double> v(static_cast<size_t>(c));
  for (int64_t i = 0; i < c; ++i)
    v[i] = t.dtype() == DataType::kFloat64 ? t.data<double>()[i] : t.data<float>()[i];
  return v;
}

// Mean and population variance of a contiguous plane (two passes: exact enough in T).
template <typename T>
void MeanVar(const T* x, int64_t n, T* mean_out, T* var_out) {
  const T mean = n > 0 ? simd::RowSum(x, n) / static_cast<T>(n) : T(0);
  *mean_out = mean;
  *var_out = n > 0 ? simd::RowSumSqDev(x, n, mean) / static_cast<T>(n) : T(0);
}

// y = x * a + b over a contiguous plane.
template <typename T>
void AffinePlane(const T* x, T* y, int64_t n, T a, T b) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * a + b;
}

// ---------------------------------------------------------------------------------------------
// BatchNormalization

class BatchNormOp : public exec::Kernel {
 public:
  BatchNormOp(float epsilon, float momentum, bool training)
      : epsilon_(epsilon), momentum_(momentum), training_(training) {}

  Status Run(exec::KernelContext& ctx) override {
    CALIB8_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0));
    CALIB8_ASSIGN_OR_RETURN(const Tensor* scale_t, RequireInput(ctx, 1));
    CALIB8_ASSIGN_OR_RETURN(const Tensor* bias_t, RequireInput(ctx, 2));
    CALIB8_ASSIGN_OR_RETURN(const Tensor* mean_t, RequireInput(ctx, 3));
    CALIB8_ASSIGN_OR_RETURN(const Tensor* var_t, RequireInput(ctx, 4));
    if (x->rank() < 2)
      return InvalidArgument("input X has shape ", ShapeToString(x->shape()),
                             ": expected rank >= 2 (N x C x ...)");
    const int64_t batch = x->dim(0), c = x->dim(1);
    const int64_t plane = batch * c > 0 ? x->numel() / (batch * c) : 0;
    CALIB8_ASSIGN_OR_RETURN(auto scale, ChannelParam(*scale_t, c, "scale"));
    CALIB8_ASSIGN_OR_RETURN(auto bias, ChannelParam(*bias_t, c, "B"));
    CALIB8_ASSIGN_OR_RETURN(auto mean, ChannelParam(*mean_t, c, "input_mean"));
    CALIB8_ASSIGN_OR_RETURN(auto var, ChannelParam(*var_t, c, "input_var"));

    Tensor y(x->dtype(), x->shape());
    std::vector<double> batch_mean(static_cast<size_t>(c)), batch_var(static_cast<size_t>(c));
    Status st = DispatchFloat(x->dtype(), ctx.node, [&](auto tag) {
      using T = decltype(tag);
      const T* xp = x->data<T>();
      T* yp = y.data<T>();
      if (training_) {  // statistics of this batch, per channel over N and the spatial dims
        ParallelFor(
            c,
            [&](int64_t ch) {
              double sum = 0, sq = 0;
              for (int64_t b = 0; b < batch; ++b) {
                const T* p = xp + (b * c + ch) * plane;
                for (int64_t i = 0; i < plane; ++i) sum += p[i];
              }
              const double count = static_cast<double>(batch * plane);
              const double m = count > 0 ? sum / count : 0.0;
              for (int64_t b = 0; b < batch; ++b) {
                const T* p = xp + (b * c + ch) * plane;
                for (int64_t i = 0; i < plane; ++i) sq += (p[i] - m) * (p[i] - m);
              }
              batch_mean[ch] = m;
              batch_var[ch] = count > 0 ? sq / count : 0.0;
            },
            1);
      }
      const std::vector<double>& use_mean = training_ ? batch_mean : mean;
      const std::vector<double>& use_var = training_ ? batch_var : var;
      std::vector<T> a(static_cast<size_t>(c)), b(static_cast<size_t>(c));
      for (int64_t ch = 0; ch < c; ++ch) {
        const double k = scale[ch] / std::sqrt(use_var[ch] + static_cast<double>(epsilon_));
        a[ch] = static_cast<T>(k);
        b[ch] = static_cast<T>(bias[ch] - use_mean[ch] * k);
      }
      ParallelFor(
          batch * c,
          [&](int64_t p) {
            const int64_t ch = p % c;
            AffinePlane(xp + p * plane, yp + p * plane, plane, a[ch], b[ch]);
          },
          RowGrain(plane));
    });
    CALIB8_RETURN_IF_ERROR(st);
    ctx.outputs[0] = std::move(y);

    // Optional outputs: running mean / var (updated with momentum in training mode, unchanged in
    // inference), and in old opsets saved mean / var of the batch.
    const Shape cshape{c};
    std::vector<double> run_mean = mean, run_var = var;
    if (training_) {
      for (int64_t ch = 0; ch < c; ++ch) {
        run_mean[ch] = mean[ch] * momentum_ + batch_mean[ch] * (1.0 - momentum_);
        run_var[ch] = var[ch] * momentum_ + batch_var[ch] * (1.0 - momentum_);
      }
    }
    const std::vector<double>* extra[] = {&run_mean, &run_var, &batch_mean, &batch_var};
    for (size_t i = 1; i < ctx.num_outputs() && i <= 4; ++i) {
      if (i >= 3 && !training_)
        return Unimplemented("outputs saved_mean/saved_var are only defined in training mode");
      ctx.outputs[i] = MakeFloatTensor(mean_t->dtype(), cshape, *extra[i - 1]);
    }
    return Status::Ok();
  }

 private:
  float epsilon_;
  float momentum_;
  bool training_;
};

// ---------------------------------------------------------------------------------------------
// LayerNormalization (opset 17)

// Expands a parameter tensor (unidirectionally broadcastable to `target`) to NumElements(target)
// values in row-major order.
template <typename T>
Result<std::vector<T>> ExpandParam(const Tensor& t, const Shape& target, const char* what) {
  const Shape& s = t.shape();
  bool ok = s.size() <= target.size();
  for (size_t i = 0; ok && i < s.size(); ++i) {
    int64_t d = s[s.size() - 1 - i], want = target[target.size() - 1 - i];
    ok = d == want || d == 1;
  }
  if (!ok)
    return InvalidArgument(what, " has shape ", ShapeToString(s), ": expected it to broadcast to ",
                           ShapeToString(target));
  if (t.dtype() != DataType::kFloat32 && t.dtype() != DataType::kFloat64)
    return Unimplemented(what, ": data type ", DataTypeName(t.dtype()),
                         " is not supported (float32/float64 only)");
  const int64_t n = NumElements(target);
  std::vector<T> out(static_cast<size_t>(n));
  std::vector<int64_t> in_strides = BroadcastStrides(s, target);
  std::vector<int64_t> idx(target.size(), 0);
  int64_t off = 0;
  for (int64_t i = 0; i < n; ++i) {
    out[i] = t.dtype() == DataType::kFloat64 ? static_cast<T>(t.data<double>()[off])
                                             : static_cast<T>(t.data<float>()[off]);
    for (int k = static_cast<int>(target.size()) - 1; k >= 0; --k) {
      off += in_strides[k];
      if (++idx[k] < target[k]) break;
      off -= in_strides[k] * target[k];
      idx[k] = 0;
    }
  }
  return out;
}

class LayerNormOp : public exec::Kernel {
 public:
  LayerNormOp(int64_t axis, float epsilon) : axis_(axis), epsilon_(epsilon) {}

  Status Run(exec::KernelContext& ctx) override {
    CALIB8_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0));
    CALIB8_ASSIGN_OR_RETURN(const Tensor* scale_t, RequireInput(ctx, 1));
    const Tensor* bias_t = ctx.input(2);
    if (x->rank() == 0) return InvalidArgument("input X must have rank >= 1, got a scalar");
    CALIB8_ASSIGN_OR_RETURN(int64_t a, NormalizeAxis(axis_, x->rank(), ctx.node));
    const Shape& s = x->shape();
    const size_t ua = static_cast<size_t>(a);
    const int64_t outer = Product(s, 0, ua), n = Product(s, ua, s.size());
    const Shape norm_shape(s.begin() + a, s.end());
    Shape stat_shape(s.begin(), s.begin() + a);
    stat_shape.resize(s.size(), 1);

    Tensor y(x->dtype(), s);
    Tensor mean_out(DataType::kFloat32, stat_shape), inv_out(DataType::kFloat32, stat_shape);
    Status inner_status;
    Status st = DispatchFloat(x->dtype(), ctx.node, [&](auto tag) {
      using T = decltype(tag);
      auto scale_r = ExpandParam<T>(*scale_t, norm_shape, "Scale");
      if (!scale_r.ok()) {
        inner_status = scale_r.status();
        return;
      }
      std::vector<T> bias;
      if (bias_t) {
        auto bias_r = ExpandParam<T>(*bias_t, norm_shape, "B");
        if (!bias_r.ok()) {
          inner_status = bias_r.status();
          return;
        }
        bias = std::move(bias_r).value();
      }
      const T* sc = scale_r->data();
      const T* bi = bias_t ? bias.data() : nullptr;
      const T* xp = x->data<T>();
      T* yp = y.data<T>();
      float* mp = mean_out.data<float>();
      float* ip = inv_out.data<float>();
      const T eps = static_cast<T>(epsilon_);
      ParallelFor(
          outer,
          [&](int64_t o) {
            const T* xr = xp + o * n;
            T* yr = yp + o * n;
            T mean, var;
            MeanVar(xr, n, &mean, &var);
            const T inv = T(1) / std::sqrt(var + eps);
            if (bi) {
              for (int64_t i = 0; i < n; ++i) yr[i] = (xr[i] - mean) * inv * sc[i] + bi[i];
            } else {
              for (int64_t i = 0; i < n; ++i) yr[i] = (xr[i] - mean) * inv * sc[i];
            }
            mp[o] = static_cast<float>(mean);
            ip[o] = static_cast<float>(inv);
          },
          RowGrain(n));
    });
    CALIB8_RETURN_IF_ERROR(st);
    CALIB8_RETURN_IF_ERROR(inner_status);
    ctx.outputs[0] = std::move(y);
    if (ctx.num_outputs() > 1) ctx.outputs[1] = std::move(mean_out);
    if (ctx.num_outputs() > 2) ctx.outputs[2] = std::move(inv_out);
    return Status::Ok();
  }

 private:
  int64_t axis_;
  float epsilon_;
};

// ---------------------------------------------------------------------------------------------
// InstanceNormalization

Status InstanceNormRun(exec::KernelContext& ctx) {
  CALIB8_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0));
  CALIB8_ASSIGN_OR_RETURN(const Tensor* scale_t, RequireInput(ctx, 1));
  CALIB8_ASSIGN_OR_RETURN(const Tensor* bias_t, RequireInput(ctx, 2));
  if (x->rank() < 2)
    return InvalidArgument("input has shape ", ShapeToString(x->shape()),
                           ": expected rank >= 2 (N x C x ...)");
  const double eps = ctx.node.GetFloat("epsilon", 1e-5f);
  const int64_t batch = x->dim(0), c = x->dim(1);
  const int64_t plane = batch * c > 0 ? x->numel() / (batch * c) : 0;
  CALIB8_ASSIGN_OR_RETURN(auto scale, ChannelParam(*scale_t, c, "scale"));
  CALIB8_ASSIGN_OR_RETURN(auto bias, ChannelParam(*bias_t, c, "B"));
  Tensor y(x->dtype(), x->shape());
  CALIB8_RETURN_IF_ERROR(DispatchFloat(x->dtype(), ctx.node, [&](auto tag) {
    using T = decltype(tag);
    const T* xp = x->data<T>();
    T* yp = y.data<T>();
    ParallelFor(
        batch * c,
        [&](int64_t p) {
          const int64_t ch = p % c;
          T mean, var;
          MeanVar(xp + p * plane, plane, &mean, &var);
          const double k = scale[ch] / std::sqrt(static_cast<double>(var) + eps);
          AffinePlane(xp + p * plane, yp + p * plane, plane, static_cast<T>(k),
                      static_cast<T>(bias[ch] - static_cast<double>(mean) * k));
        },
        RowGrain(plane));
  }));
  ctx.outputs[0] = std::move(y);
  return Status::Ok();
}

}  // namespace

exec::KernelFactory SoftmaxKernel() { return MakeSoftmax(/*log=*/false); }

exec::KernelFactory LogSoftmaxKernel() { return MakeSoftmax(/*log=*/true); }

exec::KernelFactory BatchNormalizationKernel() {
  return [](const exec::KernelInit& init) -> Result<std::unique_ptr<exec::Kernel>> {
    const ir::Node& node = init.node;
    if (node.GetInt("spatial", 1) == 0)
      return Unimplemented("BatchNormalization with spatial=0 is not supported");
    const bool training = node.GetInt("training_mode", 0) != 0;
    return std::unique_ptr<exec::Kernel>(new BatchNormOp(
        node.GetFloat("epsilon", 1e-5f), node.GetFloat("momentum", 0.9f), training));
  };
}

exec::KernelFactory LayerNormalizationKernel() {
  return [](const exec::KernelInit& init) -> Result<std::unique_ptr<exec::Kernel>> {
    return std::unique_ptr<exec::Kernel>(
        new LayerNormOp(init.node.GetInt("axis", -1), init.node.GetFloat("epsilon", 1e-5f)));
  };
}

exec::KernelFactory InstanceNormalizationKernel() { return exec::Stateless(InstanceNormRun); }

}  // namespace calib8::ops
