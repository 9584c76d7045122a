// data/tensor_sources.cc — sources of ready-made tensors: one .npy file whose first axis is the
// sample axis (read by byte range, never whole), one .pb TensorProto (loaded whole; protobuf has
// no partial reads), and a directory of .npy or .pb files holding one sample each.
#include <cstring>

#include "data/npy.h"
#include "data/source_impl.h"
#include "onnx/onnx_import.h"

namespace calib8::data::internal {

namespace {

Shape Tail(const Shape& s) { return Shape(s.begin() + 1, s.end()); }

nlohmann::json BaseDescription(const char* kind, const std::string& path, int64_t samples,
                               const Shape& sample_shape, DataType dtype, DataType stored) {
  nlohmann::json j;
  j["kind"] = kind;
  j["path"] = path;
  j["samples"] = samples;
  j["sample_shape"] = sample_shape;
  j["dtype"] = DataTypeName(dtype);
  if (stored != dtype) j["stored_dtype"] = DataTypeName(stored);
  return j;
}

std::string ConversionSpec(DataType stored) {
  return std::string("stored=") + DataTypeName(stored) + ",out=" + DataTypeName(OutputType(stored));
}

// --- one .npy file -----------------------------------------------------------------------------

class NpyFileSource : public DataSource {
 public:
  NpyFileSource(std::string path, NpyHeader header, std::unique_ptr<RandomAccessFile> file)
      : path_(std::move(path)), header_(std::move(header)), file_(std::move(file)) {
    sample_shape_ = Tail(header_.shape);
    sample_bytes_ = static_cast<uint64_t>(NumElements(sample_shape_)) * DataTypeSize(header_.dtype);
  }
  int64_t NumSamples() const override { return header_.shape[0]; }
  const Shape& SampleShape() const override { return sample_shape_; }
  DataType SampleType() const override { return OutputType(header_.dtype); }

  Result<Tensor> Read(int64_t first, int64_t count) const override {
    CALIB8_RETURN_IF_ERROR(CheckRange(first, count, NumSamples(), "npy file '" + path_ + "'"));
    Shape shape = sample_shape_;
    shape.insert(shape.begin(), count);
    Tensor out(SampleType(), shape);
    uint64_t offset = header_.data_offset + static_cast<uint64_t>(first) * sample_bytes_;
    size_t n = static_cast<size_t>(count * NumElements(sample_shape_));
    if (SampleType() == header_.dtype) {
      CALIB8_RETURN_IF_ERROR(file_->ReadAt(offset, out.nbytes(), out.raw()));
    } else {
      std::vector<char> raw(static_cast<size_t>(count) * sample_bytes_);
      CALIB8_RETURN_IF_ERROR(file_->ReadAt(offset, raw.size(), raw.data()));
      ConvertElements(raw.data(), header_.dtype, n, out.raw());
    }
    return out;
  }

  nlohmann::json Describe() const override {
    nlohmann::json j =
        BaseDescription("npy", path_, NumSamples(), sample_shape_, SampleType(), header_.dtype);
    j["files"] = {BaseName(path_)};
    return j;
  }
  Status HashContent(int64_t count, ContentHasher& h) const override {
    h.Field(BaseName(path_));
    CALIB8_RETURN_IF_ERROR(file_->HashRange(0, header_.data_offset, h));
    return file_->HashRange(header_.data_offset, static_cast<uint64_t>(count) * sample_bytes_, h);
  }
  std::string FingerprintSpec() const override { return ConversionSpec(header_.dtype); }

 private:
  std::string path_;
  NpyHeader header_;
  std::unique_ptr<RandomAccessFile> file_;
  Shape sample_shape_;
  uint64_t sample_bytes_ = 0;
};

// --- one .pb file (whole tensor in memory) -----------------------------------------------------

class PbFileSource : public DataSource {
 public:
  PbFileSource(std::string path, Tensor t) : path_(std::move(path)), stored_(std::move(t)) {
    sample_shape_ = Tail(stored_.shape());
  }
  int64_t NumSamples() const override { return stored_.dim(0); }
  const Shape& SampleShape() const override { return sample_shape_; }
  DataType SampleType() const override { return OutputType(stored_.dtype()); }
  Result<Tensor> Read(int64_t first, int64_t count) const override {
    CALIB8_RETURN_IF_ERROR(CheckRange(first, count, NumSamples(), "tensor file '" + path_ + "'"));
    Shape shape = sample_shape_;
    shape.insert(shape.begin(), count);
    Tensor out(SampleType(), shape);
    size_t per = static_cast<size_t>(NumElements(sample_shape_));
    const char* src = static_cast<const char*>(stored_.raw()) +
                      static_cast<size_t>(first) * per * DataTypeSize(stored_.dtype());
    ConvertElements(src, stored_.dtype(), per * static_cast<size_t>(count), out.raw());
    return out;
  }
  nlohmann::json Describe() const override {
    nlohmann::json j =
        BaseDescription("pb", path_, NumSamples(), sample_shape_, SampleType(), stored_.dtype());
    j["files"] = {BaseName(path_)};
    return j;
  }
  Status HashContent(int64_t count, ContentHasher& h) const override {
    // The file's bytes are not laid out by sample, so the whole file is hashed, then the count.
    h.Field(BaseName(path_));
    CALIB8_RETURN_IF_ERROR(HashFile(path_, "tensor file", h));
    h.Field(std::to_string(count));
    return Status::Ok();
  }
  std::string FingerprintSpec() const override { return ConversionSpec(stored_.dtype()); }

