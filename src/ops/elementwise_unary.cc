// ops/elementwise_unary.cc — one-input element-wise kernels: math and activations (Relu ...
// Sign, Not), Clip, Cast (all calib8 dtypes incl. bool and float16) and Identity/Dropout.
// Broadcasting ops live in elementwise_binary.cc. Every kernel here is a flat loop over the
// elements (vectorisable), split across OpenMP threads for large tensors.
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "ops/kernels.h"
#include "ops/op_util.h"

namespace calib8::ops {

namespace {

// Calls fn(begin, end) over [0, n), in OpenMP threads when n is large; chunks are multiples of
// 16 elements so each thread's loop starts on a vector boundary.
template <typename F>
void ParallelChunks(int64_t n, int threads, int64_t min_chunk, F&& fn) {
  if (threads <= 1 || n < 2 * min_chunk) {
    fn(int64_t{0}, n);
    return;
  }
  const int64_t chunks = std::min<int64_t>(4 * threads, n / min_chunk);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t begin = (c * n / chunks) & ~int64_t{15};
    const int64_t end = c + 1 == chunks ? n : ((c + 1) * n / chunks) & ~int64_t{15};
    fn(begin, end);
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

// exp(x) for x <= 0 in float32 (Sigmoid), vectorisable: exp(x) = 2^n * exp(r) with
// n = round(x / ln 2) and r = x - n ln 2 (ln 2 in two parts), exp(r) by a degree-7 minimax
// polynomial (Cephes expf coefficients; about 1 ulp). Inputs below -87.3 give ~1.2e-38.
inline float ExpNonPositive(float x) {
  x = Select(x < -87.33654f, -87.33654f, x);
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const float t = x * 1.44269504088896341f + kRound;
  const float n = t - kRound;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  // n as an integer from the rounding sum's low mantissa bits, then 2^n from its exponent field.
  const uint32_t n_bits = std::bit_cast<uint32_t>(t) - std::bit_cast<uint32_t>(kRound);
  return p * std::bit_cast<float>((n_bits + 127u) << 23);
}

// Sigmoid from exp(-|x|), so that exp never overflows: 1/(1+e) for x >= 0, e/(1+e) below.
inline float SigmoidFloat(float v) {
  const float e = ExpNonPositive(Select(v < 0.0f, v, -v));
  const float d = 1.0f / (1.0f + e);
  return Select(v >= 0.0f, d, e * d);
}

// tanh in float32, vectorisable: for |x| > 0.625, (1 - e) / (1 + e) with e = exp(-2|x|) (no
// cancellation there: the result is above 0.55); below, the odd minimax polynomial of Cephes
// tanhf. Both branches are computed and one is selected.
inline float TanhFloat(float v) {
  const float a = Select(v < 0.0f, -v, v);
  const float e = ExpNonPositive(-2.0f * a);
  const float big = (1.0f - e) / (1.0f + e);
  const float z = v * v;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const float small = p * z * v + v;
  return Select(a > 0.625f, Select(v < 0.0f, -big, big), small);
}

constexpr int64_t kCheapChunk = 1 << 15;   // add/max-like work per element
constexpr int64_t kCostlyChunk = 1 << 12;  // exp/log/erf-like work per element

// y[i] = f(x[i]) over the whole tensor.
template <typename In, typename Out, typename F>
Tensor Map(const Tensor& x, DataType out_dtype, int threads, int64_t min_chunk, F f) {
  Tensor y(out_dtype, x.shape());
  const In* px = x.data<In>();
  Out* py = y.data<Out>();
  ParallelChunks(x.numel(), threads, min_chunk, [&](int64_t begin, int64_t end) {
    const In* __restrict a = px;
    Out* __restrict o = py;
    for (int64_t i = begin; i < end; ++i) o[i] = f(a[i]);
  });
  return y;
}

enum class UnOp {
  kRelu,
  kSigmoid,
  kTanh,
  kExp,
  kLog,
  kSqrt,
  kNeg,
  kAbs,
  kReciprocal,
  kErf,
  kLeakyRelu,
  kHardSigmoid,
  kHardSwish,
  kFloor,
  kCeil,
  kElu,
  kSelu,
  kSoftplus,
  kSin,
  kCos,
  kNot,
  kSign,
};

Result<UnOp> ParseUnOp(const std::string& op) {
  static const std::pair<const char*, UnOp> kOps[] = {{"Relu", UnOp::kRelu},
                                                      {"Sigmoid", UnOp::kSigmoid},
                                                      {"Tanh", UnOp::kTanh},
                                                      {"Exp", UnOp::kExp},
                                                      {"Log", UnOp::kLog},
                                                      {"Sqrt", UnOp::kSqrt},
                                                      {"Neg", UnOp::kNeg},
                                                      {"Abs", UnOp::kAbs},
                                                      {"Reciprocal", UnOp::kReciprocal},
                                                      {"Erf", UnOp::kErf},
                                                      {"LeakyRelu", UnOp::kLeakyRelu},
                                                      {"HardSigmoid", UnOp::kHardSigmoid},
                                                      {"HardSwish", UnOp::kHardSwish},
                                                      {"Floor", UnOp::kFloor},
                                                      {"Ceil", UnOp::kCeil},
                                                      {"Elu", UnOp::kElu},
                                                      {"Selu", UnOp::kSelu},
                                                      {"Softplus", UnOp::kSoftplus},
                                                      {"Sin", UnOp::kSin},
                                                      {"Cos", UnOp::kCos},
                                                      {"Not", UnOp::kNot},
                                                      {"Sign", UnOp::kSign}};
  for (const auto& [name, e] : kOps)
    if (op == name) return e;
  return Internal("UnaryKernel was registered for '", op, "', which it does not implement");
}

// Attribute values read once per node.
struct UnaryParams {
  float alpha = 0;
  float beta = 0;
  float gamma = 0;
};

// Ops defined on every numeric type (the rest are float32/float64 only, Not is bool only).
bool IsNumericOp(UnOp op) {
  return op == UnOp::kRelu || op == UnOp::kNeg || op == UnOp::kAbs || op == UnOp::kSign;
}

template <typename T>
Tensor RunNumeric(UnOp op, const Tensor& x, int th) {
  const DataType dt = x.dtype();
  switch (op) {
    case UnOp::kRelu:
      return Map<T, T>(x, dt, th, kCheapChunk, [](T v) { return v < T(0) ? T(0) : v; });
    case UnOp::kNeg:
      return Map<T, T>(x, dt, th, kCheapChunk, [](T v) { return static_cast<T>(-v); });
    case UnOp::kAbs:
      if constexpr (std::is_unsigned_v<T>)
        return Map<T, T>(x, dt, th, kCheapChunk, [](T v) { return v; });
      else
        return Map<T, T>(x, dt, th, kCheapChunk, [](T v) { return v < T(0) ? T(-v) : v; });
    default:  // kSign
      return Map<T, T>(x, dt, th, kCheapChunk, [](T v) {
        return static_cast<T>(v > T(0) ? 1 : v < T(0) ? -1 : 0);
      });
  }
}

template <typename T>
Tensor RunFloat(UnOp op, const UnaryParams& p, const Tensor& x, int th) {
  const DataType dt = x.dtype();
  const T alpha = static_cast<T>(p.alpha), beta = static_cast<T>(p.beta);
  const T gamma = static_cast<T>(p.gamma);
  constexpr int64_t kC = kCostlyChunk, kK = kCheapChunk;
  switch (op) {
    case UnOp::kSigmoid:
      if constexpr (std::is_same_v<T, float>)
        return Map<T, T>(x, dt, th, kK, [](float v) { return SigmoidFloat(v); });
      return Map<T, T>(x, dt, th, kC, [](T v) {
        if (v >= T(0)) return T(1) / (T(1) + std::exp(-v));
        const T e = std::exp(v);
        return e / (T(1) + e);
      });
    case UnOp::kTanh:
      if constexpr (std::is_same_v<T, float>)
        return Map<T, T>(x, dt, th, kK, [](float v) { return TanhFloat(v); });
      return Map<T, T>(x, dt, th, kC, [](T v) { return std::tanh(v); });
    case UnOp::kExp:
      return Map<T, T>(x, dt, th, kC, [](T v) { return std::exp(v); });
    case UnOp::kLog:
      return Map<T, T>(x, dt, th, kC, [](T v) { return std::log(v); });
    case UnOp::kSqrt:
      return Map<T, T>(x, dt, th, kK, [](T v) { return std::sqrt(v); });
    case UnOp::kReciprocal:
      return Map<T, T>(x, dt, th, kK, [](T v) { return T(1) / v; });
    case UnOp::kErf:
      return Map<T, T>(x, dt, th, kC, [](T v) { return std::erf(v); });
    case UnOp::kLeakyRelu:
      return Map<T, T>(x, dt, th, kK, [alpha](T v) { return Select(v < T(0), alpha * v, v); });
    case UnOp::kHardSigmoid:
      return Map<T, T>(x, dt, th, kK, [alpha, beta](T v) {
        T y = alpha * v + beta;
        y = Select(y < T(0), T(0), y);
        return Select(y > T(1), T(1), y);
      });
    case UnOp::kHardSwish:
      return Map<T, T>(x, dt, th, kK, [](T v) {
        T y = v * (T(1) / T(6)) + T(0.5);
        y = Select(y < T(0), T(0), y);
        return v * Select(y > T(1), T(1), y);
      });
    case UnOp::kFloor:
      return Map<T, T>(x, dt, th, kK, [](T v) { return std::floor(v); });
    case UnOp::kCeil:
      return Map<T, T>(x, dt, th, kK, [](T v) { return std::ceil(v); });
    case UnOp::kElu:
      return Map<T, T>(x, dt, th, kC,
                       [alpha](T v) { return v < T(0) ? alpha * std::expm1(v) : v; });
    case UnOp::kSelu:
      return Map<T, T>(x, dt, th, kC, [alpha, gamma](T v) {
        return v > T(0) ? gamma * v : gamma * alpha * std::expm1(v);
      });
    case UnOp::kSoftplus:  // log(1 + exp(x)) without overflow for large x
      return Map<T, T>(x, dt, th, kC, [](T v) {
        return v > T(0) ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v));
      });
    case UnOp::kSin:
      return Map<T, T>(x, dt, th, kC, [](T v) { return std::sin(v); });
    default:  // kCos
      return Map<T, T>(x, dt, th, kC, [](T v) { return std::cos(v); });
  }
}

class UnaryKernelImpl : public exec::Kernel {
 public:
  UnaryKernelImpl(UnOp op, UnaryParams p) : op_(op), p_(p) {}

