// ops/shape_ops.cc — data-movement kernels that change shapes: Reshape, Flatten, Squeeze and
// Unsqueeze (zero-copy views via Tensor::Reshaped), Shape, Expand, Concat and Split.
// Copy-only kernels work for every dtype (bytes are copied by element size). Transpose, Slice,
// Gather and Pad live in index_ops.cc; Resize and Upsample in resize.cc.
#include <algorithm>
#include <cstring>
#include <optional>
#include <utility>

#include "ops/kernels.h"
#include "ops/op_util.h"

namespace calib8::ops {
namespace {

Result<size_t> ElementSize(const Tensor& t, const ir::Node& node) {
  size_t s = DataTypeSize(t.dtype());
  if (s == 0)
    return Unimplemented("data type ", DataTypeName(t.dtype()), " is not supported by ",
                         node.op_type);
  return s;
}

// Axes for Squeeze/Unsqueeze: input 1 from opset 13, the 'axes' attribute before. nullopt when
// neither is given.
Result<std::optional<std::vector<int64_t>>> ReadAxes(const exec::KernelContext& ctx,
                                                     int64_t opset) {
  if (opset >= 13) {
    const Tensor* a = ctx.input(1);
    if (!a) return std::optional<std::vector<int64_t>>();
    CALIB8_ASSIGN_OR_RETURN(auto v, ReadInts(*a, "axes", ctx.node));
    return std::optional<std::vector<int64_t>>(std::move(v));
  }
  if (!ctx.node.HasAttr("axes")) return std::optional<std::vector<int64_t>>();
  return std::optional<std::vector<int64_t>>(ctx.node.GetInts("axes"));
}

Status RunReshape(exec::KernelContext& ctx, int64_t opset) {
  CALIB8_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0));
  std::vector<int64_t> spec;
  if (opset >= 5) {
    CALIB8_ASSIGN_OR_RETURN(const Tensor* s, RequireInput(ctx, 1));
    CALIB8_ASSIGN_OR_RETURN(spec, ReadInts(*s, "shape", ctx.node));
  } else {
    spec = ctx.node.GetInts("shape");
  }
  const bool allowzero = ctx.node.GetInt("allowzero", 0) != 0;
  Shape out(spec.size());
  int64_t inferred = -1, known = 1;
  for (size_t i = 0; i < spec.size(); ++i) {
    int64_t d = spec[i];
    if (d == -1) {
      if (inferred >= 0)
        return InvalidArgument("shape ", ShapeToString(spec), " has more than one -1");
      inferred = static_cast<int64_t>(i);
      continue;
    }
    if (d == 0 && !allowzero) {  // 0 copies the input's dim at the same position
      if (static_cast<int64_t>(i) >= x->rank())
        return InvalidArgument("shape ", ShapeToString(spec), ": 0 at position ", i,
                               " but the input ", ShapeToString(x->shape()), " has rank ",
                               x->rank());
      d = x->shape()[i];
    }
    if (d < 0) return InvalidArgument("shape ", ShapeToString(spec), " has a negative dim ", d);
    out[i] = d;
    known *= d;
  }
  if (inferred >= 0) {
    if (known == 0 ? x->numel() != 0 : x->numel() % known != 0)
      return InvalidArgument("cannot reshape ", ShapeToString(x->shape()), " to ",
                             ShapeToString(spec), ": the -1 dim cannot be inferred");
    out[inferred] = known == 0 ? 0 : x->numel() / known;
  }
  if (NumElements(out) != x->numel())
    return InvalidArgument("cannot reshape ", ShapeToString(x->shape()), " (", x->numel(),
                           " elements) to ", ShapeToString(out));
  ctx.outputs[0] = x->Reshaped(std::move(out));
  return Status::Ok();
}

