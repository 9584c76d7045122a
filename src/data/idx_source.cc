// data/idx_source.cc — idx:PATH, the IDX format of MNIST and Fashion-MNIST (big-endian header:
// two zero bytes, a type code, the number of dims, then each dim as uint32). A plain file is read
// by byte range; a .gz file is streamed: gzread decompresses sequentially up to the bytes asked
// for (reading forward continues where the last read stopped; reading backwards rewinds), so
// --max-samples N decompresses only the first N samples and a calibration pass decompresses each
// sample once. The header's sample count is checked against the gzip trailer's size (ISIZE).
// uint8 samples become float32 in [0,1] (scale=255 keeps [0,255]); [N,H,W] gives samples [1,H,W].
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <sstream>

#include "data/idx_source.h"
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

// A gzip file read by decompressed offset: gzread decompresses forward from where the last read
// stopped; what it decompressed is kept (up to kCacheBytes), so later passes over the same
// samples read memory instead of decompressing again. Past the cap the cache is dropped and a read
// behind the position rewinds. One position, guarded by a mutex (Read is const and may be called
// from several threads).
class GzReader {
 public:
  static constexpr uint64_t kCacheBytes = uint64_t{64} << 20;

  ~GzReader() {
    if (f_) gzclose(f_);
  }
  Status Open(const std::string& path) {
    path_ = path;
    f_ = gzopen(path.c_str(), "rb");
    if (!f_) return IoError("IDX file '", path, "': cannot open: ", std::strerror(errno));
    gzbuffer(f_, 1 << 17);
    return Status::Ok();
  }
  // Exactly `n` decompressed bytes at `offset`, or a message naming the file. `sink(p, k)`
  // receives the bytes in order, in chunks (hashing a range needs no buffer of its size).
  template <typename Sink>
  Status Stream(uint64_t offset, uint64_t n, Sink&& sink) {
    std::lock_guard<std::mutex> lock(mu_);
    const uint64_t end = offset + n;
    if (offset < cache_.size()) {  // the part already decompressed and kept
      const uint64_t k = std::min<uint64_t>(end, cache_.size()) - offset;
      sink(cache_.data() + offset, static_cast<size_t>(k));
      offset += k;
      if (offset == end) return Status::Ok();
    }
    if (offset < pos_) {  // behind the stream and not cached: start over
      if (gzrewind(f_) != 0) return Corrupt();
      pos_ = 0;
    }
    std::vector<char> own;
    while (pos_ < end) {
      const bool skip = pos_ < offset;
      const uint64_t step = std::min<uint64_t>((skip ? offset : end) - pos_, 1 << 20);
      char* dst;
      if (caching_ && cache_.size() + step <= kCacheBytes) {
        cache_.resize(cache_.size() + step);
        dst = cache_.data() + cache_.size() - step;
      } else {
        if (caching_) {  // over the cap: stream from now on
          caching_ = false;
          std::string().swap(cache_);
        }
        own.resize(static_cast<size_t>(step));
        dst = own.data();
      }
      CALIB8_RETURN_IF_ERROR(Chunk(dst, step, end));
      if (!skip) sink(dst, static_cast<size_t>(step));
    }
    return Status::Ok();
  }
  // Appends every decompressed byte from the current position to the end of the stream (for a
  // file read whole: nothing is cached). Fails when the gzip data is corrupt.
  Status ReadToEnd(std::string* out) {
    std::lock_guard<std::mutex> lock(mu_);
    caching_ = false;
    std::vector<char> buf(1 << 16);
    for (;;) {
      int n = gzread(f_, buf.data(), static_cast<unsigned>(buf.size()));
      if (n < 0) return Fail();
      if (n == 0) return Status::Ok();
      out->append(buf.data(), static_cast<size_t>(n));
      pos_ += static_cast<uint64_t>(n);
    }
  }

 private:
  // Decompresses exactly `n` bytes at the current position into dst; pos_ advances.
  Status Chunk(char* dst, uint64_t n, uint64_t want_end) {
    for (uint64_t got = 0; got < n;) {
      int r = gzread(f_, dst + got, static_cast<unsigned>(n - got));
      if (r < 0) return Fail();
      if (r == 0) {
        if (caching_) cache_.resize(pos_ + got);
        pos_ += got;
        return InvalidArgument("IDX file '", path_, "': data is truncated: ", want_end,
                               " decompressed bytes are needed, the gzip data ends after ", pos_);
      }
      got += static_cast<uint64_t>(r);
    }
    pos_ += n;
    return Status::Ok();
  }
  Status Fail() {
    // The stream is unusable past here: say why, then start over (empty cache) on the next read.
    Status st = Corrupt();
    gzrewind(f_);
    pos_ = 0;
    cache_.clear();
    return st;
  }
  Status Corrupt() {
    int err = 0;
    std::string msg = gzerror(f_, &err);
    return InvalidArgument("IDX file '", path_, "': gzip data is corrupt (zlib: ", msg,
                           "): expected a valid .gz file");
  }