  Status Run(exec::KernelContext& ctx) override {
    CALIB8_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0));
    const int th = ctx.num_threads;
    if (op_ == UnOp::kNot) {
      if (x->dtype() != DataType::kBool)
        return InvalidArgument("input has type ", DataTypeName(x->dtype()), ": expected bool");
      ctx.outputs[0] =
          Map<bool, bool>(*x, DataType::kBool, th, kCheapChunk, [](bool v) { return !v; });
      return Status::Ok();
    }
    if (IsNumericOp(op_)) {
      return DispatchNumeric(x->dtype(), ctx.node, [&](auto tag) {
        ctx.outputs[0] = RunNumeric<decltype(tag)>(op_, *x, th);
      });
    }
    return DispatchFloat(x->dtype(), ctx.node, [&](auto tag) {
      ctx.outputs[0] = RunFloat<decltype(tag)>(op_, p_, *x, th);
    });
  }

 private:
  UnOp op_;
  UnaryParams p_;
};

// ---------------------------------------------------------------------------------------------
// Cast. float16 is stored as its IEEE binary16 bits; conversions go through float32 with
// round-to-nearest-even.

struct Half {
  uint16_t bits;
};

float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  if (exp == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));
  if (exp == 0) {
    const float v = std::ldexp(static_cast<float>(mant), -24);  // subnormal or zero, exact
    return sign ? -v : v;
  }
  return std::bit_cast<float>(sign | ((exp + 112) << 23) | (mant << 13));
}

