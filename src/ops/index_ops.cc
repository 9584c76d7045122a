// ops/index_ops.cc — data-movement kernels that re-index elements: Transpose, Slice, Gather and
// Pad. They are their own reference (plain loops over rows of the last dim, OpenMP-parallel when
// large) and work for every dtype by element size. Shape-only ops live in shape_ops.cc.
#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <utility>

#include "ops/kernels.h"
#include "ops/op_util.h"

namespace calib8::ops {
namespace {

// Grain for ParallelFor over items of `work` elements each: parallel once ~64K elements in all.
int64_t GrainFor(int64_t work) {
  return std::max<int64_t>(1, (1 << 16) / std::max<int64_t>(work, 1));
}

// ---------------------------------------------------------------------------------------------
// Transpose

// Copies `in` to `out` where output dim j has size sz[j] and input stride st[j] (dims already
// coalesced, none of size 1). Two fast shapes: the last output dim is contiguous in the input
// (copy runs), or another dim p is (blocked 2-D transpose of dims p and last).
template <typename T>
void TransposeImpl(const T* in, T* out, const std::vector<int64_t>& sz,
                   const std::vector<int64_t>& st) {
  const size_t r = sz.size();
  const size_t last = r - 1;
  const auto ost = Strides(sz);  // output strides
  size_t p = last;
  for (size_t k = 0; k < r; ++k)
    if (st[k] == 1) p = k;
  // Dims walked by the outer loop: all but `last` (and `p` in the 2-D case).
  std::vector<size_t> outer_dims;
  for (size_t k = 0; k < last; ++k)
    if (k != p) outer_dims.push_back(k);
  int64_t outer = 1;
  for (size_t k : outer_dims) outer *= sz[k];
  // Offsets of outer item o in the input and output (mixed-radix decomposition of o).
  auto bases = [&](int64_t o, int64_t& ib, int64_t& ob) {
    ib = ob = 0;
    for (size_t i = outer_dims.size(); i-- > 0;) {
      size_t k = outer_dims[i];
      int64_t idx = o % sz[k];
      o /= sz[k];
      ib += idx * st[k];
      ob += idx * ost[k];
    }
  };
  const int64_t n_last = sz[last];
  if (st[last] == 1) {  // contiguous runs of n_last elements
    ParallelFor(
        outer,
        [&](int64_t o) {
          int64_t ib, ob;
          bases(o, ib, ob);
          std::memcpy(out + ob, in + ib, sizeof(T) * static_cast<size_t>(n_last));
        },
        GrainFor(n_last));
    return;
  }
  if (p == last) {  // no dim is contiguous (cannot happen after coalescing): plain gather
    ParallelFor(
        outer,
        [&](int64_t o) {
          int64_t ib, ob;
          bases(o, ib, ob);
          for (int64_t j = 0; j < n_last; ++j) out[ob + j] = in[ib + j * st[last]];
        },
        GrainFor(n_last));
    return;
  }
  // Blocked transpose: out[i * ost[p] + j] = in[i + j * st[last]] for i over dim p, j over last.
  constexpr int64_t kB = 32;
  const int64_t n_p = sz[p];
  const int64_t tiles_p = (n_p + kB - 1) / kB;
  const int64_t op = ost[p], il = st[last];
  ParallelFor(
      outer * tiles_p,
      [&](int64_t item) {
        int64_t ib, ob;
        bases(item / tiles_p, ib, ob);
        const int64_t i0 = (item % tiles_p) * kB, i1 = std::min(i0 + kB, n_p);
        for (int64_t j0 = 0; j0 < n_last; j0 += kB) {
          const int64_t j1 = std::min(j0 + kB, n_last);
          for (int64_t i = i0; i < i1; ++i) {
            T* dst = out + ob + i * op;
            const T* src = in + ib + i;
            for (int64_t j = j0; j < j1; ++j) dst[j] = src[j * il];
          }
        }
      },
      GrainFor(kB * n_last));
}

Status RunTranspose(exec::KernelContext& ctx) {
  CALIB8_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0));
  const int64_t r = x->rank();
  std::vector<int64_t> perm = ctx.node.GetInts("perm");
  if (perm.empty())
    for (int64_t k = r - 1; k >= 0; --k) perm.push_back(k);  // default: reverse the dims
  std::vector<bool> seen(static_cast<size_t>(r), false);
  bool valid = static_cast<int64_t>(perm.size()) == r;
  for (size_t j = 0; valid && j < perm.size(); ++j) {
    valid = perm[j] >= 0 && perm[j] < r && !seen[perm[j]];
    if (valid) seen[perm[j]] = true;
  }
  if (!valid)
    return InvalidArgument("perm ", ShapeToString(perm), " is not a permutation of ", r,
                           " dims (input ", ShapeToString(x->shape()), ")");
  Shape out(static_cast<size_t>(r));
  for (int64_t j = 0; j < r; ++j) out[j] = x->shape()[perm[j]];
  Tensor y(x->dtype(), out);
  if (y.numel() > 0) {
    // Coalesce: drop size-1 dims and merge output neighbours that stay adjacent in the input.
    const auto in_st = Strides(x->shape());
    std::vector<int64_t> sz, st;
    for (int64_t j = 0; j < r; ++j) {
      const int64_t s = out[j], is = in_st[perm[j]];
      if (s == 1) continue;
      if (!sz.empty() && st.back() == is * s) {
        sz.back() *= s;
        st.back() = is;
      } else {
        sz.push_back(s);
        st.push_back(is);
      }
    }
    if (sz.empty()) {  // a single element
      sz.push_back(1);
      st.push_back(1);
    }
    CALIB8_RETURN_IF_ERROR(DispatchBySize(x->dtype(), ctx.node, [&](auto tag) {
      using T = decltype(tag);
      TransposeImpl<T>(x->data<T>(), y.data<T>(), sz, st);
    }));
  }
  ctx.outputs[0] = std::move(y);
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Slice

Status RunSlice(exec::KernelContext& ctx, int64_t opset) {
  CALIB8_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0));
  const int64_t r = x->rank();
  std::vector<int64_t> starts, ends, axes, steps;
  if (opset < 10) {
    starts = ctx.node.GetInts("starts");
    ends = ctx.node.GetInts("ends");
    axes = ctx.node.GetInts("axes");
  } else {
    CALIB8_ASSIGN_OR_RETURN(const Tensor* s, RequireInput(ctx, 1));
    CALIB8_ASSIGN_OR_RETURN(const Tensor* e, RequireInput(ctx, 2));
    CALIB8_ASSIGN_OR_RETURN(starts, ReadInts(*s, "starts", ctx.node));
    CALIB8_ASSIGN_OR_RETURN(ends, ReadInts(*e, "ends", ctx.node));
    if (ctx.input(3)) {
      CALIB8_ASSIGN_OR_RETURN(axes, ReadInts(*ctx.input(3), "axes", ctx.node));
    }
    if (ctx.input(4)) {
      CALIB8_ASSIGN_OR_RETURN(steps, ReadInts(*ctx.input(4), "steps", ctx.node));
    }
  }
  const size_t n = starts.size();
  if (axes.empty())
    for (size_t i = 0; i < n; ++i) axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(n, 1);
  if (ends.size() != n || axes.size() != n || steps.size() != n)
    return InvalidArgument("starts, ends, axes and steps have different lengths (", n, ", ",
                           ends.size(), ", ", axes.size(), ", ", steps.size(), ")");
  // Per input dim: first index, step and output size (default: the whole dim).
  std::vector<int64_t> first(static_cast<size_t>(r), 0), step(static_cast<size_t>(r), 1);
  Shape out = x->shape();
  std::vector<bool> seen(static_cast<size_t>(r), false);
  for (size_t i = 0; i < n; ++i) {
    CALIB8_ASSIGN_OR_RETURN(int64_t a, NormalizeAxis(axes[i], r, ctx.node));
    if (seen[a]) return InvalidArgument("axis ", axes[i], " is repeated in axes");
    seen[a] = true;
    const int64_t d = x->shape()[a], k = steps[i];
    if (k == 0) return InvalidArgument("steps must not be 0 (axis ", axes[i], ")");
    int64_t b = starts[i], e = ends[i];
    if (b < 0) b += d;  // negative positions count from the end
    if (e < 0) e += d;
    int64_t count = 0;
    if (d > 0 && k > 0) {
      b = std::clamp<int64_t>(b, 0, d);
      e = std::clamp<int64_t>(e, 0, d);
      if (e > b) count = (e - b - 1) / k + 1;
    } else if (d > 0) {  // negative step walks down from b (at most d - 1) to e (at least -1)
      b = std::clamp<int64_t>(b, 0, d - 1);
      e = std::clamp<int64_t>(e, -1, d - 1);
      const int64_t neg =
          k == std::numeric_limits<int64_t>::min() ? std::numeric_limits<int64_t>::max() : -k;
      if (b > e) count = (b - e - 1) / neg + 1;
    }
    first[a] = count > 0 ? b : 0;
    step[a] = k;
    out[a] = count;
  }
  Tensor y(x->dtype(), out);
  if (y.numel() > 0) {
    const auto in_st = Strides(x->shape());
    const int64_t inner = r > 0 ? out[r - 1] : 1;
    const int64_t rows = y.numel() / inner;
    CALIB8_RETURN_IF_ERROR(DispatchBySize(x->dtype(), ctx.node, [&](auto tag) {
      using T = decltype(tag);
      const T* in = x->data<T>();
      T* dst = y.data<T>();
      ParallelFor(
          rows,
          [&](int64_t row) {
            // Input offset of the row: sum over leading dims of (first + idx * step) * stride.
            int64_t rem = row, off = 0;
            for (int64_t k = r - 2; k >= 0; --k) {
              off += (first[k] + (rem % out[k]) * step[k]) * in_st[k];
              rem /= out[k];
            }
            T* o = dst + row * inner;
            if (r == 0) {
              o[0] = in[0];
              return;
            }
            const T* src = in + off + first[r - 1];
            const int64_t s = step[r - 1];
            if (s == 1) {
              std::memcpy(o, src, sizeof(T) * static_cast<size_t>(inner));
            } else {
              for (int64_t j = 0; j < inner; ++j) o[j] = src[j * s];
            }
          },
          GrainFor(inner));
    }));
  }
  ctx.outputs[0] = std::move(y);
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Gather

