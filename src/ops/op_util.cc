// ops/op_util.cc — see op_util.h.
#include "ops/op_util.h"

namespace calib8::ops {

Result<const Tensor*> RequireInput(const exec::KernelContext& ctx, size_t i) {
  const Tensor* t = ctx.input(i);
  if (!t) return InvalidArgument("input ", i, " is required but was not given");
  return t;
}

Result<int64_t> NormalizeAxis(int64_t axis, int64_t rank, const ir::Node& node) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= std::max<int64_t>(rank, 1))
    return InvalidArgument("axis ", axis, " is out of range for rank ", rank);
  return a;
}

Result<Shape> BroadcastShapes(const std::vector<Shape>& shapes, const ir::Node& node) {
  size_t rank = 0;
  for (const auto& s : shapes) rank = std::max(rank, s.size());
  Shape out(rank, 1);
  for (const auto& s : shapes) {
    size_t off = rank - s.size();
    for (size_t i = 0; i < s.size(); ++i) {
      int64_t d = s[i];
      int64_t& o = out[off + i];
      if (d == o || d == 1) continue;
      if (o == 1) {
        o = d;
        continue;
      }
      std::string list;
      for (const auto& x : shapes) list += ShapeToString(x) + " ";
      return InvalidArgument("shapes ", list, "cannot be broadcast together");
    }
  }
  return out;
}

std::vector<int64_t> Strides(const Shape& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (int i = static_cast<int>(shape.size()) - 2; i >= 0; --i) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

std::vector<int64_t> BroadcastStrides(const Shape& in, const Shape& out) {
  std::vector<int64_t> s(out.size(), 0);
  auto is = Strides(in);
  size_t off = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i) s[off + i] = in[i] == 1 ? 0 : is[i];
  return s;
}

Result<std::vector<int64_t>> ReadInts(const Tensor& t, const std::string& what,
                                      const ir::Node& node) {
  std::vector<int64_t> v(static_cast<size_t>(t.numel()));
  if (t.dtype() == DataType::kInt64) {
    for (size_t i = 0; i < v.size(); ++i) v[i] = t.data<int64_t>()[i];
  } else if (t.dtype() == DataType::kInt32) {
    for (size_t i = 0; i < v.size(); ++i) v[i] = t.data<int32_t>()[i];
  } else {
    return InvalidArgument(what, ": expected int64 or int32, got ", DataTypeName(t.dtype()));
  }
  return v;
}

std::vector<float> ReadFloats(const Tensor& t) {
  std::vector<float> v(static_cast<size_t>(t.numel()));
  switch (t.dtype()) {
    case DataType::kFloat32:
      for (size_t i = 0; i < v.size(); ++i) v[i] = t.data<float>()[i];
      break;
    case DataType::kFloat64:
      for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(t.data<double>()[i]);
      break;
    case DataType::kInt64:
      for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(t.data<int64_t>()[i]);
      break;
    case DataType::kInt32:
      for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(t.data<int32_t>()[i]);
      break;
    default:
      break;
  }
  return v;
}

}  // namespace calib8::ops
