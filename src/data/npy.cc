// data/npy.cc — reader and writer for NumPy's .npy format (the header is a Python dict literal:
// {'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 224, 224), }).
#include "data/npy.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "core/file_util.h"

namespace calib8::data {

namespace {
// NumPy's own limit on the number of dimensions (NPY_MAXDIMS: 32 in NumPy 1.x, 64 in 2.x).
constexpr size_t kMaxRank = 64;
struct DescrMap {
  const char* code;
  DataType dtype;
};
constexpr DescrMap kDescr[] = {
    {"f4", DataType::kFloat32}, {"f8", DataType::kFloat64}, {"i1", DataType::kInt8},
    {"u1", DataType::kUint8},   {"i2", DataType::kInt16},   {"u2", DataType::kUint16},
    {"i4", DataType::kInt32},   {"u4", DataType::kUint32},  {"i8", DataType::kInt64},
    {"u8", DataType::kUint64},  {"b1", DataType::kBool},    {"f2", DataType::kFloat16},
};

// Value of key `key` in the header dict, as raw text up to the next top-level comma or '}'.
std::string DictValue(const std::string& header, const std::string& key) {
  auto p = header.find("'" + key + "'");
  if (p == std::string::npos) return "";
  p = header.find(':', p);
  if (p == std::string::npos) return "";
  ++p;
  int depth = 0;
  size_t start = p;
  for (; p < header.size(); ++p) {
    char c = header[p];
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if ((c == ',' || c == '}') && depth == 0) break;
  }
  std::string v = header.substr(start, p - start);
  while (!v.empty() && (v.front() == ' ')) v.erase(v.begin());
  while (!v.empty() && (v.back() == ' ')) v.pop_back();
  return v;
}
}  // namespace

Result<NpyHeader> ParseNpyHeader(const std::string& bytes, const std::string& source) {
  if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0)
    return InvalidArgument(source, ": not a .npy file (missing the \\x93NUMPY magic)");
  int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len, offset;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return InvalidArgument(source, ": truncated .npy header");
    header_len = 0;
    for (int i = 0; i < 4; ++i)
      header_len |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    offset = 12;
  } else {
    return InvalidArgument(source, ": unsupported .npy format version ", major);
  }
  if (offset + header_len > bytes.size()) return InvalidArgument(source, ": truncated .npy header");
  std::string header = bytes.substr(offset, header_len);
  std::string descr = DictValue(header, "descr");
  if (descr.size() < 4) return InvalidArgument(source, ": .npy header has no 'descr'");
  descr = descr.substr(1, descr.size() - 2);  // strip quotes
  if (descr[0] == '>' && descr.substr(1) != "i1" && descr.substr(1) != "u1" &&
      descr.substr(1) != "b1")
    return Unimplemented(source, ": big-endian .npy data ('", descr, "') is not supported");
  std::string code = descr.substr(1);
  DataType dt = DataType::kUndefined;
  for (const auto& d : kDescr)
    if (code == d.code) dt = d.dtype;
  if (dt == DataType::kUndefined)
    return Unimplemented(source, ": .npy dtype '", descr, "' is not supported");
  if (DictValue(header, "fortran_order") == "True")
    return Unimplemented(source,
                         ": Fortran-order .npy arrays are not supported (save with C order)");
  std::string shape_text = DictValue(header, "shape");
  if (shape_text.size() < 2 || shape_text.front() != '(' || shape_text.back() != ')')
    return InvalidArgument(source, ": .npy header field 'shape' is '", shape_text.substr(0, 80),
                           "': expected a tuple such as (1, 3, 224, 224)");
  Shape shape;
  std::string num;
  for (char c : shape_text.substr(1, shape_text.size() - 2) + ",") {
    if (c >= '0' && c <= '9') {
      if (num.size() == 18)  // beyond any real dimension; std::stoll would throw past 2^63
        return InvalidArgument(source, ": .npy header field 'shape' has a dimension of 19 or more ",
                               "digits: expected each dimension below 10^18");
      num += c;
    } else if (c == ',') {
      if (!num.empty()) shape.push_back(std::stoll(num));
      num.clear();
    } else if (c != ' ' && c != 'L') {
      return InvalidArgument(source, ": .npy header field 'shape' is '", shape_text.substr(0, 80),
                             "': expected non-negative integers in a tuple");
    }
  }
  if (shape.size() > kMaxRank)
    return InvalidArgument(source, ": .npy header field 'shape' has ", shape.size(),
                           " dimensions: expected at most ", kMaxRank);
  if (!CheckedSize(shape, dt, nullptr, nullptr))
    return InvalidArgument(source, ": .npy header field 'shape' ", ShapeToString(shape), " of ",
                           DataTypeName(dt), " overflows: more than 2^62 bytes");
  NpyHeader h;
  h.dtype = dt;
  h.shape = std::move(shape);
  h.data_offset = offset + header_len;
  return h;
}