Status RunSqueeze(exec::KernelContext& ctx, int64_t opset) {
  CALIB8_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0));
  CALIB8_ASSIGN_OR_RETURN(auto axes, ReadAxes(ctx, opset));
  const int64_t r = x->rank();
  std::vector<bool> drop(static_cast<size_t>(r), false);
  if (!axes || axes->empty()) {  // no axes: drop every dim of size 1
    for (int64_t i = 0; i < r; ++i) drop[i] = x->shape()[i] == 1;
  } else {
    for (int64_t a : *axes) {
      CALIB8_ASSIGN_OR_RETURN(int64_t n, NormalizeAxis(a, r, ctx.node));
      if (x->shape()[n] != 1)
        return InvalidArgument("cannot squeeze axis ", a, " of shape ", ShapeToString(x->shape()),
                               ": its size is not 1");
      drop[n] = true;
    }
  }
  Shape out;
  for (int64_t i = 0; i < r; ++i)
    if (!drop[i]) out.push_back(x->shape()[i]);
  ctx.outputs[0] = x->Reshaped(std::move(out));
  return Status::Ok();
}

Status RunUnsqueeze(exec::KernelContext& ctx, int64_t opset) {
  CALIB8_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0));
  CALIB8_ASSIGN_OR_RETURN(auto axes, ReadAxes(ctx, opset));
  if (!axes) return InvalidArgument("axes are required");
  // Axes index the output, whose rank is the input rank plus the number of new dims.
  const int64_t out_rank = x->rank() + static_cast<int64_t>(axes->size());
  std::vector<bool> is_new(static_cast<size_t>(out_rank), false);
  for (int64_t a : *axes) {
    CALIB8_ASSIGN_OR_RETURN(int64_t n, NormalizeAxis(a, out_rank, ctx.node));
    if (is_new[n]) return InvalidArgument("axis ", a, " is repeated in axes");
    is_new[n] = true;
  }
  Shape out(static_cast<size_t>(out_rank));
  size_t next = 0;
  for (int64_t i = 0; i < out_rank; ++i) out[i] = is_new[i] ? 1 : x->shape()[next++];
  ctx.outputs[0] = x->Reshaped(std::move(out));
  return Status::Ok();
}

Status RunShape(exec::KernelContext& ctx) {
  CALIB8_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0));
  const int64_t r = x->rank();
  // start/end (opset 15) select dims like a Python slice, clamped to [0, r].
  auto clamp_dim = [r](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + r : v, 0, r); };
  int64_t start = clamp_dim(ctx.node.GetInt("start", 0));
  int64_t end = clamp_dim(ctx.node.GetInt("end", r));
  int64_t n = std::max<int64_t>(0, end - start);
  Tensor y(DataType::kInt64, {n});
  for (int64_t i = 0; i < n; ++i) y.data<int64_t>()[i] = x->shape()[start + i];
  ctx.outputs[0] = std::move(y);
  return Status::Ok();
}

// Broadcasts x to `out` (numpy rules already checked), copying whole inner rows where x is not
// broadcast along the last dim.
Status BroadcastCopy(const Tensor& x, const Shape& out_shape, Tensor& y, const ir::Node& node) {
  if (y.numel() == 0) return Status::Ok();
  const auto in_st = BroadcastStrides(x.shape(), out_shape);
  const size_t r = out_shape.size();
  if (r == 0) {
    std::memcpy(y.raw(), x.raw(), y.nbytes());
    return Status::Ok();
  }
  const int64_t inner = out_shape[r - 1];
  const int64_t rows = y.numel() / inner;
  return DispatchBySize(x.dtype(), node, [&](auto tag) {
    using T = decltype(tag);
    const T* in = x.data<T>();
    T* out = y.data<T>();
    ParallelFor(
        rows,
        [&](int64_t row) {
          // Decompose the row index over the leading dims to find its input offset.
          int64_t rem = row, off = 0;
          for (size_t k = r - 1; k-- > 0;) {
            off += (rem % out_shape[k]) * in_st[k];
            rem /= out_shape[k];
          }
          T* dst = out + row * inner;
          if (in_st[r - 1] == 0) {
            std::fill(dst, dst + inner, in[off]);
          } else {
            std::memcpy(dst, in + off, sizeof(T) * static_cast<size_t>(inner));
          }
        },
        std::max<int64_t>(1, (1 << 16) / std::max<int64_t>(inner, 1)));
  });
}