 private:
  std::string path_;
  Tensor stored_;
  Shape sample_shape_;
};

// --- a directory of one-sample files -----------------------------------------------------------

class TensorDirSource : public DataSource {
 public:
  TensorDirSource(std::string dir, std::vector<std::string> files, bool npy, Shape file_shape,
                  DataType stored, int sample_rank)
      : dir_(std::move(dir)),
        files_(std::move(files)),
        npy_(npy),
        stored_(stored),
        sample_rank_(sample_rank) {
    sample_shape_ = SampleShapeOf(file_shape);
  }

  // A file's shape without the leading batch axis of 1 (see OpenOptions::sample_rank).
  Shape SampleShapeOf(const Shape& file_shape) const {
    bool drop = !file_shape.empty() && file_shape[0] == 1 &&
                (sample_rank_ >= 0 ? static_cast<int>(file_shape.size()) == sample_rank_ + 1
                                   : file_shape.size() >= 2);
    return drop ? Tail(file_shape) : file_shape;
  }

  int64_t NumSamples() const override { return static_cast<int64_t>(files_.size()); }
  const Shape& SampleShape() const override { return sample_shape_; }
  DataType SampleType() const override { return OutputType(stored_); }

  Result<Tensor> Read(int64_t first, int64_t count) const override {
    CALIB8_RETURN_IF_ERROR(CheckRange(first, count, NumSamples(), "directory '" + dir_ + "'"));
    Shape shape = sample_shape_;
    shape.insert(shape.begin(), count);
    Tensor out(SampleType(), shape);
    size_t per = static_cast<size_t>(NumElements(sample_shape_));
    char* dst = static_cast<char*>(out.raw());
    for (int64_t i = 0; i < count; ++i) {
      const std::string& path = files_[static_cast<size_t>(first + i)];
      Result<Tensor> t = npy_ ? LoadNpy(path) : onnx_io::LoadTensorProtoFile(path);
      if (!t.ok()) return t.status();
      CALIB8_RETURN_IF_ERROR(CheckSame(path, t->shape(), t->dtype()));
      ConvertElements(t->raw(), stored_, per,
                      dst + static_cast<size_t>(i) * per * DataTypeSize(SampleType()));
    }
    return out;
  }

  Status CheckSame(const std::string& path, const Shape& file_shape, DataType dtype) const {
    if (SampleShapeOf(file_shape) != sample_shape_)
      return InvalidArgument("directory '", dir_, "': file '", BaseName(path), "' has shape ",
                             ShapeToString(file_shape), " but '", BaseName(files_[0]), "' has ",
                             ShapeToString(first_shape_), ": expected every file to hold one ",
                             "sample of the same shape");
    if (dtype != stored_)
      return InvalidArgument("directory '", dir_, "': file '", BaseName(path), "' holds ",
                             DataTypeName(dtype), " but '", BaseName(files_[0]), "' holds ",
                             DataTypeName(stored_), ": expected one element type for all files");
    return Status::Ok();
  }
  void set_first_shape(Shape s) { first_shape_ = std::move(s); }

  nlohmann::json Describe() const override {
    nlohmann::json j = BaseDescription(npy_ ? "npy_dir" : "pb_dir", dir_, NumSamples(),
                                       sample_shape_, SampleType(), stored_);
    j["files"] = FileList(files_, NumSamples());
    return j;
  }
  Status HashContent(int64_t count, ContentHasher& h) const override {
    for (int64_t i = 0; i < count; ++i) {
      const std::string& path = files_[static_cast<size_t>(i)];
      h.Field(BaseName(path));
      CALIB8_RETURN_IF_ERROR(HashFile(path, npy_ ? "npy file" : "tensor file", h));
    }
    return Status::Ok();
  }
  std::string FingerprintSpec() const override {
    return ConversionSpec(stored_) + ",sample_shape=" + ShapeToString(sample_shape_);
  }