uint16_t FloatToHalf(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
  const uint32_t a = x & 0x7fffffffu;
  if (a >= 0x7f800000u)  // inf, or NaN kept quiet
    return static_cast<uint16_t>(sign | 0x7c00 |
                                 (a > 0x7f800000u ? 0x200 | ((a >> 13) & 0x3ff) : 0));
  if (a >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00);  // rounds past 65504
  auto round_shift = [](uint32_t m, uint32_t s) {  // m >> s, round to nearest even
    uint32_t q = m >> s, rem = m & ((1u << s) - 1), half = 1u << (s - 1);
    if (rem > half || (rem == half && (q & 1))) ++q;
    return q;
  };
  if (a >= 0x38800000u)  // normal half: rebias the exponent (127 -> 15), carry may bump it
    return static_cast<uint16_t>(sign | round_shift(a - 0x38000000u, 13));
  const uint32_t exp = a >> 23;
  if (exp < 102) return sign;                         // below half the smallest subnormal
  const uint32_t mant = (a & 0x7fffffu) | 0x800000u;  // value = mant * 2^(exp - 150)
  return static_cast<uint16_t>(sign | round_shift(mant, 126 - exp));
}

template <typename To, typename From>
inline To Convert(From v) {
  if constexpr (std::is_same_v<From, Half>) {
    return Convert<To>(HalfToFloat(v.bits));
  } else if constexpr (std::is_same_v<To, Half>) {
    return Half{FloatToHalf(static_cast<float>(v))};
  } else if constexpr (std::is_same_v<To, bool>) {
    return v != From(0);
  } else {
    return static_cast<To>(v);
  }
}