Status RunExpand(exec::KernelContext& ctx) {
  CALIB8_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0));
  CALIB8_ASSIGN_OR_RETURN(const Tensor* s, RequireInput(ctx, 1));
  CALIB8_ASSIGN_OR_RETURN(auto target, ReadInts(*s, "shape", ctx.node));
  CALIB8_ASSIGN_OR_RETURN(Shape out, BroadcastShapes({x->shape(), target}, ctx.node));
  Tensor y(x->dtype(), out);
  CALIB8_RETURN_IF_ERROR(BroadcastCopy(*x, out, y, ctx.node));
  ctx.outputs[0] = std::move(y);
  return Status::Ok();
}

Status RunConcat(exec::KernelContext& ctx) {
  CALIB8_ASSIGN_OR_RETURN(const Tensor* first, RequireInput(ctx, 0));
  if (!ctx.node.HasAttr("axis")) return InvalidArgument("attribute 'axis' is required");
  const int64_t r = first->rank();
  CALIB8_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(ctx.node.GetInt("axis", 0), r, ctx.node));
  CALIB8_ASSIGN_OR_RETURN(size_t esize, ElementSize(*first, ctx.node));
  Shape out = first->shape();
  out[axis] = 0;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    CALIB8_ASSIGN_OR_RETURN(const Tensor* t, RequireInput(ctx, i));
    bool same = t->rank() == r && t->dtype() == first->dtype();
    for (int64_t k = 0; same && k < r; ++k) same = k == axis || t->shape()[k] == first->shape()[k];
    if (!same)
      return InvalidArgument("input ", i, " ", DataTypeName(t->dtype()), ShapeToString(t->shape()),
                             " does not match input 0 ", DataTypeName(first->dtype()),
                             ShapeToString(first->shape()), " outside axis ", axis);
    out[axis] += t->shape()[axis];
  }
  Tensor y(first->dtype(), out);
  // View every tensor as [outer, axis * inner]: each input contributes one block per outer row.
  int64_t outer = 1, inner = 1;
  for (int64_t k = 0; k < axis; ++k) outer *= out[k];
  for (int64_t k = axis + 1; k < r; ++k) inner *= out[k];
  const size_t out_row = static_cast<size_t>(out[axis] * inner) * esize;
  auto* dst = static_cast<unsigned char*>(y.raw());
  size_t col = 0;  // byte offset of the current input's block inside an output row
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor* t = ctx.input(i);
    const size_t block = static_cast<size_t>(t->shape()[axis] * inner) * esize;
    const auto* src = static_cast<const unsigned char*>(t->raw());
    if (block > 0) {
      ParallelFor(
          outer, [&](int64_t o) { std::memcpy(dst + o * out_row + col, src + o * block, block); },
          std::max<int64_t>(1, static_cast<int64_t>((1 << 18) / block)));
    }
    col += block;
  }
  ctx.outputs[0] = std::move(y);
  return Status::Ok();
}

