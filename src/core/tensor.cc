// core/tensor.cc — storage for calib8::Tensor. Sits at the bottom of the module graph: every
// other module depends on it; it depends on the standard library and OpenMP (core/transpose.cc).
#include "calib8/tensor.h"

#include "core/transpose.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstdlib>
#include <cstring>
#include <new>

namespace calib8 {

size_t DataTypeSize(DataType t) {
  switch (t) {
#define CALIB8_X(name, ctype, onnx, str) \
  case DataType::name:                   \
    return sizeof(ctype);
    CALIB8_DATA_TYPES(CALIB8_X)
#undef CALIB8_X
    default:
      return 0;
  }
}

const char* DataTypeName(DataType t) {
  switch (t) {
#define CALIB8_X(name, ctype, onnx, str) \
  case DataType::name:                   \
    return str;
    CALIB8_DATA_TYPES(CALIB8_X)
#undef CALIB8_X
    default:
      return "undefined";
  }
}

DataType DataTypeFromOnnx(int onnx_code) {
  switch (onnx_code) {
#define CALIB8_X(name, ctype, onnx, str) \
  case onnx:                             \
    return DataType::name;
    CALIB8_DATA_TYPES(CALIB8_X)
#undef CALIB8_X
    default:
      return DataType::kUndefined;
  }
}

int64_t NumElements(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

bool CheckedSize(const Shape& shape, DataType dtype, uint64_t* elements, uint64_t* bytes) {
  constexpr uint64_t kMax = uint64_t{1} << 62;
  uint64_t n = 1;     // product of the non-zero dims: with a zero dim too it must stay in range,
  bool zero = false;  // since code elsewhere multiplies the dims in any order
  for (int64_t d : shape) {
    if (d < 0) return false;
    if (d == 0) {
      zero = true;
      continue;
    }
    if (n > kMax / static_cast<uint64_t>(d)) return false;
    n *= static_cast<uint64_t>(d);
  }
  if (zero) n = 0;
  const uint64_t size = DataTypeSize(dtype);
  if (size && n > kMax / size) return false;
  if (elements) *elements = n;
  if (bytes) *bytes = n * size;
  return true;
}

std::string ShapeToString(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

namespace {
constexpr size_t kAlignment = 64;
std::atomic<int64_t> g_live{0};
std::atomic<int64_t> g_peak{0};
std::shared_ptr<std::byte> Allocate(size_t nbytes) {
  // Round up and never allocate 0 bytes, so raw() of an empty tensor is still a valid pointer.
  size_t n = ((nbytes + kAlignment - 1) / kAlignment) * kAlignment;
  if (n == 0) n = kAlignment;
  void* p = ::operator new(n, std::align_val_t(kAlignment));
  int64_t live = g_live.fetch_add(static_cast<int64_t>(n), std::memory_order_relaxed) +
                 static_cast<int64_t>(n);
  int64_t peak = g_peak.load(std::memory_order_relaxed);
  while (live > peak && !g_peak.compare_exchange_weak(peak, live, std::memory_order_relaxed)) {
  }
  return std::shared_ptr<std::byte>(static_cast<std::byte*>(p), [n](std::byte* q) {
    g_live.fetch_sub(static_cast<int64_t>(n), std::memory_order_relaxed);
    ::operator delete(q, std::align_val_t(kAlignment));
  });
}
}  // namespace

int64_t TensorBytesLive() { return g_live.load(std::memory_order_relaxed); }
int64_t TensorBytesPeak() { return g_peak.load(std::memory_order_relaxed); }
void ResetTensorBytesPeak() {
  g_peak.store(g_live.load(std::memory_order_relaxed), std::memory_order_relaxed);
}

Tensor::Tensor(DataType dtype, Shape shape, Layout layout)
    : dtype_(dtype), shape_(std::move(shape)), layout_(layout) {
  for ([[maybe_unused]] int64_t d : shape_) assert(d >= 0 && "negative dimension");
  assert((layout_ == Layout::kRowMajor || shape_.size() == 4) && "channels-last needs rank 4");
  buf_ = Allocate(nbytes());
}

Tensor Tensor::Reshaped(Shape shape) const {
  assert(NumElements(shape) == numel());
  assert(layout_ == Layout::kRowMajor && "Reshaped on a channels-last tensor");
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::Clone() const {
  Tensor t(dtype_, shape_, layout_);
  if (nbytes()) std::memcpy(t.raw(), raw(), nbytes());
  return t;
}

Tensor ToRowMajor(const Tensor& t) {
  if (!t.channels_last()) return t;
  Tensor out(t.dtype(), t.shape());
  const Shape& s = t.shape();  // [N, C, H, W], stored [N, H*W, C]
  TransposeInner(t.raw(), out.raw(), s[0], s[2] * s[3], s[1], DataTypeSize(t.dtype()));
  return out;
}

Tensor ToChannelsLast(const Tensor& t) {
  if (t.channels_last()) return t;
  assert(t.rank() == 4);
  Tensor out(t.dtype(), t.shape(), Layout::kChannelsLast);
  const Shape& s = t.shape();  // stored [N, C, H*W]
  TransposeInner(t.raw(), out.raw(), s[0], s[1], s[2] * s[3], DataTypeSize(t.dtype()));
  return out;
}

}  // namespace calib8