// Every calib8 dtype, float16 as Half.
template <typename F>
bool DispatchAll(DataType dt, F&& fn) {
  switch (dt) {
    case DataType::kFloat32:
      fn(float{});
      return true;
    case DataType::kFloat64:
      fn(double{});
      return true;
    case DataType::kFloat16:
      fn(Half{});
      return true;
    case DataType::kInt8:
      fn(int8_t{});
      return true;
    case DataType::kUint8:
      fn(uint8_t{});
      return true;
    case DataType::kInt16:
      fn(int16_t{});
      return true;
    case DataType::kUint16:
      fn(uint16_t{});
      return true;
    case DataType::kInt32:
      fn(int32_t{});
      return true;
    case DataType::kUint32:
      fn(uint32_t{});
      return true;
    case DataType::kInt64:
      fn(int64_t{});
      return true;
    case DataType::kUint64:
      fn(uint64_t{});
      return true;
    case DataType::kBool:
      fn(bool{});
      return true;
    default:
      return false;
  }
}

// A kernel that runs a function built by its factory (which captured the node's attributes).
class FnKernel : public exec::Kernel {
 public:
  explicit FnKernel(exec::KernelFn fn) : fn_(std::move(fn)) {}
  Status Run(exec::KernelContext& ctx) override { return fn_(ctx); }

 private:
  exec::KernelFn fn_;
};

Result<std::unique_ptr<exec::Kernel>> MakeFnKernel(exec::KernelFn fn) {
  return std::unique_ptr<exec::Kernel>(new FnKernel(std::move(fn)));
}

// Clip bound: a scalar input (opset >= 11) converted to T, or `def` when omitted.
template <typename T>
Result<T> ClipBound(const exec::KernelContext& ctx, size_t i, DataType dt, T def) {
  const Tensor* t = ctx.input(i);
  if (!t) return def;
  if (t->dtype() != dt)
    return InvalidArgument("input ", i, " (", i == 1 ? "min" : "max", ") has type ",
                           DataTypeName(t->dtype()), ": expected ", DataTypeName(dt),
                           " like the input");
  if (t->numel() != 1)
    return InvalidArgument("input ", i, " (", i == 1 ? "min" : "max", ") has shape ",
                           ShapeToString(t->shape()), ": expected a scalar");
  return t->data<T>()[0];
}

}  // namespace

exec::KernelFactory UnaryKernel(const std::string& op_type) {
  return [op_type](const exec::KernelInit& init) -> Result<std::unique_ptr<exec::Kernel>> {
    CALIB8_ASSIGN_OR_RETURN(UnOp op, ParseUnOp(op_type));
    UnaryParams p;
    const ir::Node& n = init.node;
    switch (op) {
      case UnOp::kLeakyRelu:
        p.alpha = n.GetFloat("alpha", 0.01f);
        break;
      case UnOp::kHardSigmoid:
        p.alpha = n.GetFloat("alpha", 0.2f);
        p.beta = n.GetFloat("beta", 0.5f);
        break;
      case UnOp::kElu:
        p.alpha = n.GetFloat("alpha", 1.0f);
        break;
      case UnOp::kSelu:
        p.alpha = n.GetFloat("alpha", 1.67326319217681884765625f);
        p.gamma = n.GetFloat("gamma", 1.05070102214813232421875f);
        break;
      default:
        break;
    }
    return std::unique_ptr<exec::Kernel>(new UnaryKernelImpl(op, p));
  };
}