Status RunGather(exec::KernelContext& ctx) {
  CALIB8_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0));
  CALIB8_ASSIGN_OR_RETURN(const Tensor* ind, RequireInput(ctx, 1));
  const int64_t r = x->rank();
  if (r == 0) return InvalidArgument("data must have rank >= 1");
  CALIB8_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(ctx.node.GetInt("axis", 0), r, ctx.node));
  CALIB8_ASSIGN_OR_RETURN(auto idx, ReadInts(*ind, "indices", ctx.node));
  const size_t esize = DataTypeSize(x->dtype());
  if (esize == 0)
    return Unimplemented("data type ", DataTypeName(x->dtype()), " is not supported by Gather");
  const int64_t d = x->shape()[axis];
  for (auto& i : idx) {
    if (i < -d || i >= d)
      return InvalidArgument("index ", i, " is out of range for axis ", axis, " of size ", d);
    if (i < 0) i += d;
  }
  // Output shape: data dims before axis, then the indices' dims, then data dims after axis.
  Shape out(x->shape().begin(), x->shape().begin() + axis);
  out.insert(out.end(), ind->shape().begin(), ind->shape().end());
  out.insert(out.end(), x->shape().begin() + axis + 1, x->shape().end());
  Tensor y(x->dtype(), out);
  int64_t outer = 1, inner = 1;
  for (int64_t k = 0; k < axis; ++k) outer *= x->shape()[k];
  for (int64_t k = axis + 1; k < r; ++k) inner *= x->shape()[k];
  const int64_t ni = static_cast<int64_t>(idx.size());
  const size_t block = static_cast<size_t>(inner) * esize;  // bytes per gathered slice
  const auto* src = static_cast<const unsigned char*>(x->raw());
  auto* dst = static_cast<unsigned char*>(y.raw());
  if (block > 0) {
    // Item (o, j) copies slice idx[j] of outer row o to output position o * ni + j.
    ParallelFor(
        outer * ni,
        [&](int64_t item) {
          const int64_t o = item / ni, j = item % ni;
          std::memcpy(dst + item * block, src + (o * d + idx[j]) * block, block);
        },
        GrainFor(inner));
  }
  ctx.outputs[0] = std::move(y);
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Pad