  std::string path_;
  gzFile f_ = nullptr;
  uint64_t pos_ = 0;   // decompressed bytes read so far
  std::string cache_;  // bytes [0, cache_.size()) while caching_
  bool caching_ = true;
  std::mutex mu_;
};

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
    uint64_t total = file_->size();
    const uint64_t file_bytes = total;
    if (is_gz) {
      // ISIZE, the last 4 bytes: the decompressed size modulo 2^32 (of the last gzip member).
      unsigned char isize[4] = {0, 0, 0, 0};
      if (file_->size() >= 18) CALIB8_RETURN_IF_ERROR(file_->ReadAt(file_->size() - 4, 4, isize));
      gz_size_mod32_ =
          uint32_t{isize[3]} << 24 | uint32_t{isize[2]} << 16 | uint32_t{isize[1]} << 8 | isize[0];
      gz_ = std::make_unique<GzReader>();
      CALIB8_RETURN_IF_ERROR(gz_->Open(path_));
      file_.reset();
      total = UINT64_MAX;  // not known without decompressing everything
    }
    if (total < 4)
      return InvalidArgument(what, ": ", total, " bytes is too short for an IDX header: expected ",
                             "at least 4 bytes (magic)");
    if (gz_) {
      Status st = Bytes(0, 4, magic);
      if (!st.ok() && st.message().find("truncated") != std::string::npos)
        return InvalidArgument(what, ": too short for an IDX header: expected at least 4 bytes ",
                               "(magic) after decompression");
      CALIB8_RETURN_IF_ERROR(st);
    } else {
      CALIB8_RETURN_IF_ERROR(Bytes(0, 4, magic));
    }
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
    uint64_t data_bytes = 0;
    if (!CheckedSize(dims_, stored_, nullptr, &data_bytes))
      return InvalidArgument(what, ": IDX header dims ", ShapeToString(dims_), " of ",
                             DataTypeName(stored_), " overflow: more than 2^62 bytes");
    sample_elems_ = NumElements(tail);
    uint64_t need = header_size_ + data_bytes;
    // deflate expands at most 1032:1, so a .gz file of n bytes holds at most 1032 n bytes: a
    // header that claims more is refused before anything is read or allocated.
    if (gz_ && need / 1032 > file_bytes)
      return InvalidArgument(what, ": data is truncated: dims ", ShapeToString(dims_), " of ",
                             DataTypeName(stored_), " need ", need, " bytes, more than a ",
                             file_bytes, "-byte gzip file can hold (deflate expands at most ",
                             "1032:1)");
    // A gzip file: the trailer's ISIZE is the decompressed size mod 2^32; a smaller size than the
    // header needs (when that is below 4 GiB) means truncated data (checked exactly when read).
    if (gz_ && need < (uint64_t{1} << 32) && gz_size_mod32_ < need)
      return InvalidArgument(what, ": data is truncated: dims ", ShapeToString(dims_), " of ",
                             DataTypeName(stored_), " need ", need,
                             " bytes, the gzip trailer says the decompressed data has ",
                             gz_size_mod32_);
    if (!gz_ && total < need)
      return InvalidArgument(what, ": data is truncated: dims ", ShapeToString(dims_), " of ",
                             DataTypeName(stored_), " need ", need, " bytes, the ", "file has ",
                             total);
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
    if (stored_ == DataType::kUint8) {  // MNIST-style images: the same arithmetic, no switch
      for (size_t i = 0; i < n; ++i) dst[i] = (static_cast<float>(raw[i]) * unit - mean) / stdev;
      return out;
    }
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
    j["gzip"] = gz_ != nullptr;
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
    if (gz_) return gz_->Stream(header_size_, n, [&h](const char* p, size_t k) { h.Bytes(p, k); });
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
      char* out = static_cast<char*>(dst);
      return gz_->Stream(offset, n, [&out](const char* p, size_t k) {
        std::memcpy(out, p, k);
        out += k;
      });
    }
    return file_->ReadAt(offset, n, dst);
  }

  std::string path_;
  PreprocessSpec spec_;
  std::unique_ptr<RandomAccessFile> file_;
  std::unique_ptr<GzReader> gz_;  // a .gz file, streamed
  uint32_t gz_size_mod32_ = 0;    // its trailer's ISIZE
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

namespace calib8::data {

Result<std::vector<int64_t>> ReadIdxLabels(const std::string& path) {
  // The whole file through the gzip reader (gzread passes a plain file through unchanged).
  internal::GzReader gz;
  if (!gz.Open(path).ok()) return NotFound("cannot open IDX file '", path, "'");
  std::string bytes;
  if (!gz.ReadToEnd(&bytes).ok())
    return InvalidArgument("IDX file '", path, "' is not readable (corrupt gzip?)");
  // The header: magic 00 00 <type> 01 (one dimension), then the count as big-endian uint32.
  auto u8 = [&](size_t i) { return static_cast<unsigned char>(bytes[i]); };
  if (bytes.size() < 8 || u8(0) != 0 || u8(1) != 0 || u8(3) != 1)
    return InvalidArgument("'", path, "' is not an IDX label file (expected magic 00 00 ",
                           "<type> 01: one dimension)");
  const int type = u8(2);
  const internal::IdxType* t = nullptr;
  for (const auto& k : internal::kIdxTypes)
    if (k.code == type && k.size == 1) t = &k;
  if (!t)
    return InvalidArgument("IDX file '", path, "' has element type 0x", type,
                           "; labels must be unsigned or signed bytes (0x08/0x09)");
  uint64_t n = uint64_t{u8(4)} << 24 | uint64_t{u8(5)} << 16 | uint64_t{u8(6)} << 8 | u8(7);
  if (bytes.size() < 8 + n)
    return InvalidArgument("IDX file '", path, "' is truncated: ", n, " labels need ", 8 + n,
                           " bytes, it has ", bytes.size());
  std::vector<int64_t> labels(n);
  for (uint64_t i = 0; i < n; ++i)
    labels[i] = t->dtype == DataType::kUint8 ? int64_t{u8(8 + i)}
                                             : int64_t{static_cast<int8_t>(bytes[8 + i])};
  return labels;
}

}  // namespace calib8::data
