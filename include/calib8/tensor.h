// calib8/tensor.h — DataType, Shape and Tensor: the values that flow through a calib8 graph.
//
// A Tensor is a dense, row-major (C order) array with a data type and a shape. Its storage is
// reference-counted and 64-byte aligned: copying a Tensor shares the buffer (cheap), and
// Reshaped() returns a view with another shape over the same bytes. Kernels that write must own
// a fresh tensor (Tensor(dtype, shape) allocates). A Tensor is not thread-safe for concurrent
// writes; concurrent reads are fine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace calib8 {

// One list, used for names, sizes and ONNX codes (ONNX TensorProto.DataType numbering).
#define CALIB8_DATA_TYPES(X)           \
  X(kFloat32, float, 1, "float32")     \
  X(kUint8, uint8_t, 2, "uint8")       \
  X(kInt8, int8_t, 3, "int8")          \
  X(kUint16, uint16_t, 4, "uint16")    \
  X(kInt16, int16_t, 5, "int16")       \
  X(kInt32, int32_t, 6, "int32")       \
  X(kInt64, int64_t, 7, "int64")       \
  X(kBool, bool, 9, "bool")            \
  X(kFloat16, uint16_t, 10, "float16") \
  X(kFloat64, double, 11, "float64")   \
  X(kUint32, uint32_t, 12, "uint32")   \
  X(kUint64, uint64_t, 13, "uint64")

enum class DataType : int {
  kUndefined = 0,
#define CALIB8_X(name, ctype, onnx, str) name = onnx,
  CALIB8_DATA_TYPES(CALIB8_X)
#undef CALIB8_X
};

// Size in bytes of one element; 0 for kUndefined.
size_t DataTypeSize(DataType t);
// "float32", "int64", ...; "undefined" for anything unknown.
const char* DataTypeName(DataType t);
// ONNX TensorProto.DataType code -> DataType (kUndefined if calib8 does not know it).
DataType DataTypeFromOnnx(int onnx_code);

template <typename T>
struct DataTypeOf;
template <>
struct DataTypeOf<float> {
  static constexpr DataType value = DataType::kFloat32;
};
template <>
struct DataTypeOf<double> {
  static constexpr DataType value = DataType::kFloat64;
};
template <>
struct DataTypeOf<int8_t> {
  static constexpr DataType value = DataType::kInt8;
};
template <>
struct DataTypeOf<uint8_t> {
  static constexpr DataType value = DataType::kUint8;
};
template <>
struct DataTypeOf<int16_t> {
  static constexpr DataType value = DataType::kInt16;
};
template <>
struct DataTypeOf<int32_t> {
  static constexpr DataType value = DataType::kInt32;
};
template <>
struct DataTypeOf<int64_t> {
  static constexpr DataType value = DataType::kInt64;
};
template <>
struct DataTypeOf<uint32_t> {
  static constexpr DataType value = DataType::kUint32;
};
template <>
struct DataTypeOf<uint64_t> {
  static constexpr DataType value = DataType::kUint64;
};
template <>
struct DataTypeOf<bool> {
  static constexpr DataType value = DataType::kBool;
};

using Shape = std::vector<int64_t>;

// Product of the dims (1 for a scalar shape {}).
int64_t NumElements(const Shape& shape);
// For shapes read from a file, which may claim anything: the element count and byte size of
// `shape` of `dtype`, or false when a dimension is negative or either product exceeds 2^62
// (no overflow on the way). Check this, then the bytes against what the file holds, before
// allocating (docs/limits.md).
bool CheckedSize(const Shape& shape, DataType dtype, uint64_t* elements, uint64_t* bytes);
// "[1,3,224,224]"
std::string ShapeToString(const Shape& shape);

// How a rank-4 tensor's elements lie in memory. The shape is always the logical ONNX shape
// [N, C, H, W]; kChannelsLast stores it as [N, H, W, C] (oneDNN's `nhwc`), the layout fast
// convolutions and poolings use, so that a chain of them needs no reorders in between. Only
// kernels that say so (exec::Kernel::AcceptsChannelsLast) ever see a kChannelsLast tensor: the
// executor converts it back for every other consumer, for observers and for graph outputs.
enum class Layout : uint8_t { kRowMajor, kChannelsLast };

class Tensor {
 public:
  Tensor() = default;
  // Allocates a tensor with uninitialised contents (kernels write every element).
  Tensor(DataType dtype, Shape shape, Layout layout = Layout::kRowMajor);

  template <typename T>
  static Tensor FromVector(Shape shape, const std::vector<T>& values) {
    Tensor t(DataTypeOf<T>::value, std::move(shape));
    T* p = t.data<T>();
    for (size_t i = 0; i < values.size() && static_cast<int64_t>(i) < t.numel(); ++i)
      p[i] = values[i];
    return t;
  }

  bool defined() const { return dtype_ != DataType::kUndefined; }
  DataType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t dim(int i) const { return shape_[static_cast<size_t>(i < 0 ? i + rank() : i)]; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const { return NumElements(shape_); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * DataTypeSize(dtype_); }
  Layout layout() const { return layout_; }
  bool channels_last() const { return layout_ == Layout::kChannelsLast; }

  void* raw() { return buf_.get(); }
  const void* raw() const { return buf_.get(); }
  template <typename T>
  T* data() {
    return static_cast<T*>(raw());
  }
  template <typename T>
  const T* data() const {
    return static_cast<const T*>(raw());
  }

  // A view with another shape over the same storage (numel must match and the tensor must be
  // kRowMajor; asserted).
  Tensor Reshaped(Shape shape) const;
  // The same storage with another layout label (for kernels whose result does not depend on the
  // layout: element-wise ops on equal shapes).
  Tensor WithLayout(Layout layout) const {
    Tensor t = *this;
    t.layout_ = layout;
    return t;
  }
  // A deep copy with its own storage.
  Tensor Clone() const;
  // True when both share one buffer (a view).
  bool SharesStorageWith(const Tensor& o) const { return buf_ && buf_ == o.buf_; }

 private:
  DataType dtype_ = DataType::kUndefined;
  Shape shape_;
  Layout layout_ = Layout::kRowMajor;
  std::shared_ptr<std::byte> buf_;
};

// A kRowMajor copy of a kChannelsLast float32/int8/uint8 tensor (the tensor itself if it is
// already kRowMajor), and the reverse.
Tensor ToRowMajor(const Tensor& t);
Tensor ToChannelsLast(const Tensor& t);

// Bytes held by all live Tensor buffers in the process, and the peak since the last reset.
// Maintained with relaxed atomics on allocation and release (cheap); used by tests and
// benchmarks to show that memory follows the live set.
int64_t TensorBytesLive();
int64_t TensorBytesPeak();
void ResetTensorBytesPeak();

}  // namespace calib8
