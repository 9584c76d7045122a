// data/idx_source.cc — idx:PATH, the IDX format of MNIST and Fashion-MNIST (big-endian header:
// two zero bytes, a type code, the number of dims, then each dim as uint32). A .gz file is
// decompressed into memory once (these files are small); a plain file is read by byte range.
// uint8 samples become float32 in [0,1] (scale=255 keeps [0,255]); [N,H,W] gives samples [1,H,W].
#include <zlib.h>

#include <cstring>
#include <sstream>

#include "data/source_impl.h"

namespace calib8::data::internal {

namespace {

struct IdxType {
  uint8_t code;
  DataType dtype;
  int size;
};
constexpr IdxType kIdxTypes[] = {
    {0x08, DataType::kUint8, 1}, {0x09, DataType::kInt8, 1},    {0x0B, DataType::kInt16, 2},
    {0x0C, DataType::kInt32, 4}, {0x0D, DataType::kFloat32, 4}, {0x0E, DataType::kFloat64, 8},
};

Result<std::string> Gunzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) return IoError("IDX file '", path, "': cannot open: ", std::strerror(errno));
  std::string out;
  std::vector<char> buf(1 << 20);
  while (true) {
    int n = gzread(f, buf.data(), static_cast<unsigned>(buf.size()));
    if (n < 0) {
      int err = 0;
      std::string msg = gzerror(f, &err);
      gzclose(f);
      return InvalidArgument("IDX file '", path, "': gzip data is corrupt (zlib: ", msg,
                             "): expected a valid .gz file");
    }
    if (n == 0) break;
    out.append(buf.data(), static_cast<size_t>(n));
  }
  gzclose(f);
  return out;
}

class IdxSource : public DataSource {
 public:
  IdxSource(std::string path, PreprocessSpec spec)
      : path_(std::move(path)), spec_(std::move(spec)) {}

  Status Open() {
    std::string what = "IDX file '" + path_ + "'";
    CALIB8_ASSIGN_OR_RETURN(file_, RandomAccessFile::Open(path_, "IDX file"));
    unsigned char magic[4] = {0, 0, 0, 0};
    if (file_->size() >= 2) CALIB8_RETURN_IF_ERROR(file_->ReadAt(0, 2, magic));
    bool named_gz = LowerExtension(path_) == ".gz";
    bool is_gz = file_->size() >= 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    if (named_gz && !is_gz)
      return InvalidArgument(what, ": named .gz but not gzip-compressed (no 1f 8b magic): ",
                             "expected a gzip file or a name without .gz");
    if (is_gz) {
      CALIB8_ASSIGN_OR_RETURN(memory_, Gunzip(path_));
      gz_ = true;
      file_.reset();
    }
    uint64_t total = gz_ ? memory_.size() : file_->size();
    if (total < 4)
      return InvalidArgument(what, ": ", total, " bytes is too short for an IDX header: expected ",
                             "at least 4 bytes (magic)");
    CALIB8_RETURN_IF_ERROR(Bytes(0, 4, magic));
    const IdxType* type = nullptr;
    for (const auto& t : kIdxTypes)
      if (t.code == magic[2]) type = &t;
    int ndims = magic[3];
    if (magic[0] != 0 || magic[1] != 0 || !type || ndims < 1) {
      char hex[16];
      std::snprintf(hex, sizeof(hex), "0x%02x%02x%02x%02x", magic[0], magic[1], magic[2], magic[3]);
      return InvalidArgument(what, ": bad IDX magic ", hex, ": expected 0x0000TTDD (TT a type ",
                             "code 08/09/0b/0c/0d/0e, DD the dim count >= 1), e.g. 0x00000803 for ",
                             "MNIST images");
    }
    header_size_ = 4 + 4 * static_cast<uint64_t>(ndims);
    if (total < header_size_)
      return InvalidArgument(what, ": truncated IDX header: ", ndims, " dims need ", header_size_,
                             " bytes, the file has ", total);
    std::vector<unsigned char> dims_raw(4 * static_cast<size_t>(ndims));
    CALIB8_RETURN_IF_ERROR(Bytes(4, dims_raw.size(), dims_raw.data()));
    header_bytes_.assign(magic, magic + 4);
    header_bytes_.append(reinterpret_cast<const char*>(dims_raw.data()), dims_raw.size());
    for (int i = 0; i < ndims; ++i) {
      const unsigned char* d = &dims_raw[4 * static_cast<size_t>(i)];
      dims_.push_back(static_cast<int64_t>(uint32_t{d[0]} << 24 | uint32_t{d[1]} << 16 |
                                           uint32_t{d[2]} << 8 | d[3]));
    }
    stored_ = type->dtype;
    elem_size_ = type->size;
    if (dims_[0] == 0)
      return InvalidArgument(what, ": the data set is empty (dims ", ShapeToString(dims_),
                             "): expected at least one sample");
    Shape tail(dims_.begin() + 1, dims_.end());
    sample_elems_ = NumElements(tail);
    uint64_t need = header_size_ + static_cast<uint64_t>(dims_[0]) * sample_elems_ * elem_size_;
    if (total < need)
      return InvalidArgument(what, ": data is truncated: dims ", ShapeToString(dims_), " of ",
                             DataTypeName(stored_), " need ", need, " bytes, the ",
                             gz_ ? "decompressed data has " : "file has ", total);
    // [N, H, W] images become [1, H, W]: one channel for NCHW models.
    sample_shape_ = tail;
    if (dims_.size() == 3) sample_shape_.insert(sample_shape_.begin(), 1);
    return Status::Ok();
  }

