// ops/reduce_ops.cc — ReduceSum/Mean/Max/Min (reference kernels, also fast; declared in kernels.h
// under norm_ops.cc). Axes: attribute before opset 13 (ReduceSum) / 18 (others), input 1 after;
// keepdims, noop_with_empty_axes. The shape is collapsed into alternating kept/reduced dims so
// the innermost loop is contiguous: a row reduction or an element-wise accumulate.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "ops/kernels.h"
#include "ops/op_util.h"
#include "ops/row_simd.h"

namespace calib8::ops {

namespace {

enum class ReduceOp { kSum, kMean, kMax, kMin };

// Accumulator type: sums of integers widen to 64 bits, everything else stays in T.
template <typename T, ReduceOp kOp>
using AccOf =
    std::conditional_t<(kOp == ReduceOp::kSum || kOp == ReduceOp::kMean) && std::is_integral_v<T>,
                       std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>, T>;

template <typename A, ReduceOp kOp>
constexpr A Identity() {
  if constexpr (kOp == ReduceOp::kMax) {
    return std::numeric_limits<A>::has_infinity ? -std::numeric_limits<A>::infinity()
                                                : std::numeric_limits<A>::lowest();
  } else if constexpr (kOp == ReduceOp::kMin) {
    return std::numeric_limits<A>::has_infinity ? std::numeric_limits<A>::infinity()
                                                : std::numeric_limits<A>::max();
  } else {
    return A(0);
  }
}

template <typename A, ReduceOp kOp>
inline A Combine(A a, A b) {
  if constexpr (kOp == ReduceOp::kMax) {
    return a < b ? b : a;
  } else if constexpr (kOp == ReduceOp::kMin) {
    return b < a ? b : a;
  } else {
    return a + b;
  }
}

// Reduces one contiguous row of length n: vectorised (row_simd.h) when the accumulator is T,
// else (widening integer sums) with kLanes independent accumulators.
template <typename T, typename A, ReduceOp kOp>
A ReduceRow(const T* x, int64_t n) {
  if constexpr (std::is_same_v<A, T>) {
    if constexpr (kOp == ReduceOp::kMax) return simd::RowMax(x, n);
    if constexpr (kOp == ReduceOp::kMin) return simd::RowMin(x, n);
    if constexpr (kOp == ReduceOp::kSum || kOp == ReduceOp::kMean) return simd::RowSum(x, n);
  }
  constexpr int kLanes = 8;
  A lane[kLanes];
  for (int j = 0; j < kLanes; ++j) lane[j] = Identity<A, kOp>();
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) lane[j] = Combine<A, kOp>(lane[j], static_cast<A>(x[i + j]));
  for (; i < n; ++i) lane[0] = Combine<A, kOp>(lane[0], static_cast<A>(x[i]));
  A r = lane[0];
  for (int j = 1; j < kLanes; ++j) r = Combine<A, kOp>(r, lane[j]);
  return r;
}

// Reduces x (shape `shape`) over the dims flagged in `reduced` into out (row-major over the kept
// dims). out must hold the product of the kept dims.
template <typename T, ReduceOp kOp>
void ReduceTyped(const T* x, const Shape& shape, const std::vector<bool>& reduced, T* out,
                 int64_t out_numel) {
  using A = AccOf<T, kOp>;
  int64_t count = 1;  // elements reduced into each output
  for (size_t i = 0; i < shape.size(); ++i)
    if (reduced[i]) count *= shape[i];
  if (NumElements(shape) == 0) {  // empty reduction: identity (Mean: NaN for floats)
    T v = static_cast<T>(Identity<A, kOp>());
    if constexpr (kOp == ReduceOp::kMean && std::is_floating_point_v<T>)
      v = std::numeric_limits<T>::quiet_NaN();
    std::fill(out, out + out_numel, v);
    return;
  }
  // Collapse: drop size-1 dims, merge neighbours with the same kept/reduced status, and make the
  // first collapsed dim a kept one (of size 1 if need be) so that it can be split across threads.
  std::vector<int64_t> d;
  std::vector<bool> rd;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 1) continue;
    if (!d.empty() && rd.back() == reduced[i]) {
      d.back() *= shape[i];
    } else {
      d.push_back(shape[i]);
      rd.push_back(reduced[i]);
    }
  }
  if (d.empty() || (d.size() == 1 && !rd[0])) {  // nothing is really reduced
    std::copy(x, x + out_numel, out);
    return;
  }
  if (rd[0]) {
    d.insert(d.begin(), 1);
    rd.insert(rd.begin(), false);
  }
  const size_t m = d.size();  // >= 2
  std::vector<int64_t> in_stride(m, 1), out_stride(m, 0);
  for (size_t k = m - 1; k-- > 0;) in_stride[k] = in_stride[k + 1] * d[k + 1];
  int64_t os = 1;
  for (size_t k = m; k-- > 0;) {
    if (rd[k]) continue;
    out_stride[k] = os;
    os *= d[k];
  }

  std::vector<A> acc_buf;
  A* acc;
  if constexpr (std::is_same_v<A, T>) {
    acc = out;
  } else {
    acc_buf.resize(static_cast<size_t>(out_numel));
    acc = acc_buf.data();
  }
  std::fill(acc, acc + out_numel, Identity<A, kOp>());

  const int64_t last = d[m - 1];
  const bool last_reduced = rd[m - 1];
  int64_t middle = 1;
  for (size_t k = 1; k + 1 < m; ++k) middle *= d[k];
  ParallelFor(
      d[0],
      [&](int64_t i0) {
        int64_t in_off = i0 * in_stride[0], out_off = i0 * out_stride[0];
        std::vector<int64_t> idx(m, 0);
        for (int64_t it = 0; it < middle; ++it) {
          if (last_reduced) {
            acc[out_off] = Combine<A, kOp>(acc[out_off], ReduceRow<T, A, kOp>(x + in_off, last));
          } else {
            const T* xr = x + in_off;
            A* ar = acc + out_off;
            for (int64_t j = 0; j < last; ++j)
              ar[j] = Combine<A, kOp>(ar[j], static_cast<A>(xr[j]));
          }
          for (size_t k = m - 2; k >= 1; --k) {  // odometer over the middle dims
            in_off += in_stride[k];
            out_off += out_stride[k];
            if (++idx[k] < d[k]) break;
            in_off -= in_stride[k] * d[k];
            out_off -= out_stride[k] * d[k];
            idx[k] = 0;
          }
        }
      },
      std::max<int64_t>(1, (int64_t{1} << 15) / std::max<int64_t>(middle * last, 1)));

  if constexpr (kOp == ReduceOp::kMean) {
    for (int64_t i = 0; i < out_numel; ++i) out[i] = static_cast<T>(acc[i] / static_cast<A>(count));
  } else if constexpr (!std::is_same_v<A, T>) {
    for (int64_t i = 0; i < out_numel; ++i) out[i] = static_cast<T>(acc[i]);
  }
}