exec::KernelFactory ClipKernel() {
  return [](const exec::KernelInit& init) -> Result<std::unique_ptr<exec::Kernel>> {
    const int64_t opset = init.opset;
    // Before opset 11 the bounds are attributes (float types only).
    const float attr_min = init.node.GetFloat("min", -std::numeric_limits<float>::infinity());
    const float attr_max = init.node.GetFloat("max", std::numeric_limits<float>::infinity());
    return MakeFnKernel([=](exec::KernelContext& ctx) -> Status {
      CALIB8_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0));
      Status status;
      Status dispatched = DispatchNumeric(x->dtype(), ctx.node, [&](auto tag) {
        using T = decltype(tag);
        T lo, hi;
        if (opset > 0 && opset < 11) {
          lo = static_cast<T>(attr_min);
          hi = static_cast<T>(attr_max);
        } else {
          constexpr bool kFloat = std::is_floating_point_v<T>;
          const T lowest =
              kFloat ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::lowest();
          const T highest =
              kFloat ? std::numeric_limits<T>::infinity() : std::numeric_limits<T>::max();
          auto l = ClipBound<T>(ctx, 1, x->dtype(), lowest);
          auto h = ClipBound<T>(ctx, 2, x->dtype(), highest);
          if (!l.ok()) {
            status = l.status();
            return;
          }
          if (!h.ok()) {
            status = h.status();
            return;
          }
          lo = *l;
          hi = *h;
        }
        // max then min: when min > max every value becomes max (ONNX); NaN stays NaN.
        ctx.outputs[0] = Map<T, T>(*x, x->dtype(), ctx.num_threads, kCheapChunk, [lo, hi](T v) {
          v = Select(v < lo, lo, v);
          return Select(v > hi, hi, v);
        });
      });
      CALIB8_RETURN_IF_ERROR(dispatched);
      return status;
    });
  };
}

exec::KernelFactory CastKernel() {
  return [](const exec::KernelInit& init) -> Result<std::unique_ptr<exec::Kernel>> {
    const ir::Attribute* to_attr = init.node.FindAttr("to");
    if (!to_attr) return InvalidArgument("attribute 'to' is required");
    const DataType to = DataTypeFromOnnx(static_cast<int>(to_attr->i));
    if (to == DataType::kUndefined)
      return Unimplemented("cast to ONNX data type ", to_attr->i,
                           " is not supported (calib8 has no such tensor type)");
    return MakeFnKernel([to](exec::KernelContext& ctx) -> Status {
      CALIB8_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0));
      if (x->dtype() == to) {
        ctx.outputs[0] = *x;  // a view; nothing to convert
        return Status::Ok();
      }
      bool ok = DispatchAll(x->dtype(), [&](auto from_tag) {
        using From = decltype(from_tag);
        DispatchAll(to, [&](auto to_tag) {
          using To = decltype(to_tag);
          ctx.outputs[0] = Map<From, To>(*x, to, ctx.num_threads, kCheapChunk,
                                         [](From v) { return Convert<To>(v); });
        });
      });
      if (!ok) return Unimplemented("cast from ", DataTypeName(x->dtype()), " is not supported");
      return Status::Ok();
    });
  };
}

exec::KernelFactory IdentityKernel() {
  return [](const exec::KernelInit& init) -> Result<std::unique_ptr<exec::Kernel>> {
    const bool dropout = init.node.op_type == "Dropout";
    const int64_t opset = init.opset;
    const float attr_ratio = init.node.GetFloat("ratio", 0.5f);
    return MakeFnKernel([=](exec::KernelContext& ctx) -> Status {
      CALIB8_ASSIGN_OR_RETURN(const Tensor* x, RequireInput(ctx, 0));
      if (dropout) {
        // Opset 12+: ratio and training_mode are inputs. Training with a non-zero ratio drops
        // random elements, which an inference engine does not do.
        const Tensor* training = ctx.input(2);
        if (training && training->numel() == 1 && training->dtype() == DataType::kBool &&
            training->data<bool>()[0]) {
          float ratio = attr_ratio;
          if (const Tensor* r = ctx.input(1); r && r->numel() == 1) ratio = ReadFloats(*r)[0];
          if (ratio != 0.0f)
            return Unimplemented("Dropout with training_mode=true and ratio ", ratio,
                                 " is not supported (inference only: expected training_mode "
                                 "false or ratio 0)");
        }
        if (ctx.num_outputs() > 1 && !ctx.node.outputs[1].empty()) {
          // Mask: bool from opset 10, the input's type before; all kept.
          if (opset > 0 && opset < 10) {
            Tensor mask(x->dtype(), x->shape());
            CALIB8_RETURN_IF_ERROR(DispatchNumeric(x->dtype(), ctx.node, [&](auto tag) {
              using T = decltype(tag);
              T* p = mask.data<T>();
              for (int64_t i = 0; i < mask.numel(); ++i) p[i] = T(1);
            }));
            ctx.outputs[1] = std::move(mask);
          } else {
            Tensor mask(DataType::kBool, x->shape());
            std::memset(mask.raw(), 1, mask.nbytes());
            ctx.outputs[1] = std::move(mask);
          }
        }
      }
      ctx.outputs[0] = *x;  // a view of the input (kernels never write into their inputs)
      return Status::Ok();
    });
  };
}

}  // namespace calib8::ops
