// ops/elementwise_binary.cc — broadcasting element-wise kernels: binary arithmetic and
// comparison (Add ... Mod, Equal ... GreaterOrEqual, And/Or/Xor), the variadic Max/Min/Sum/Mean,
// Where and PRelu. Unary ops, Clip, Cast and Identity live in elementwise_unary.cc.
// All share one broadcast walker: dims are coalesced so that the inner loop runs over a flat row
// in which each operand is either contiguous or a single value (vectorisable, no index math).
#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>
#include <type_traits>

#include "ops/kernels.h"
#include "ops/op_util.h"

namespace calib8::ops {

namespace {

// ---------------------------------------------------------------------------------------------
// Broadcast plan: the output walked as `rows` rows of `inner` elements. Within a row operand k
// advances by inner_step[k] (1, or 0 when broadcast along the row); a row's start offset in
// operand k is the sum over the outer dims of index * outer_strides[k][d].

template <size_t K>
struct BroadcastPlan {
  Shape out_shape;
  int64_t inner = 1;
  int64_t rows = 1;
  std::vector<int64_t> outer_dims;
  std::array<std::vector<int64_t>, K> outer_strides;
  std::array<int64_t, K> inner_step{};
};

template <size_t K>
Result<BroadcastPlan<K>> MakePlan(const std::array<const Shape*, K>& shapes, const ir::Node& node) {
  std::vector<Shape> list;
  for (const Shape* s : shapes) list.push_back(*s);
  CALIB8_ASSIGN_OR_RETURN(Shape out, BroadcastShapes(list, node));
  BroadcastPlan<K> p;
  p.out_shape = out;
  const size_t rank = out.size();
  // Coalesced dims: size and, per operand, whether it is full (true) or broadcast (false).
  std::vector<int64_t> dims;
  std::vector<std::array<bool, K>> full;
  for (size_t d = 0; d < rank; ++d) {
    if (out[d] == 1) continue;
    std::array<bool, K> f{};
    for (size_t k = 0; k < K; ++k) {
      const Shape& s = *shapes[k];
      size_t off = rank - s.size();
      f[k] = d >= off && s[d - off] != 1;
    }
    if (!dims.empty() && full.back() == f) {
      dims.back() *= out[d];
    } else {
      dims.push_back(out[d]);
      full.push_back(f);
    }
  }
  if (dims.empty()) {  // every dim is 1 (or a scalar): one row of one element
    for (size_t k = 0; k < K; ++k) p.inner_step[k] = 0;
    p.inner = NumElements(out);
    return p;
  }
  const size_t nd = dims.size();
  p.inner = dims[nd - 1];
  p.outer_dims.assign(dims.begin(), dims.end() - 1);
  for (size_t k = 0; k < K; ++k) {
    p.inner_step[k] = full[nd - 1][k] ? 1 : 0;
    // Row-major strides of operand k over the coalesced dims (size 1 where broadcast).
    std::vector<int64_t> strides(nd, 0);
    int64_t acc = 1;
    for (size_t d = nd; d-- > 0;) {
      strides[d] = full[d][k] ? acc : 0;
      if (full[d][k]) acc *= dims[d];
    }
    p.outer_strides[k].assign(strides.begin(), strides.end() - 1);
  }
  for (int64_t d : p.outer_dims) p.rows *= d;
  return p;
}

// Calls fn(out_offset, in_offsets, length) over pieces of rows covering the output, in parallel
// (OpenMP) when the output is large. Long rows are split when there are fewer rows than threads.
template <size_t K, typename F>
void ForEachRow(const BroadcastPlan<K>& p, int threads, F&& fn) {
  constexpr int64_t kMinWork = 1 << 15;
  const int64_t total = p.rows * p.inner;
  if (total == 0) return;
  int64_t pieces = 1;
  if (threads > 1 && total >= 2 * kMinWork && p.rows < 4 * threads)
    pieces = std::max<int64_t>(
        1, std::min<int64_t>((4 * threads + p.rows - 1) / p.rows, p.inner / kMinWork));
  const int64_t units = p.rows * pieces;
  auto run_unit = [&](int64_t u) {
    const int64_t row = u / pieces, piece = u % pieces;
    const int64_t begin = piece * p.inner / pieces, end = (piece + 1) * p.inner / pieces;
    std::array<int64_t, K> off{};
    int64_t rem = row;
    for (size_t d = p.outer_dims.size(); d-- > 0;) {
      const int64_t idx = rem % p.outer_dims[d];
      rem /= p.outer_dims[d];
      for (size_t k = 0; k < K; ++k) off[k] += idx * p.outer_strides[k][d];
    }
    for (size_t k = 0; k < K; ++k) off[k] += begin * p.inner_step[k];
    fn(row * p.inner + begin, off, end - begin);
  };
  if (threads <= 1 || total < 2 * kMinWork || units == 1) {
    for (int64_t u = 0; u < units; ++u) run_unit(u);
    return;
  }
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t u = 0; u < units; ++u) run_unit(u);
}

// One row of a binary op; the four stride cases are separate flat loops so they vectorise.
template <typename A, typename B, typename R, typename Op>
inline void BinaryRow(const A* __restrict a, int64_t sa, const B* __restrict b, int64_t sb,
                      R* __restrict o, int64_t n, Op op) {
  if (sa && sb) {
    for (int64_t i = 0; i < n; ++i) o[i] = op(a[i], b[i]);
  } else if (sa) {
    const B bv = b[0];
    for (int64_t i = 0; i < n; ++i) o[i] = op(a[i], bv);
  } else if (sb) {
    const A av = a[0];
    for (int64_t i = 0; i < n; ++i) o[i] = op(av, b[i]);
  } else {
    const R v = op(a[0], b[0]);
    for (int64_t i = 0; i < n; ++i) o[i] = v;
  }
}

// out = op(a, b) with numpy broadcasting; A, B are the operand element types, R the result's
// (bool, or else a's type).
template <typename A, typename B, typename R, typename Op>
Result<Tensor> Broadcast2(const Tensor& a, const Tensor& b, const ir::Node& node, int threads,
                          Op op) {
  CALIB8_ASSIGN_OR_RETURN(auto plan, MakePlan<2>({&a.shape(), &b.shape()}, node));
  Tensor out(std::is_same_v<R, bool> ? DataType::kBool : a.dtype(), plan.out_shape);
  const A* pa = a.data<A>();
  const B* pb = b.data<B>();
  R* po = out.data<R>();
  ForEachRow(plan, threads, [&](int64_t o, const std::array<int64_t, 2>& in, int64_t n) {
    BinaryRow(pa + in[0], plan.inner_step[0], pb + in[1], plan.inner_step[1], po + o, n, op);
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Scalar semantics.

// Integer division truncating toward zero (C++ and ONNX); x/0 gives 0 rather than trapping, and
// INT_MIN / -1 wraps.
template <typename T>
inline T IntDiv(T a, T b) {
  if (b == 0) return 0;
  if constexpr (std::is_signed_v<T>) {
    if (b == -1) return static_cast<T>(0 - static_cast<std::make_unsigned_t<T>>(a));
  }
  return static_cast<T>(a / b);
}

// Mod: fmod=1 takes the dividend's sign (C fmod); fmod=0 the divisor's (Python %).
template <typename T>
inline T ModOp(T a, T b, bool fmod) {
  if constexpr (std::is_floating_point_v<T>) {
    T r = std::fmod(a, b);
    if (!fmod && r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
  } else {
    if (b == 0) return 0;
    if constexpr (std::is_signed_v<T>) {
      if (b == -1) return 0;
      T r = static_cast<T>(a % b);
      if (!fmod && r != 0 && ((r < 0) != (b < 0))) r = static_cast<T>(r + b);
      return r;
    } else {
      return static_cast<T>(a % b);
    }
  }
}

// Pow with base type T and exponent type E; the result has type T.
template <typename T, typename E>
inline T PowOp(T a, E b) {
  if constexpr (std::is_integral_v<T> && std::is_integral_v<E>) {
    if (b < 0) return static_cast<T>(std::pow(static_cast<double>(a), static_cast<double>(b)));
    T r = 1, x = a;
    for (auto e = b; e > 0; e /= 2) {
      if (e & 1) r = static_cast<T>(r * x);
      x = static_cast<T>(x * x);
    }
    return r;
  } else if constexpr (std::is_same_v<T, float> && std::is_same_v<E, float>) {
    return std::pow(a, b);
  } else {
    return static_cast<T>(std::pow(static_cast<double>(a), static_cast<double>(b)));
  }
}

// c ? a : b without a branch. GCC (with the default -ftrapping-math) does not if-convert a float
// comparison feeding `?:` with non-constant arms, which blocks vectorisation; a bit mask does not.
template <typename T>
inline T Select(bool c, T a, T b) {
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
    using U = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
    const U m = U{0} - static_cast<U>(c);
    return std::bit_cast<T>((std::bit_cast<U>(a) & m) | (std::bit_cast<U>(b) & ~m));
  } else {
    return c ? a : b;
  }
}

// Max/Min propagate NaN like numpy.
template <typename T>
inline T MaxOp(T a, T b) {
  if constexpr (std::is_floating_point_v<T>)
    return Select(a > b || a != a, a, b);
  else
    return a > b ? a : b;
}
template <typename T>
inline T MinOp(T a, T b) {
  if constexpr (std::is_floating_point_v<T>)
    return Select(a < b || a != a, a, b);
  else
    return a < b ? a : b;
}

// Numeric types plus bool (Equal accepts bool; bool compares as its 0/1 value).
template <typename F>
Status DispatchNumericOrBool(DataType dt, const ir::Node& node, F&& fn) {
  if (dt == DataType::kBool) {
    fn(bool{});
    return Status::Ok();
  }
  return DispatchNumeric(dt, node, fn);
}

enum class BinOp {
  kAdd,
  kSub,
  kMul,
  kDiv,
  kPow,
  kMod,
  kEqual,
  kLess,
  kGreater,
  kLessOrEqual,
  kGreaterOrEqual,
  kAnd,
  kOr,
  kXor,
  kMax,
  kMin,
  kSum,
  kMean,
};

Result<BinOp> ParseBinOp(const std::string& op) {
  static const std::pair<const char*, BinOp> kOps[] = {{"Add", BinOp::kAdd},
                                                       {"Sub", BinOp::kSub},
                                                       {"Mul", BinOp::kMul},
                                                       {"Div", BinOp::kDiv},
                                                       {"Pow", BinOp::kPow},
                                                       {"Mod", BinOp::kMod},
                                                       {"Equal", BinOp::kEqual},
                                                       {"Less", BinOp::kLess},
                                                       {"Greater", BinOp::kGreater},
                                                       {"LessOrEqual", BinOp::kLessOrEqual},
                                                       {"GreaterOrEqual", BinOp::kGreaterOrEqual},
                                                       {"And", BinOp::kAnd},
                                                       {"Or", BinOp::kOr},
                                                       {"Xor", BinOp::kXor},
                                                       {"Max", BinOp::kMax},
                                                       {"Min", BinOp::kMin},
                                                       {"Sum", BinOp::kSum},
                                                       {"Mean", BinOp::kMean}};
  for (const auto& [name, op_enum] : kOps)
    if (op == name) return op_enum;
  return Internal("BinaryKernel was registered for '", op, "', which it does not implement");
}

bool IsVariadic(BinOp op) {
  return op == BinOp::kMax || op == BinOp::kMin || op == BinOp::kSum || op == BinOp::kMean;
}

// Same-type arithmetic (Add, Sub, Mul, Div, Mod, Max, Min, Sum/Mean's pairwise sum).
template <typename T>
Result<Tensor> Arith(BinOp op, const Tensor& a, const Tensor& b, const exec::KernelContext& ctx,
                     bool fmod) {
  const ir::Node& n = ctx.node;
  const int th = ctx.num_threads;
  switch (op) {
    case BinOp::kAdd:
    case BinOp::kSum:
    case BinOp::kMean:
      return Broadcast2<T, T, T>(a, b, n, th, [](T x, T y) { return static_cast<T>(x + y); });
    case BinOp::kSub:
      return Broadcast2<T, T, T>(a, b, n, th, [](T x, T y) { return static_cast<T>(x - y); });
    case BinOp::kMul:
      return Broadcast2<T, T, T>(a, b, n, th, [](T x, T y) { return static_cast<T>(x * y); });
    case BinOp::kDiv:
      if constexpr (std::is_integral_v<T>)
        return Broadcast2<T, T, T>(a, b, n, th, [](T x, T y) { return IntDiv(x, y); });
      else
        return Broadcast2<T, T, T>(a, b, n, th, [](T x, T y) { return x / y; });
    case BinOp::kMod:
      return Broadcast2<T, T, T>(a, b, n, th, [fmod](T x, T y) { return ModOp(x, y, fmod); });
    case BinOp::kMax:
      return Broadcast2<T, T, T>(a, b, n, th, [](T x, T y) { return MaxOp(x, y); });
    case BinOp::kMin:
      return Broadcast2<T, T, T>(a, b, n, th, [](T x, T y) { return MinOp(x, y); });
    default:
      return Internal("unexpected arithmetic op");
  }
}

template <typename T>
Result<Tensor> Compare(BinOp op, const Tensor& a, const Tensor& b, const exec::KernelContext& ctx) {
  const ir::Node& n = ctx.node;
  const int th = ctx.num_threads;
  switch (op) {
    case BinOp::kEqual:
      return Broadcast2<T, T, bool>(a, b, n, th, [](T x, T y) { return x == y; });
    case BinOp::kLess:
      return Broadcast2<T, T, bool>(a, b, n, th, [](T x, T y) { return x < y; });
    case BinOp::kGreater:
      return Broadcast2<T, T, bool>(a, b, n, th, [](T x, T y) { return x > y; });
    case BinOp::kLessOrEqual:
      return Broadcast2<T, T, bool>(a, b, n, th, [](T x, T y) { return x <= y; });
    case BinOp::kGreaterOrEqual:
      return Broadcast2<T, T, bool>(a, b, n, th, [](T x, T y) { return x >= y; });
    default:
      return Internal("unexpected comparison op");
  }
}

// Pow: base float32/float64/int32/int64, exponent any numeric type; result has the base's type.
Result<Tensor> Pow(const Tensor& a, const Tensor& b, const exec::KernelContext& ctx) {
  const ir::Node& n = ctx.node;
  Result<Tensor> result = Internal("Pow: not computed");
  auto with_base = [&](auto base_tag) {
    using T = decltype(base_tag);
    // Common float32 cases without a pow call: x^2 and x^0.5 with a scalar exponent.
    if constexpr (std::is_same_v<T, float>) {
      if (b.dtype() == DataType::kFloat32 && b.numel() == 1 && b.rank() <= a.rank()) {
        const float e = b.data<float>()[0];
        if (e == 2.0f) {
          result = Broadcast2<float, float, float>(a, b, n, ctx.num_threads,
                                                   [](float x, float) { return x * x; });
          return Status::Ok();
        }
        if (e == 0.5f) {
          result = Broadcast2<float, float, float>(a, b, n, ctx.num_threads,
                                                   [](float x, float) { return std::sqrt(x); });
          return Status::Ok();
        }
      }
    }
    return DispatchNumeric(b.dtype(), n, [&](auto exp_tag) {
      using E = decltype(exp_tag);
      result = Broadcast2<T, E, T>(a, b, n, ctx.num_threads, [](T x, E y) { return PowOp(x, y); });
    });
  };
  Status s;
  switch (a.dtype()) {
    case DataType::kFloat32:
      s = with_base(float{});
      break;
    case DataType::kFloat64:
      s = with_base(double{});
      break;
    case DataType::kInt32:
      s = with_base(int32_t{});
      break;
    case DataType::kInt64:
      s = with_base(int64_t{});
      break;
    default:
      return Unimplemented("Pow: base of type ", DataTypeName(a.dtype()),
                           " is not supported (expected float32, float64, int32 or int64)");
  }
  CALIB8_RETURN_IF_ERROR(s);
  return result;
}

// One step of the op on two tensors (a variadic op folds this over its inputs).
Result<Tensor> ApplyBinary(BinOp op, const Tensor& a, const Tensor& b,
                           const exec::KernelContext& ctx, bool fmod) {
  if (op == BinOp::kPow) return Pow(a, b, ctx);
  if (a.dtype() != b.dtype())
    return InvalidArgument("operands have types ", DataTypeName(a.dtype()), " and ",
                           DataTypeName(b.dtype()), ": expected one type");
  const DataType dt = a.dtype();
  Result<Tensor> result = Internal("not computed");
  switch (op) {
    case BinOp::kAnd:
    case BinOp::kOr:
    case BinOp::kXor: {
      if (dt != DataType::kBool)
        return InvalidArgument("operands have type ", DataTypeName(dt), ": expected bool");
      auto fn = op == BinOp::kAnd ? 0 : op == BinOp::kOr ? 1 : 2;
      if (fn == 0)
        return Broadcast2<bool, bool, bool>(a, b, ctx.node, ctx.num_threads,
                                            [](bool x, bool y) { return x && y; });
      if (fn == 1)
        return Broadcast2<bool, bool, bool>(a, b, ctx.node, ctx.num_threads,
                                            [](bool x, bool y) { return x || y; });
      return Broadcast2<bool, bool, bool>(a, b, ctx.node, ctx.num_threads,
                                          [](bool x, bool y) { return x != y; });
    }
    case BinOp::kEqual:
    case BinOp::kLess:
    case BinOp::kGreater:
    case BinOp::kLessOrEqual:
    case BinOp::kGreaterOrEqual:
      CALIB8_RETURN_IF_ERROR(DispatchNumericOrBool(
          dt, ctx.node, [&](auto tag) { result = Compare<decltype(tag)>(op, a, b, ctx); }));
      return result;
    default:
      CALIB8_RETURN_IF_ERROR(DispatchNumeric(
          dt, ctx.node, [&](auto tag) { result = Arith<decltype(tag)>(op, a, b, ctx, fmod); }));
      return result;
  }
}

class BinaryKernelImpl : public exec::Kernel {
 public:
  BinaryKernelImpl(BinOp op, bool fmod) : op_(op), fmod_(fmod) {}

  Status Run(exec::KernelContext& ctx) override {
    if (!IsVariadic(op_)) {
      CALIB8_ASSIGN_OR_RETURN(const Tensor* a, RequireInput(ctx, 0));
      CALIB8_ASSIGN_OR_RETURN(const Tensor* b, RequireInput(ctx, 1));
      CALIB8_ASSIGN_OR_RETURN(ctx.outputs[0], ApplyBinary(op_, *a, *b, ctx, fmod_));
      return Status::Ok();
    }
    std::vector<const Tensor*> ins;
    for (size_t i = 0; i < ctx.num_inputs(); ++i)
      if (ctx.input(i)) ins.push_back(ctx.input(i));
    if (ins.empty()) return InvalidArgument("expected at least one input, got none");
    if (ins.size() == 1) {
      if (op_ == BinOp::kMean || op_ == BinOp::kSum)
        CALIB8_RETURN_IF_ERROR(DispatchNumeric(ins[0]->dtype(), ctx.node, [](auto) {}));
      ctx.outputs[0] = *ins[0];  // a view: kernels never write into their inputs
      return Status::Ok();
    }
    CALIB8_ASSIGN_OR_RETURN(Tensor acc, ApplyBinary(op_, *ins[0], *ins[1], ctx, fmod_));
    for (size_t i = 2; i < ins.size(); ++i) {
      CALIB8_ASSIGN_OR_RETURN(acc, ApplyBinary(op_, acc, *ins[i], ctx, fmod_));
    }
    if (op_ == BinOp::kMean) {
      const int64_t count = static_cast<int64_t>(ins.size());
      CALIB8_RETURN_IF_ERROR(DispatchNumeric(acc.dtype(), ctx.node, [&](auto tag) {
        using T = decltype(tag);
        T* p = acc.data<T>();
        const int64_t n = acc.numel();
        for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(p[i] / static_cast<T>(count));
      }));
    }
    ctx.outputs[0] = std::move(acc);
    return Status::Ok();
  }

 private:
  BinOp op_;
  bool fmod_;
};

// Where rows, on the elements' bits (T is an unsigned integer of the element's size). Operands
// advance by 0 or 1, so a multiply by the step is enough off the all-contiguous path. Both arms
// are loaded unconditionally and blended with a mask so that the contiguous loop vectorises.
template <typename T>
void WhereRow(const bool* __restrict c, int64_t sc, const T* __restrict x, int64_t sx,
              const T* __restrict y, int64_t sy, T* __restrict o, int64_t n) {
  static_assert(std::is_unsigned_v<T>);
  if (sc && sx && sy) {
    for (int64_t i = 0; i < n; ++i) {
      const T m = static_cast<T>(T{0} - static_cast<T>(c[i]));
      o[i] = static_cast<T>((x[i] & m) | (y[i] & ~m));
    }
  } else {
    for (int64_t i = 0; i < n; ++i) {
      const T m = static_cast<T>(T{0} - static_cast<T>(c[i * sc]));
      o[i] = static_cast<T>((x[i * sx] & m) | (y[i * sy] & ~m));
    }
  }
}

}  // namespace

exec::KernelFactory BinaryKernel(const std::string& op_type) {
  return [op_type](const exec::KernelInit& init) -> Result<std::unique_ptr<exec::Kernel>> {
    CALIB8_ASSIGN_OR_RETURN(BinOp op, ParseBinOp(op_type));
    bool fmod = false;
    if (op == BinOp::kMod) {
      const int64_t f = init.node.GetInt("fmod", 0);
      if (f != 0 && f != 1) return InvalidArgument("attribute fmod is ", f, ": expected 0 or 1");
      fmod = f == 1;
    }
    return std::unique_ptr<exec::Kernel>(new BinaryKernelImpl(op, fmod));
  };
}

exec::KernelFactory WhereKernel() {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    CALIB8_ASSIGN_OR_RETURN(const Tensor* c, RequireInput(ctx, 0));
    CALIB8_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 1));
    CALIB8_ASSIGN_OR_RETURN(const Tensor* y, RequireInput(ctx, 2));
    if (c->dtype() != DataType::kBool)
      return InvalidArgument("condition has type ", DataTypeName(c->dtype()), ": expected bool");
    if (x->dtype() != y->dtype())
      return InvalidArgument("X has type ", DataTypeName(x->dtype()), " and Y ",
                             DataTypeName(y->dtype()), ": expected one type");
    CALIB8_ASSIGN_OR_RETURN(auto plan,
                            MakePlan<3>({&c->shape(), &x->shape(), &y->shape()}, ctx.node));
    Tensor out(x->dtype(), plan.out_shape);
    CALIB8_RETURN_IF_ERROR(DispatchBySize(x->dtype(), ctx.node, [&](auto tag) {
      using T = decltype(tag);
      const bool* pc = c->data<bool>();
      const T* px = x->data<T>();
      const T* py = y->data<T>();
      T* po = out.data<T>();
      ForEachRow(plan, ctx.num_threads,
                 [&](int64_t o, const std::array<int64_t, 3>& in, int64_t n) {
                   WhereRow(pc + in[0], plan.inner_step[0], px + in[1], plan.inner_step[1],
                            py + in[2], plan.inner_step[2], po + o, n);
                 });
    }));
    ctx.outputs[0] = std::move(out);
    return Status::Ok();
  });
}