class ReduceOpKernel : public exec::Kernel {
 public:
  ReduceOpKernel(ReduceOp op, bool axes_from_input, std::vector<int64_t> attr_axes, bool keepdims,
                 bool noop_with_empty_axes)
      : op_(op),
        axes_from_input_(axes_from_input),
        attr_axes_(std::move(attr_axes)),
        keepdims_(keepdims),
        noop_(noop_with_empty_axes) {}

  Status Run(exec::KernelContext& ctx) override {
    CALIB8_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0));
    std::vector<int64_t> axes = attr_axes_;
    if (axes_from_input_) {
      axes.clear();
      if (const Tensor* a = ctx.input(1); a && a->numel() > 0) {
        CALIB8_ASSIGN_OR_RETURN(axes, ReadInts(*a, "input 1 (axes)", ctx.node));
      }
    }
    const int64_t rank = x->rank();
    if (axes.empty() && noop_) {
      ctx.outputs[0] = x->Clone();
      return Status::Ok();
    }
    std::vector<bool> reduced(static_cast<size_t>(rank), axes.empty());
    for (int64_t a : axes) {
      if (rank == 0 && (a == 0 || a == -1)) continue;  // a scalar: reducing it is the identity
      CALIB8_ASSIGN_OR_RETURN(int64_t na, NormalizeAxis(a, rank, ctx.node));
      reduced[static_cast<size_t>(na)] = true;
    }
    Shape out_shape;
    for (int64_t i = 0; i < rank; ++i) {
      if (!reduced[i]) {
        out_shape.push_back(x->shape()[i]);
      } else if (keepdims_) {
        out_shape.push_back(1);
      }
    }
    Tensor y(x->dtype(), out_shape);
    const int64_t out_numel = y.numel();
    Status st = DispatchNumeric(x->dtype(), ctx.node, [&](auto tag) {
      using T = decltype(tag);
      const T* xp = x->data<T>();
      T* yp = y.data<T>();
      switch (op_) {
        case ReduceOp::kSum:
          ReduceTyped<T, ReduceOp::kSum>(xp, x->shape(), reduced, yp, out_numel);
          break;
        case ReduceOp::kMean:
          ReduceTyped<T, ReduceOp::kMean>(xp, x->shape(), reduced, yp, out_numel);
          break;
        case ReduceOp::kMax:
          ReduceTyped<T, ReduceOp::kMax>(xp, x->shape(), reduced, yp, out_numel);
          break;
        case ReduceOp::kMin:
          ReduceTyped<T, ReduceOp::kMin>(xp, x->shape(), reduced, yp, out_numel);
          break;
      }
    });
    CALIB8_RETURN_IF_ERROR(st);
    ctx.outputs[0] = std::move(y);
    return Status::Ok();
  }

 private:
  ReduceOp op_;
  bool axes_from_input_;
  std::vector<int64_t> attr_axes_;
  bool keepdims_;
  bool noop_;
};

}  // namespace

exec::KernelFactory ReduceKernel(const std::string& op_type) {
  return [op_type](const exec::KernelInit& init) -> Result<std::unique_ptr<exec::Kernel>> {
    ReduceOp op;
    if (op_type == "ReduceSum") {
      op = ReduceOp::kSum;
    } else if (op_type == "ReduceMean") {
      op = ReduceOp::kMean;
    } else if (op_type == "ReduceMax") {
      op = ReduceOp::kMax;
    } else if (op_type == "ReduceMin") {
      op = ReduceOp::kMin;
    } else {
      return Internal("ReduceKernel: unknown reduction '", op_type, "'");
    }
    const ir::Node& node = init.node;
    const bool from_input = init.opset >= (op == ReduceOp::kSum ? 13 : 18);
    if (from_input && node.HasAttr("axes"))
      return InvalidArgument("attribute 'axes' is not allowed from opset ",
                             op == ReduceOp::kSum ? 13 : 18, ": axes are input 1");
    return std::unique_ptr<exec::Kernel>(
        new ReduceOpKernel(op, from_input, node.GetInts("axes"), node.GetInt("keepdims", 1) != 0,
                           node.GetInt("noop_with_empty_axes", 0) != 0));
  };
}

}  // namespace calib8::ops
