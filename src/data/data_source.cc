// data/data_source.cc — the DataSource base (fingerprint), the spec parser that picks a source
// by prefix or extension, the max-samples wrapper, multi-input data, and helpers the concrete
// sources share (tensor_sources.cc, idx_source.cc, image_source.cc).
#include "data/data_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "data/source_impl.h"

namespace calib8::data {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// ContentHasher

ContentHasher::ContentHasher() : state_(XXH3_createState()) {
  XXH3_64bits_reset(static_cast<XXH3_state_t*>(state_));
}
ContentHasher::~ContentHasher() { XXH3_freeState(static_cast<XXH3_state_t*>(state_)); }

void ContentHasher::Field(std::string_view bytes) {
  uint64_t n = bytes.size();
  Bytes(&n, sizeof(n));
  Bytes(bytes.data(), bytes.size());
}

void ContentHasher::Bytes(const void* data, size_t size) {
  if (size) XXH3_64bits_update(static_cast<XXH3_state_t*>(state_), data, size);
  bytes_ += size;
  if (progress_ && bytes_ - reported_ >= (uint64_t{16} << 20)) {
    reported_ = bytes_;
    progress_(bytes_);
  }
}

std::string ContentHasher::HexDigest() const {
  uint64_t h = XXH3_64bits_digest(static_cast<const XXH3_state_t*>(state_));
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

namespace {
// Forwards a hasher's byte count to a ProgressCallback (stage "hashing the data", MiB).
void HashProgress(ContentHasher& h, const core::ProgressCallback& progress, uint64_t base) {
  if (!progress) return;
  progress({"hashing the data (fingerprint)", static_cast<int64_t>(base >> 20), 0, "MiB", ""});
  h.SetProgress([progress, base](uint64_t bytes) {
    progress({"hashing the data (fingerprint)", static_cast<int64_t>((base + bytes) >> 20), 0,
              "MiB", ""});
  });
}
}  // namespace

Result<std::string> DataSource::Fingerprint(const core::ProgressCallback& progress) const {
  ContentHasher h;
  HashProgress(h, progress, 0);
  h.Field("calib8-data-v1");
  h.Field(Describe().value("kind", ""));
  h.Field(FingerprintSpec());
  h.Field(std::to_string(NumSamples()));
  CALIB8_RETURN_IF_ERROR(HashContent(NumSamples(), h));
  return h.HexDigest();
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

namespace internal {

Result<std::unique_ptr<RandomAccessFile>> RandomAccessFile::Open(const std::string& path,
                                                                 const std::string& what) {
  std::string label = what + " '" + path + "'";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IoError(label, ": cannot open: ", std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return InvalidArgument(label, ": not a regular file");
  }
  return std::unique_ptr<RandomAccessFile>(
      new RandomAccessFile(fd, static_cast<uint64_t>(st.st_size), label));
}

RandomAccessFile::~RandomAccessFile() { ::close(fd_); }

Status RandomAccessFile::ReadAt(uint64_t offset, size_t n, void* dst) const {
  char* p = static_cast<char*>(dst);
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd_, p + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0)
      return IoError(label_, ": read failed at byte ", offset + done, ": ", std::strerror(errno));
    if (r == 0)
      return InvalidArgument(label_, ": truncated: expected ", n, " bytes at offset ", offset,
                             ", the file ends after ", offset + done);
    done += static_cast<size_t>(r);
  }
  return Status::Ok();
}

Status RandomAccessFile::HashRange(uint64_t offset, uint64_t n, ContentHasher& hasher) const {
  constexpr uint64_t kChunk = 1 << 20;
  std::vector<char> buf(static_cast<size_t>(std::min(n, kChunk)));
  for (uint64_t done = 0; done < n;) {
    size_t step = static_cast<size_t>(std::min(n - done, kChunk));
    CALIB8_RETURN_IF_ERROR(ReadAt(offset + done, step, buf.data()));
    hasher.Bytes(buf.data(), step);
    done += step;
  }
  return Status::Ok();
}

Status HashFile(const std::string& path, const std::string& what, ContentHasher& hasher) {
  CALIB8_ASSIGN_OR_RETURN(auto file, RandomAccessFile::Open(path, what));
  hasher.Field(std::to_string(file->size()));
  return file->HashRange(0, file->size(), hasher);
}

DataType OutputType(DataType stored) {
  return (stored == DataType::kFloat64 || stored == DataType::kFloat16) ? DataType::kFloat32
                                                                        : stored;
}

namespace {
float HalfToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t man = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do {
        ++e;
        man <<= 1;
      } while ((man & 0x400) == 0);
      bits = sign | static_cast<uint32_t>(127 - 15 - e) << 23 | (man & 0x3ff) << 13;
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | man << 13;
  } else {
    bits = sign | (exp + 127 - 15) << 23 | man << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
}  // namespace

void ConvertElements(const void* src, DataType from, size_t n, void* dst) {
  if (from == DataType::kFloat64) {
    const double* s = static_cast<const double*>(src);
    float* d = static_cast<float*>(dst);
    for (size_t i = 0; i < n; ++i) d[i] = static_cast<float>(s[i]);
  } else if (from == DataType::kFloat16) {
    const uint16_t* s = static_cast<const uint16_t*>(src);
    float* d = static_cast<float*>(dst);
    for (size_t i = 0; i < n; ++i) d[i] = HalfToFloat(s[i]);
  } else if (n) {
    std::memcpy(dst, src, n * DataTypeSize(from));
  }
}

std::string LowerExtension(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

std::string BaseName(const std::string& path) { return fs::path(path).filename().string(); }

Result<std::vector<std::string>> ListFiles(const std::string& dir,
                                           const std::vector<std::string>& exts) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return IoError("directory '", dir, "': cannot list: ", ec.message());
  std::vector<std::string> names;
  for (const auto& entry : it) {
    std::string name = entry.path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    if (!entry.is_regular_file(ec)) continue;
    std::string ext = LowerExtension(name);
    if (std::find(exts.begin(), exts.end(), ext) != exts.end()) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  std::vector<std::string> paths;
  paths.reserve(names.size());
  for (const auto& n : names) paths.push_back((fs::path(dir) / n).string());
  return paths;
}

nlohmann::json FileList(const std::vector<std::string>& paths, int64_t count) {
  nlohmann::json files = nlohmann::json::array();
  int64_t n = std::min<int64_t>(count, 1000);
  for (int64_t i = 0; i < n; ++i) files.push_back(BaseName(paths[static_cast<size_t>(i)]));
  return files;
}

Status CheckRange(int64_t first, int64_t count, int64_t n, const std::string& what) {
  if (first < 0 || count < 0 || first > n || count > n - first)
    return InvalidArgument(what, ": read of samples [", first, ", ", first + count,
                           ") is out of range: expected a range within [0, ", n, ")");
  return Status::Ok();
}

}  // namespace internal

// ---------------------------------------------------------------------------------------------
// LimitSamples

namespace {

class LimitedSource : public DataSource {
 public:
  LimitedSource(std::unique_ptr<DataSource> inner, int64_t limit)
      : inner_(std::move(inner)), limit_(limit) {}
  int64_t NumSamples() const override { return std::min(limit_, inner_->NumSamples()); }
  const Shape& SampleShape() const override { return inner_->SampleShape(); }
  DataType SampleType() const override { return inner_->SampleType(); }
  Result<Tensor> Read(int64_t first, int64_t count) const override {
    CALIB8_RETURN_IF_ERROR(
        internal::CheckRange(first, count, NumSamples(), "data set (limited by max samples)"));
    return inner_->Read(first, count);
  }
  nlohmann::json Describe() const override {
    nlohmann::json j = inner_->Describe();
    j["max_samples"] = limit_;
    j["samples_available"] = inner_->NumSamples();
    j["samples"] = NumSamples();
    if (j.contains("files") && j["files"].is_array() &&
        static_cast<int64_t>(j["files"].size()) > NumSamples())
      j["files"].erase(j["files"].begin() + NumSamples(), j["files"].end());
    return j;
  }
  Status HashContent(int64_t count, ContentHasher& hasher) const override {
    return inner_->HashContent(std::min(count, NumSamples()), hasher);
  }
  std::string FingerprintSpec() const override { return inner_->FingerprintSpec(); }

 private:
  std::unique_ptr<DataSource> inner_;
  int64_t limit_;
};

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// "PATH@OPTS" -> PATH, OPTS (OPTS only when it contains '=').
void SplitOptions(const std::string& text, std::string* path, std::string* opts, bool* has_opts) {
  size_t at = text.rfind('@');
  if (at != std::string::npos && text.find('=', at) != std::string::npos) {
    *path = text.substr(0, at);
    *opts = text.substr(at + 1);
    *has_opts = true;
  } else {
    *path = text;
    opts->clear();
    *has_opts = false;
  }
}

bool LooksLikeIdx(const std::string& path) {
  std::string p = path;
  if (p.size() > 3 && p.compare(p.size() - 3, 3, ".gz") == 0) p.resize(p.size() - 3);
  return p.size() > 6 &&
         (p.compare(p.size() - 6, 6, "-ubyte") == 0 || internal::LowerExtension(p) == ".idx");
}

}  // namespace

std::unique_ptr<DataSource> LimitSamples(std::unique_ptr<DataSource> inner, int64_t max_samples) {
  return std::make_unique<LimitedSource>(std::move(inner), max_samples);
}

// ---------------------------------------------------------------------------------------------
// OpenDataSource

Result<std::unique_ptr<DataSource>> OpenDataSource(const std::string& spec,
                                                   const OpenOptions& options) {
  if (spec.empty())
    return InvalidArgument("data spec is empty: expected a path, idx:PATH or images:DIR");
  if (options.max_samples < 0)
    return InvalidArgument("max samples is ", options.max_samples,
                           ": expected 0 (all) or a positive count");
  std::unique_ptr<DataSource> src;
  std::string path, opts;
  bool has_opts = false;
  if (StartsWith(spec, "images:")) {
    SplitOptions(spec.substr(7), &path, &opts, &has_opts);
    CALIB8_ASSIGN_OR_RETURN(PreprocessSpec pp,
                            PreprocessSpec::Parse(has_opts ? opts : options.preprocess));
    CALIB8_ASSIGN_OR_RETURN(src, internal::OpenImageDir(path, pp));
  } else if (StartsWith(spec, "idx:")) {
    SplitOptions(spec.substr(4), &path, &opts, &has_opts);
    CALIB8_ASSIGN_OR_RETURN(PreprocessSpec pp, PreprocessSpec::Parse(opts));
    CALIB8_ASSIGN_OR_RETURN(src, internal::OpenIdx(path, pp));
  } else {
    path = spec;
    if (StartsWith(spec, "npy:")) path = spec.substr(4);
    std::error_code ec;
    if (!fs::exists(path, ec))
      return NotFound("data '", path, "' does not exist: expected a .npy/.pb file, a directory, ",
                      "idx:PATH or images:DIR");
    if (fs::is_directory(path, ec)) {
      CALIB8_ASSIGN_OR_RETURN(src, internal::OpenTensorDir(path, options.sample_rank));
    } else if (internal::LowerExtension(path) == ".npy") {
      CALIB8_ASSIGN_OR_RETURN(src, internal::OpenNpyFile(path));
    } else if (internal::LowerExtension(path) == ".pb") {
      CALIB8_ASSIGN_OR_RETURN(src, internal::OpenPbFile(path));
    } else if (LooksLikeIdx(path)) {
      CALIB8_ASSIGN_OR_RETURN(src, internal::OpenIdx(path, PreprocessSpec{}));
    } else {
      std::string ext = internal::LowerExtension(path);
      if (ext == ".png" || ext == ".jpg" || ext == ".jpeg")
        return InvalidArgument("data '", path,
                               "': single images are not a data set: put them in a ",
                               "directory and use images:DIR");
      return InvalidArgument("data '", path, "': cannot tell the format from the name: expected ",
                             "a .npy or .pb file, a directory, idx:PATH or images:DIR");
    }
  }
  if (options.max_samples > 0) src = LimitSamples(std::move(src), options.max_samples);
  return src;
}

// ---------------------------------------------------------------------------------------------
// Multi-input

namespace {
std::string ShapeText(const nlohmann::json& shape) {
  std::string s = "[";
  if (shape.is_array())
    for (size_t i = 0; i < shape.size(); ++i) {
      if (i) s += ',';
      s += shape[i].dump();  // appended: g++ 12 -Wrestrict false positive on "x" + std::string&&
    }
  s += ']';
  return s;
}

std::string SourceText(const nlohmann::json& j) {
  // Built by appending: g++ 12 warns (-Wrestrict, a false positive) on "x" + std::string&&.
  if (!j.is_object() || !j.contains("kind")) return j.dump();
  std::string kind = j.value("kind", "");
  std::string where = j.value("path", "");
  if (kind == "idx" && j.contains("files") && j["files"].is_array() && !j["files"].empty())
    where = j["files"][0].get<std::string>();
  std::string s = kind;
  s.append(" ").append(where);
  if (j.value("gzip", false)) s.append(" (gzip)");
  // Integers only: the description may come from an edited statistics file, and nlohmann casts
  // a float such as 1e55 to int64_t unchecked.
  auto count = [&j](const char* key) -> int64_t {
    auto it = j.find(key);
    return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
  };
  const int64_t n = count("samples");
  s.append(": ");
  if (count("samples_available") > n)
    s.append("first ")
        .append(std::to_string(n))
        .append(" of ")
        .append(std::to_string(count("samples_available")));
  else
    s.append(std::to_string(n));
  s.append(" samples");
  if (j.contains("sample_shape")) s.append(", each ").append(ShapeText(j["sample_shape"]));
  if (j.contains("dtype")) s.append(" ").append(j["dtype"].get<std::string>());
  if (j.contains("preprocessing")) {
    const auto& p = j["preprocessing"];
    s.append("; preprocessing ")
        .append(p.is_object() && p.contains("text") && p["text"].is_string()
                    ? p["text"].get<std::string>()
                    : p.dump());
  }
  return s;
}
}  // namespace

std::string DescriptionText(const nlohmann::json& d) {
  try {
    if (d.is_object() && d.contains("inputs") && d["inputs"].is_array()) {
      std::string s;
      for (const auto& in : d["inputs"]) {
        if (!s.empty()) s += "; ";
        std::string name = in.value("name", "");
        if (!name.empty()) s += "input '" + name + "': ";
        s += SourceText(in.contains("source") ? in["source"] : in);
      }
      return s;
    }
    return SourceText(d);
  } catch (const nlohmann::json::exception&) {
    return d.dump();
  }
}

void SplitNamedSpec(const std::string& text, std::string* name, std::string* spec) {
  name->clear();
  *spec = text;
  size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0) return;
  size_t stop = text.find_first_of(":/@");
  if (stop != std::string::npos && stop < eq) return;
  std::error_code ec;
  if (fs::exists(text, ec)) return;
  *name = text.substr(0, eq);
  *spec = text.substr(eq + 1);
}

Result<MultiInputData> MultiInputData::Open(const std::vector<std::string>& specs,
                                            const OpenOptions& options) {
  if (specs.empty()) return InvalidArgument("no data given: expected at least one --data SPEC");
  MultiInputData d;
  std::set<std::string> seen;
  for (const auto& text : specs) {
    std::string name, spec;
    SplitNamedSpec(text, &name, &spec);
    for (const auto& known : options.input_names)
      if (!known.empty() && text.size() > known.size() + 1 &&
          text.compare(0, known.size(), known) == 0 && text[known.size()] == '=' &&
          known.size() > name.size()) {
        name = known;
        spec = text.substr(known.size() + 1);
      }
    if (name.empty() && specs.size() > 1)
      return InvalidArgument("data spec '", text, "' has no input name: with several data specs, ",
                             "each must be NAME=SPEC");
    if (!seen.insert(name).second)
      return InvalidArgument("input '", name, "' is given data twice: expected one spec per input");
    auto src = OpenDataSource(spec, options);
    if (!src.ok())
      return name.empty() ? src.status() : src.status().WithContext("input '" + name + "'");
    d.names_.push_back(name);
    d.sources_.push_back(std::move(src).value());
  }
  for (size_t i = 1; i < d.sources_.size(); ++i)
    if (d.sources_[i]->NumSamples() != d.sources_[0]->NumSamples())
      return InvalidArgument("input '", d.names_[i], "' has ", d.sources_[i]->NumSamples(),
                             " samples but input '", d.names_[0], "' has ",
                             d.sources_[0]->NumSamples(),
                             ": expected the same count for every input");
  return d;
}

int64_t MultiInputData::NumSamples() const {
  return sources_.empty() ? 0 : sources_[0]->NumSamples();
}

Result<std::vector<Tensor>> MultiInputData::Read(int64_t first, int64_t count) const {
  std::vector<Tensor> out;
  for (size_t i = 0; i < sources_.size(); ++i) {
    auto t = sources_[i]->Read(first, count);
    if (!t.ok())
      return names_[i].empty() ? t.status() : t.status().WithContext("input '" + names_[i] + "'");
    out.push_back(std::move(t).value());
  }
  return out;
}

nlohmann::json MultiInputData::Describe() const {
  nlohmann::json inputs = nlohmann::json::array();
  for (size_t i = 0; i < sources_.size(); ++i)
    inputs.push_back({{"name", names_[i]}, {"source", sources_[i]->Describe()}});
  return {{"inputs", inputs}, {"samples", NumSamples()}};
}

Result<std::string> MultiInputData::Fingerprint(const core::ProgressCallback& progress) const {
  if (sources_.size() == 1 && names_[0].empty()) return sources_[0]->Fingerprint(progress);
  ContentHasher h;
  h.Field("calib8-multi-input-v1");
  for (size_t i = 0; i < sources_.size(); ++i) {
    h.Field(names_[i]);
    CALIB8_ASSIGN_OR_RETURN(std::string f, sources_[i]->Fingerprint(progress));
    h.Field(f);
  }
  return h.HexDigest();
}

}  // namespace calib8::data