Result<NpyHeader> ReadNpyHeader(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError("npy file '", path, "': cannot open: ", std::strerror(errno));
  std::string prefix(12, '\0');
  in.read(prefix.data(), 12);
  prefix.resize(static_cast<size_t>(in.gcount()));
  std::string source = "npy file '" + path + "'";
  if (prefix.size() < 10 || std::memcmp(prefix.data(), "\x93NUMPY", 6) != 0)
    return InvalidArgument(source, ": not a .npy file (missing the \\x93NUMPY magic)");
  size_t header_len = 0, offset = 10;
  header_len = static_cast<unsigned char>(prefix[8]) | (static_cast<unsigned char>(prefix[9]) << 8);
  if (prefix[6] != 1) {
    if (prefix.size() < 12) return InvalidArgument(source, ": truncated .npy header");
    header_len = 0;
    for (int i = 0; i < 4; ++i)
      header_len |= static_cast<size_t>(static_cast<unsigned char>(prefix[8 + i])) << (8 * i);
    offset = 12;
  }
  if (header_len > (size_t{1} << 24))
    return InvalidArgument(source, ": implausible .npy header length ", header_len,
                           ": expected a header under 16 MiB");
  size_t need = offset + header_len;
  std::string rest(need > prefix.size() ? need - prefix.size() : 0, '\0');
  in.read(rest.data(), static_cast<std::streamsize>(rest.size()));
  rest.resize(static_cast<size_t>(in.gcount()));
  return ParseNpyHeader(prefix + rest, source);
}

Result<Tensor> ParseNpy(const std::string& bytes, const std::string& source) {
  CALIB8_ASSIGN_OR_RETURN(NpyHeader h, ParseNpyHeader(bytes, source));
  DataType dt = h.dtype;
  const Shape& shape = h.shape;
  size_t data_off = h.data_offset;
  // The size the header claims, checked against the file before anything is allocated (a
  // header may claim far more than the file holds). ParseNpyHeader refused sizes that overflow.
  uint64_t want = 0;
  CheckedSize(shape, dt, nullptr, &want);
  const uint64_t have = bytes.size() - data_off;
  if (have < want)
    return InvalidArgument(source, ": .npy data is truncated: the file holds ", have,
                           " data bytes, the header (", DataTypeName(dt), ShapeToString(shape),
                           ") needs ", want);
  Tensor t(dt, shape);
  if (t.nbytes()) std::memcpy(t.raw(), bytes.data() + data_off, t.nbytes());
  return t;
}

Result<Tensor> LoadNpy(const std::string& path) {
  CALIB8_ASSIGN_OR_RETURN(std::string bytes, core::ReadFile(path, "npy file"));
  return ParseNpy(bytes, "npy file '" + path + "'");
}

std::string NpyHeaderBytes(DataType dtype, const Shape& shape) {
  const char* code = "f4";
  for (const auto& d : kDescr)
    if (d.dtype == dtype) code = d.code;
  std::string dims = "(";
  for (size_t i = 0; i < shape.size(); ++i) dims += std::to_string(shape[i]) + ", ";
  if (shape.size() > 1)
    dims.resize(dims.size() - 2);
  else if (shape.size() == 1)
    dims.resize(dims.size() - 1);
  dims += ")";
  char endian = (dtype == DataType::kInt8 || dtype == DataType::kUint8 || dtype == DataType::kBool)
                    ? '|'
                    : '<';
  std::string header = std::string("{'descr': '") + endian + code +
                       "', 'fortran_order': False, 'shape': " + dims + ", }";
  size_t total = 10 + header.size() + 1;
  header += std::string((64 - total % 64) % 64, ' ') + "\n";
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>((header.size() >> 8) & 0xff);
  out += header;
  return out;
}

std::string SerializeNpy(const Tensor& t) {
  std::string out = NpyHeaderBytes(t.dtype(), t.shape());
  out.append(static_cast<const char*>(t.raw()), t.nbytes());
  return out;
}

Status SaveNpy(const Tensor& t, const std::string& path) {
  return core::WriteFileAtomic(path, SerializeNpy(t));
}

}  // namespace calib8::data