// Input index for output position o of a dim of size d padded by `before`; -1 = constant.
int64_t PadSource(int64_t o, int64_t before, int64_t d, int mode) {
  int64_t i = o - before;
  if (i >= 0 && i < d) return i;
  if (d == 0) return -1;
  switch (mode) {
    case 1: {  // reflect (mirror without repeating the edge), period 2 * (d - 1)
      if (d == 1) return 0;
      const int64_t period = 2 * (d - 1);
      int64_t m = ((i % period) + period) % period;
      return m < d ? m : period - m;
    }
    case 2:
      return std::clamp<int64_t>(i, 0, d - 1);  // edge
    case 3:
      return ((i % d) + d) % d;  // wrap
    default:
      return -1;  // constant
  }
}

// Fills y (shape `out`) row by row from x: src_of[k][o] is the input index of output index o
// along axis k, -1 for the constant whose bytes are `fill`.
Status PadRows(exec::KernelContext& ctx, const Tensor* x, const Shape& out,
               const std::vector<std::vector<int64_t>>& src_of,
               const std::array<unsigned char, 8>& fill, Tensor& y) {
  const int64_t r = x->rank();
  const auto in_st = Strides(x->shape());
  const int64_t inner = r > 0 ? out[r - 1] : 1;
  const int64_t rows = y.numel() / inner;
  CALIB8_RETURN_IF_ERROR(DispatchBySize(x->dtype(), ctx.node, [&](auto tag) {
    using T = decltype(tag);
    T cv;
    std::memcpy(&cv, fill.data(), sizeof(T));
    const T* in = x->data<T>();
    T* dst = y.data<T>();
    ParallelFor(
        rows,
        [&](int64_t row) {
          T* o = dst + row * inner;
          if (r == 0) {
            o[0] = in[0];
            return;
          }
          // Source offset of the row from its leading indices; any padded one -> constant row.
          int64_t rem = row, off = 0;
          bool constant_row = false;
          for (int64_t k = r - 2; k >= 0; --k) {
            const int64_t s = src_of[k][rem % out[k]];
            rem /= out[k];
            if (s < 0) constant_row = true;
            off += s * in_st[k];
          }
          if (constant_row) {
            std::fill(o, o + inner, cv);
            return;
          }
          const auto& last = src_of[r - 1];
          for (int64_t j = 0; j < inner; ++j) o[j] = last[j] < 0 ? cv : in[off + last[j]];
        },
        GrainFor(inner));
  }));
  return Status::Ok();
}