  int64_t NumSamples() const override { return dims_[0]; }
  const Shape& SampleShape() const override { return sample_shape_; }
  DataType SampleType() const override { return DataType::kFloat32; }

  Result<Tensor> Read(int64_t first, int64_t count) const override {
    CALIB8_RETURN_IF_ERROR(CheckRange(first, count, NumSamples(), "IDX file '" + path_ + "'"));
    Shape shape = sample_shape_;
    shape.insert(shape.begin(), count);
    Tensor out(DataType::kFloat32, shape);
    size_t n = static_cast<size_t>(count * sample_elems_);
    std::vector<unsigned char> raw(n * static_cast<size_t>(elem_size_));
    CALIB8_RETURN_IF_ERROR(
        Bytes(header_size_ + static_cast<uint64_t>(first) * sample_elems_ * elem_size_, raw.size(),
              raw.data()));
    float* dst = out.data<float>();
    float mean = spec_.mean.empty() ? 0.0f : spec_.mean[0];
    float stdev = spec_.std.empty() ? 1.0f : spec_.std[0];
    float unit = stored_ == DataType::kUint8 ? spec_.scale / 255.0f : 1.0f;
    for (size_t i = 0; i < n; ++i) {
      const unsigned char* p = &raw[i * static_cast<size_t>(elem_size_)];
      float v;
      switch (stored_) {
        case DataType::kUint8:
          v = p[0];
          break;
        case DataType::kInt8:
          v = static_cast<int8_t>(p[0]);
          break;
        case DataType::kInt16:
          v = static_cast<int16_t>(uint16_t(p[0] << 8 | p[1]));
          break;
        case DataType::kInt32:
          v = static_cast<float>(static_cast<int32_t>(uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 |
                                                      uint32_t{p[2]} << 8 | p[3]));
          break;
        case DataType::kFloat32: {
          uint32_t b = uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
          std::memcpy(&v, &b, 4);
          break;
        }
        default: {  // float64
          uint64_t b = 0;
          for (int k = 0; k < 8; ++k) b = b << 8 | p[k];
          double d;
          std::memcpy(&d, &b, 8);
          v = static_cast<float>(d);
        }
      }
      dst[i] = (v * unit - mean) / stdev;
    }
    return out;
  }

  nlohmann::json Describe() const override {
    nlohmann::json j;
    j["kind"] = "idx";
    j["path"] = path_;
    j["files"] = {BaseName(path_)};
    j["gzip"] = gz_;
    j["idx_dims"] = dims_;
    j["stored_dtype"] = DataTypeName(stored_);
    j["samples"] = NumSamples();
    j["sample_shape"] = sample_shape_;
    j["dtype"] = "float32";
    nlohmann::json p;
    p["scale"] = stored_ == DataType::kUint8 ? (spec_.scale == 1 ? "[0,1]" : "[0,255]") : "none";
    p["mean"] = spec_.mean.empty() ? 0.0f : spec_.mean[0];
    p["std"] = spec_.std.empty() ? 1.0f : spec_.std[0];
    p["text"] = FingerprintSpec();
    j["preprocessing"] = p;
    return j;
  }

  Status HashContent(int64_t count, ContentHasher& h) const override {
    // The (decompressed) header and the records of the first `count` samples.
    h.Field(BaseName(path_));
    h.Field(header_bytes_);
    uint64_t n = static_cast<uint64_t>(count) * sample_elems_ * elem_size_;
    if (gz_) {
      h.Bytes(memory_.data() + header_size_, static_cast<size_t>(n));
      return Status::Ok();
    }
    return file_->HashRange(header_size_, n, h);
  }
  std::string FingerprintSpec() const override {
    std::ostringstream os;
    os.precision(9);
    os << "mean=" << (spec_.mean.empty() ? 0.0f : spec_.mean[0])
       << ",std=" << (spec_.std.empty() ? 1.0f : spec_.std[0])
       << ",scale=" << (spec_.scale == 1 ? "1" : "255");
    return os.str();
  }

 private:
  Status Bytes(uint64_t offset, size_t n, void* dst) const {
    if (gz_) {
      std::memcpy(dst, memory_.data() + offset, n);
      return Status::Ok();
    }
    return file_->ReadAt(offset, n, dst);
  }

  std::string path_;
  PreprocessSpec spec_;
  std::unique_ptr<RandomAccessFile> file_;
  std::string memory_;  // decompressed contents of a .gz file
  bool gz_ = false;
  std::string header_bytes_;
  uint64_t header_size_ = 0;
  Shape dims_;
  Shape sample_shape_;
  DataType stored_ = DataType::kUndefined;
  int elem_size_ = 1;
  int64_t sample_elems_ = 0;
};

}  // namespace

Result<std::unique_ptr<DataSource>> OpenIdx(const std::string& path, const PreprocessSpec& spec) {
  PreprocessSpec defaults;
  if (spec.resize_shorter || spec.resize_w || spec.crop_w || spec.layout != defaults.layout ||
      spec.order != defaults.order)
    return InvalidArgument("idx:", path, ": options other than scale=, mean= and std= do not ",
                           "apply to IDX data: expected e.g. idx:", path,
                           "@scale=1,mean=0.5,std=0.5");
  if (spec.mean.size() > 1 || spec.std.size() > 1)
    return InvalidArgument("idx:", path, ": IDX images have one channel: expected one mean and ",
                           "one std value");
  auto src = std::make_unique<IdxSource>(path, spec);
  CALIB8_RETURN_IF_ERROR(src->Open());
  return std::unique_ptr<DataSource>(std::move(src));
}

}  // namespace calib8::data::internal
