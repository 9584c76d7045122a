// ops/op_util.h — small helpers shared by the FP32 op implementations: input checks, broadcasting,
// axis normalisation, data-type dispatch, and OpenMP-parallel loops.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "calib8/status.h"
#include "calib8/tensor.h"
#include "exec/kernel.h"

namespace calib8::ops {

// Input i, or an error naming the node when it is missing.
Result<const Tensor*> RequireInput(const exec::KernelContext& ctx, size_t i);

// Normalises a possibly negative axis against `rank`; error names the node.
Result<int64_t> NormalizeAxis(int64_t axis, int64_t rank, const ir::Node& node);

// Numpy-style broadcast of two or more shapes; error names both shapes.
Result<Shape> BroadcastShapes(const std::vector<Shape>& shapes, const ir::Node& node);

// Strides of `in` (row-major) laid over `out` (same rank after left-padding with 1s); broadcast
// dims get stride 0. Used to index an input while walking the output in order.
std::vector<int64_t> BroadcastStrides(const Shape& in, const Shape& out);

// Row-major strides.
std::vector<int64_t> Strides(const Shape& shape);

// Reads an int tensor (int32 or int64) as int64 values (shape inputs: Reshape, Slice, ...).
Result<std::vector<int64_t>> ReadInts(const Tensor& t, const std::string& what,
                                      const ir::Node& node);
// Reads a float-like tensor (float32/64, ints) as float values.
std::vector<float> ReadFloats(const Tensor& t);

// Calls fn(T{}) for the C++ type of `dt`; returns an error for unsupported types.
template <typename F>
Status DispatchNumeric(DataType dt, const ir::Node& node, F&& fn) {
  switch (dt) {
    case DataType::kFloat32:
      fn(float{});
      return Status::Ok();
    case DataType::kFloat64:
      fn(double{});
      return Status::Ok();
    case DataType::kInt32:
      fn(int32_t{});
      return Status::Ok();
    case DataType::kInt64:
      fn(int64_t{});
      return Status::Ok();
    case DataType::kInt8:
      fn(int8_t{});
      return Status::Ok();
    case DataType::kUint8:
      fn(uint8_t{});
      return Status::Ok();
    case DataType::kInt16:
      fn(int16_t{});
      return Status::Ok();
    case DataType::kUint16:
      fn(uint16_t{});
      return Status::Ok();
    case DataType::kUint32:
      fn(uint32_t{});
      return Status::Ok();
    case DataType::kUint64:
      fn(uint64_t{});
      return Status::Ok();
    default:
      return Unimplemented("data type ", DataTypeName(dt), " is not supported by ", node.op_type);
  }
}

// Float types only (float32, float64).
template <typename F>
Status DispatchFloat(DataType dt, const ir::Node& node, F&& fn) {
  switch (dt) {
    case DataType::kFloat32:
      fn(float{});
      return Status::Ok();
    case DataType::kFloat64:
      fn(double{});
      return Status::Ok();
    default:
      return Unimplemented("data type ", DataTypeName(dt), " is not supported by ", node.op_type,
                           " (float32/float64 only)");
  }
}

// Any element type, by byte size (copy-only ops: Transpose, Gather, Concat, Slice, ...).
template <typename F>
Status DispatchBySize(DataType dt, const ir::Node& node, F&& fn) {
  switch (DataTypeSize(dt)) {
    case 1:
      fn(uint8_t{});
      return Status::Ok();
    case 2:
      fn(uint16_t{});
      return Status::Ok();
    case 4:
      fn(uint32_t{});
      return Status::Ok();
    case 8:
      fn(uint64_t{});
      return Status::Ok();
    default:
      return Unimplemented("data type ", DataTypeName(dt), " is not supported by ", node.op_type);
  }
}

// Parallel loop over [0, n) in OpenMP threads when the work is large enough.
template <typename F>
void ParallelFor(int64_t n, F&& fn, int64_t grain = 1 << 14) {
  if (n < grain) {
    for (int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) fn(i);
}

}  // namespace calib8::ops