Status RunPad(exec::KernelContext& ctx, int64_t opset) {
  CALIB8_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0));
  const int64_t r = x->rank();
  const size_t esize = DataTypeSize(x->dtype());
  if (esize == 0)
    return Unimplemented("data type ", DataTypeName(x->dtype()), " is not supported by Pad");
  const std::string mode_name = ctx.node.GetString("mode", "constant");
  int mode;
  if (mode_name == "constant")
    mode = 0;
  else if (mode_name == "reflect")
    mode = 1;
  else if (mode_name == "edge")
    mode = 2;
  else if (mode_name == "wrap")
    mode = 3;
  else
    return InvalidArgument("unknown Pad mode '", mode_name, "'");

  std::vector<int64_t> pads, axes;
  std::array<unsigned char, 8> fill{};  // the constant value's bytes
  if (opset < 11) {
    pads = ctx.node.GetInts(ctx.node.HasAttr("pads") ? "pads" : "paddings");
    const float value = ctx.node.GetFloat("value", 0.0f);
    Status s = DispatchNumeric(x->dtype(), ctx.node, [&](auto tag) {
      auto v = static_cast<decltype(tag)>(value);
      std::memcpy(fill.data(), &v, sizeof(v));
    });
    if (!s.ok() && value != 0.0f) return s;
  } else {
    CALIB8_ASSIGN_OR_RETURN(const Tensor* p, RequireInput(ctx, 1));
    CALIB8_ASSIGN_OR_RETURN(pads, ReadInts(*p, "pads", ctx.node));
    if (const Tensor* c = ctx.input(2); c && c->numel() > 0) {
      if (c->dtype() != x->dtype())
        return InvalidArgument("constant_value is ", DataTypeName(c->dtype()), " but data is ",
                               DataTypeName(x->dtype()));
      std::memcpy(fill.data(), c->raw(), esize);
    }
    if (ctx.input(3)) {
      CALIB8_ASSIGN_OR_RETURN(axes, ReadInts(*ctx.input(3), "axes", ctx.node));
    }
  }
  if (axes.empty())
    for (int64_t k = 0; k < r; ++k) axes.push_back(k);
  const size_t na = axes.size();
  if (pads.size() != 2 * na)
    return InvalidArgument("pads has ", pads.size(), " values, expected ", 2 * na, " for input ",
                           ShapeToString(x->shape()));
  // pads = [begin of each axis..., end of each axis...], spread over all dims.
  std::vector<int64_t> before(static_cast<size_t>(r), 0), after(static_cast<size_t>(r), 0);
  for (size_t i = 0; i < na; ++i) {
    CALIB8_ASSIGN_OR_RETURN(int64_t a, NormalizeAxis(axes[i], r, ctx.node));
    before[a] = pads[i];
    after[a] = pads[na + i];
  }
  Shape out(static_cast<size_t>(r));
  std::vector<std::vector<int64_t>> src_of(static_cast<size_t>(r));
  for (int64_t k = 0; k < r; ++k) {
    const int64_t d = x->shape()[k];
    out[k] = d + before[k] + after[k];
    if (out[k] < 0)
      return InvalidArgument("pads ", ShapeToString(pads), " remove more than input ",
                             ShapeToString(x->shape()), " has");
    if (mode != 0 && d == 0 && out[k] > 0)
      return InvalidArgument("cannot ", mode_name, "-pad an empty axis ", k);
    src_of[k].resize(static_cast<size_t>(out[k]));
    for (int64_t o = 0; o < out[k]; ++o) src_of[k][o] = PadSource(o, before[k], d, mode);
  }
  Tensor y(x->dtype(), out);
  if (y.numel() > 0) {
    CALIB8_RETURN_IF_ERROR(PadRows(ctx, x, out, src_of, fill, y));
  }
  ctx.outputs[0] = std::move(y);
  return Status::Ok();
}

}  // namespace

exec::KernelFactory TransposeKernel() { return exec::Stateless(RunTranspose); }

exec::KernelFactory SliceKernel() {
  return exec::StatelessFromInit([](const exec::KernelInit& init) -> exec::KernelFn {
    return [opset = init.opset](exec::KernelContext& ctx) { return RunSlice(ctx, opset); };
  });
}

exec::KernelFactory GatherKernel() { return exec::Stateless(RunGather); }

exec::KernelFactory PadKernel() {
  return exec::StatelessFromInit([](const exec::KernelInit& init) -> exec::KernelFn {
    return [opset = init.opset](exec::KernelContext& ctx) { return RunPad(ctx, opset); };
  });
}

}  // namespace calib8::ops