exec::KernelFactory PReluKernel() {
  return exec::Stateless([](exec::KernelContext& ctx) -> Status {
    CALIB8_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0));
    CALIB8_ASSIGN_OR_RETURN(const Tensor* slope, RequireInput(ctx, 1));
    if (x->dtype() != slope->dtype())
      return InvalidArgument("X has type ", DataTypeName(x->dtype()), " and slope ",
                             DataTypeName(slope->dtype()), ": expected one type");
    // Unidirectional broadcast: slope must broadcast to X's shape, which the output keeps.
    CALIB8_ASSIGN_OR_RETURN(Shape out_shape,
                            BroadcastShapes({x->shape(), slope->shape()}, ctx.node));
    if (out_shape != x->shape())
      return InvalidArgument("slope of shape ", ShapeToString(slope->shape()),
                             " does not broadcast to X's shape ", ShapeToString(x->shape()));
    Result<Tensor> result = Internal("PRelu: not computed");
    CALIB8_RETURN_IF_ERROR(DispatchNumeric(x->dtype(), ctx.node, [&](auto tag) {
      using T = decltype(tag);
      result = Broadcast2<T, T, T>(*x, *slope, ctx.node, ctx.num_threads, [](T v, T s) {
        return Select(v < 0, static_cast<T>(v * s), v);
      });
    }));
    CALIB8_ASSIGN_OR_RETURN(ctx.outputs[0], std::move(result));
    return Status::Ok();
  });
}

}  // namespace calib8::ops
