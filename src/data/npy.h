// data/npy.h — NumPy .npy files (format versions 1.0–3.0, little-endian, C order).
#pragma once

#include <cstddef>
#include <string>

#include "calib8/status.h"
#include "calib8/tensor.h"

namespace calib8::data {

// Parses a .npy file. Supported dtypes: f4 f8 i1 u1 i2 u2 i4 u4 i8 u8 b1 f2; C order only.
Result<Tensor> LoadNpy(const std::string& path);
Result<Tensor> ParseNpy(const std::string& bytes, const std::string& source);

// The header of a .npy file: element type, shape and where the data starts.
struct NpyHeader {
  DataType dtype = DataType::kUndefined;
  Shape shape;
  size_t data_offset = 0;  // bytes from the start of the file to the first element
};
// Parses the header from the first bytes of a file (`prefix` must hold the whole header).
Result<NpyHeader> ParseNpyHeader(const std::string& prefix, const std::string& source);
// Reads only the header of the .npy file at `path` (a few hundred bytes).
Result<NpyHeader> ReadNpyHeader(const std::string& path);

// The .npy version 1.0 header (magic, length, dict, padding) for data of this type and shape;
// the raw C-order bytes follow it (a writer that streams samples writes this first).
std::string NpyHeaderBytes(DataType dtype, const Shape& shape);
// Serialises to .npy version 1.0 bytes / writes atomically.
std::string SerializeNpy(const Tensor& t);
Status SaveNpy(const Tensor& t, const std::string& path);

}  // namespace calib8::data