Status RunSplit(exec::KernelContext& ctx, int64_t opset) {
  CALIB8_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0));
  const int64_t r = x->rank();
  CALIB8_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(ctx.node.GetInt("axis", 0), r, ctx.node));
  CALIB8_ASSIGN_OR_RETURN(size_t esize, ElementSize(*x, ctx.node));
  const int64_t dim = x->shape()[axis];
  const int64_t n_out = static_cast<int64_t>(ctx.num_outputs());
  std::vector<int64_t> sizes;
  if (opset >= 13 && ctx.input(1)) {
    CALIB8_ASSIGN_OR_RETURN(sizes, ReadInts(*ctx.input(1), "split", ctx.node));
  } else if (opset < 13 && ctx.node.HasAttr("split")) {
    sizes = ctx.node.GetInts("split");
  } else if (ctx.node.HasAttr("num_outputs")) {
    // Opset 18: chunks of ceil(dim / n); the last one holds what is left.
    int64_t n = ctx.node.GetInt("num_outputs", n_out);
    if (n <= 0) return InvalidArgument("num_outputs must be positive, got ", n);
    int64_t chunk = (dim + n - 1) / n;
    for (int64_t i = 0; i < n; ++i) sizes.push_back(std::clamp<int64_t>(dim - i * chunk, 0, chunk));
  } else {
    if (n_out <= 0 || dim % n_out != 0)
      return InvalidArgument("cannot split dim ", dim, " of axis ", axis, " into ", n_out,
                             " equal parts");
    sizes.assign(static_cast<size_t>(n_out), dim / n_out);
  }
  int64_t total = 0;
  for (int64_t s : sizes) {
    if (s < 0) return InvalidArgument("split sizes must not be negative, got ", s);
    total += s;
  }
  if (static_cast<int64_t>(sizes.size()) != n_out || total != dim)
    return InvalidArgument("split sizes ", ShapeToString(sizes), " do not divide axis ", axis,
                           " of size ", dim, " into ", n_out, " outputs");
  // View x as [outer, dim * inner]: output i takes a block of sizes[i] * inner per outer row.
  int64_t outer = 1, inner = 1;
  for (int64_t k = 0; k < axis; ++k) outer *= x->shape()[k];
  for (int64_t k = axis + 1; k < r; ++k) inner *= x->shape()[k];
  const size_t in_row = static_cast<size_t>(dim * inner) * esize;
  const auto* src = static_cast<const unsigned char*>(x->raw());
  size_t col = 0;
  for (int64_t i = 0; i < n_out; ++i) {
    Shape s = x->shape();
    s[axis] = sizes[i];
    Tensor y(x->dtype(), s);
    const size_t block = static_cast<size_t>(sizes[i] * inner) * esize;
    auto* dst = static_cast<unsigned char*>(y.raw());
    if (block > 0) {
      ParallelFor(
          outer, [&](int64_t o) { std::memcpy(dst + o * block, src + o * in_row + col, block); },
          std::max<int64_t>(1, static_cast<int64_t>((1 << 18) / block)));
    }
    col += block;
    ctx.outputs[i] = std::move(y);
  }
  return Status::Ok();
}

}  // namespace

exec::KernelFactory ConcatKernel() { return exec::Stateless(RunConcat); }

exec::KernelFactory SplitKernel() {
  return exec::StatelessFromInit([](const exec::KernelInit& init) -> exec::KernelFn {
    return [opset = init.opset](exec::KernelContext& ctx) { return RunSplit(ctx, opset); };
  });
}

exec::KernelFactory ReshapeKernel() {
  return exec::StatelessFromInit([](const exec::KernelInit& init) -> exec::KernelFn {
    return [opset = init.opset](exec::KernelContext& ctx) { return RunReshape(ctx, opset); };
  });
}

exec::KernelFactory FlattenKernel() {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    CALIB8_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0));
    const int64_t r = x->rank();
    int64_t axis = ctx.node.GetInt("axis", 1);
    if (axis < 0) axis += r;
    if (axis < 0 || axis > r)
      return InvalidArgument("axis ", ctx.node.GetInt("axis", 1), " is out of range for rank ", r);
    // Dims before `axis` form the first output dim, the rest the second.
    int64_t outer = 1;
    for (int64_t k = 0; k < axis; ++k) outer *= x->shape()[k];
    int64_t inner = 1;
    for (int64_t k = axis; k < r; ++k) inner *= x->shape()[k];
    ctx.outputs[0] = x->Reshaped({outer, inner});
    return Status::Ok();
  });
}

exec::KernelFactory SqueezeKernel() {
  return exec::StatelessFromInit([](const exec::KernelInit& init) -> exec::KernelFn {
    return [opset = init.opset](exec::KernelContext& ctx) { return RunSqueeze(ctx, opset); };
  });
}

exec::KernelFactory UnsqueezeKernel() {
  return exec::StatelessFromInit([](const exec::KernelInit& init) -> exec::KernelFn {
    return [opset = init.opset](exec::KernelContext& ctx) { return RunUnsqueeze(ctx, opset); };
  });
}

exec::KernelFactory ShapeKernel() { return exec::Stateless(RunShape); }

exec::KernelFactory ExpandKernel() { return exec::Stateless(RunExpand); }

}  // namespace calib8::ops