 private:
  std::string dir_;
  std::vector<std::string> files_;
  bool npy_;
  DataType stored_;
  int sample_rank_;
  Shape sample_shape_;
  Shape first_shape_;
};

Status CheckSupported(DataType dt, const std::string& what) {
  if (dt == DataType::kUndefined) return Unimplemented(what, ": element type is not supported");
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<DataSource>> OpenNpyFile(const std::string& path) {
  CALIB8_ASSIGN_OR_RETURN(NpyHeader header, ReadNpyHeader(path));
  std::string what = "npy file '" + path + "'";
  if (header.shape.empty())
    return InvalidArgument(what, ": holds a scalar: expected an array whose first axis is samples");
  if (header.shape[0] == 0)
    return InvalidArgument(what, ": the data set is empty (shape ", ShapeToString(header.shape),
                           "): expected at least one sample on the first axis");
  CALIB8_ASSIGN_OR_RETURN(auto file, RandomAccessFile::Open(path, "npy file"));
  uint64_t need = header.data_offset +
                  static_cast<uint64_t>(NumElements(header.shape)) * DataTypeSize(header.dtype);
  if (file->size() < need)
    return InvalidArgument(what, ": data is truncated: the file has ", file->size(),
                           " bytes, expected ", need, " for ", DataTypeName(header.dtype),
                           ShapeToString(header.shape));
  return std::unique_ptr<DataSource>(new NpyFileSource(path, header, std::move(file)));
}

Result<std::unique_ptr<DataSource>> OpenPbFile(const std::string& path) {
  CALIB8_ASSIGN_OR_RETURN(Tensor t, onnx_io::LoadTensorProtoFile(path));
  std::string what = "tensor file '" + path + "'";
  CALIB8_RETURN_IF_ERROR(CheckSupported(t.dtype(), what));
  if (t.rank() == 0)
    return InvalidArgument(what, ": holds a scalar: expected a tensor whose first axis is samples");
  if (t.dim(0) == 0)
    return InvalidArgument(what, ": the data set is empty (shape ", ShapeToString(t.shape()),
                           "): expected at least one sample on the first axis");
  return std::unique_ptr<DataSource>(new PbFileSource(path, std::move(t)));
}

Result<std::unique_ptr<DataSource>> OpenTensorDir(const std::string& dir, int sample_rank) {
  CALIB8_ASSIGN_OR_RETURN(std::vector<std::string> npy, ListFiles(dir, {".npy"}));
  CALIB8_ASSIGN_OR_RETURN(std::vector<std::string> pb, ListFiles(dir, {".pb"}));
  if (!npy.empty() && !pb.empty())
    return InvalidArgument("directory '", dir, "' mixes .npy (", npy.size(), ") and .pb (",
                           pb.size(), ") files: expected one kind");
  if (npy.empty() && pb.empty()) {
    CALIB8_ASSIGN_OR_RETURN(std::vector<std::string> images,
                            ListFiles(dir, {".png", ".jpg", ".jpeg"}));
    if (!images.empty())
      return InvalidArgument("directory '", dir, "' holds no .npy or .pb files but ", images.size(),
                             " images: use images:", dir);
    return InvalidArgument("directory '", dir, "': the data set is empty: expected .npy or .pb ",
                           "files, one sample each");
  }
  bool is_npy = !npy.empty();
  std::vector<std::string> files = is_npy ? std::move(npy) : std::move(pb);
  Shape first_shape;
  DataType stored;
  if (is_npy) {
    CALIB8_ASSIGN_OR_RETURN(NpyHeader h, ReadNpyHeader(files[0]));
    first_shape = h.shape;
    stored = h.dtype;
  } else {
    CALIB8_ASSIGN_OR_RETURN(Tensor t, onnx_io::LoadTensorProtoFile(files[0]));
    CALIB8_RETURN_IF_ERROR(CheckSupported(t.dtype(), "tensor file '" + files[0] + "'"));
    first_shape = t.shape();
    stored = t.dtype();
  }
  auto src =
      std::make_unique<TensorDirSource>(dir, files, is_npy, first_shape, stored, sample_rank);
  src->set_first_shape(first_shape);
  // .npy headers are cheap: every file's shape and type are checked now. .pb files are checked
  // as they are read.
  if (is_npy) {
    for (size_t i = 1; i < files.size(); ++i) {
      CALIB8_ASSIGN_OR_RETURN(NpyHeader h, ReadNpyHeader(files[i]));
      CALIB8_RETURN_IF_ERROR(src->CheckSame(files[i], h.shape, h.dtype));
    }
  }
  return std::unique_ptr<DataSource>(std::move(src));
}

}  // namespace calib8::data::internal
