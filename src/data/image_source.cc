// data/image_source.cc — images:DIR: PNG and JPEG files in name order, decoded with stb_image
// one file at a time inside Read() (never the whole directory), then run through the
// PreprocessSpec (preprocess.cc). Errors name the file: unreadable, empty, not what its extension
// says, corrupt, or a size that differs from the first image after preprocessing.
#include <stb/stb_image.h>

#include <cstring>
#include <filesystem>

#include "core/file_util.h"
#include "data/source_impl.h"

namespace calib8::data::internal {

namespace {

// Largest image decoded, in pixels: 8192 x 8192, far above any network input.
constexpr int64_t kMaxImagePixels = int64_t{1} << 26;

const char* SniffFormat(const std::string& bytes) {
  if (bytes.size() >= 8 && std::memcmp(bytes.data(), "\x89PNG\r\n\x1a\n", 8) == 0) return "PNG";
  if (bytes.size() >= 3 && std::memcmp(bytes.data(), "\xff\xd8\xff", 3) == 0) return "JPEG";
  return nullptr;
}

std::string FirstBytesHex(const std::string& bytes) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes.size() && i < 8; ++i) {
    if (i) out += ' ';
    out += kHex[static_cast<unsigned char>(bytes[i]) >> 4];
    out += kHex[static_cast<unsigned char>(bytes[i]) & 15];
  }
  return out;
}

// PNG chunk lengths against the bytes that follow them, before stb sees the file: stb_image
// grows its IDAT buffer to a chunk's claimed length before reading it, so a 71-byte file whose
// chunk claims 3.7 GB made it reserve that much (found by fuzz_image). The 4-byte CRC of the
// last chunk may be missing (stb does not read it either).
Status CheckPngChunks(const std::string& bytes, const std::string& what) {
  size_t pos = 8;
  bool idat_seen = false;
  while (pos + 8 <= bytes.size()) {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + pos);
    const uint64_t length =
        (uint64_t{p[0]} << 24) | (uint64_t{p[1]} << 16) | (uint64_t{p[2]} << 8) | uint64_t{p[3]};
    const std::string type(bytes.data() + pos + 4, 4);
    const uint64_t left = bytes.size() - pos - 8;
    if (length > left)
      return InvalidArgument(what, ": PNG chunk ", FirstBytesHex(type), " at byte ", pos,
                             " claims ", length, " data bytes but only ", left,
                             " follow: the file is corrupt or truncated");
    if (type == "IEND") break;
    // stb_image copies each IDAT chunk onto its buffer, which is null until the first non-empty
    // one: an empty IDAT before any image data makes it memcpy to a null pointer (UBSan; found by
    // fuzz_image). Legal PNG but never written by an encoder, so it is refused.
    if (type == "IDAT" && !idat_seen && length == 0)
      return InvalidArgument(
          what, ": PNG chunk IDAT at byte ", pos,
          " is empty and comes before "
          "any image data, which calib8's PNG decoder cannot read: re-save the image");
    if (type == "IDAT") idat_seen = true;
    pos += 8 + static_cast<size_t>(length) + 4;
  }
  return Status::Ok();
}

// JPEG Huffman tables against their use, before stb sees the file (its decoder checks neither):
// a scan that reads a table no DHT segment defined made stb decode with the uninitialised table
// of a malloc'd struct (a wild read, found by fuzz_image as an ASan SEGV; Release read garbage),
// and a DHT table of more than 256 codes made stbi__build_huffman write past its size array (UBSan,
// fuzz/regressions/image/jpeg-dht-257-codes-stb). Walks the markers and the scans between them
// (entropy-coded data skipped up to the next marker), and like stb skips stray bytes between
// segments to the next 0xFF (junk after the DQT once hid a DHT and its scan from the walk:
// fuzz/regressions/image/jpeg-junk-before-sof-hides-undefined-huffman-table); anything else
// malformed is left to stb.
Status CheckJpegTables(const std::string& bytes, const std::string& what) {
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  bool defined[2][4] = {};
  bool progressive = false;
  size_t pos = 2;
  while (pos + 4 <= n) {
    if (b[pos] != 0xFF) {  // stb_image skips bytes that are not a marker, so the walk does too
      ++pos;
      continue;
    }
    const unsigned char m = b[pos + 1];
    if (m == 0xFF) {  // fill byte
      ++pos;
      continue;
    }
    if (m == 0xD9) return Status::Ok();  // EOI
    if (m == 0x01 || (m >= 0xD0 && m <= 0xD8)) {
      pos += 2;
      continue;
    }
    const size_t len = (size_t{b[pos + 2]} << 8) | b[pos + 3];
    if (len < 2 || pos + 2 + len > n) return Status::Ok();
    const unsigned char* seg = b + pos + 4;
    const size_t seg_len = len - 2;
    if (m == 0xC2) progressive = true;
    if (m == 0xC4) {  // DHT: class/id, 16 counts, the values; possibly several tables
      size_t k = 0;
      while (k + 17 <= seg_len) {
        const int tc = seg[k] >> 4, th = seg[k] & 15;
        size_t codes = 0;
        for (int i = 1; i <= 16; ++i) codes += seg[k + static_cast<size_t>(i)];
        if (tc > 1 || th > 3 || codes > 256)
          return InvalidArgument(what, ": JPEG Huffman table segment at byte ", pos,
                                 " defines table class ", tc, " id ", th, " with ", codes,
                                 " codes: expected class 0 or 1, id 0..3 and at most 256 codes "
                                 "(the file is corrupt)");
        defined[tc][th] = true;
        k += 17 + codes;
      }
    }
    pos += 2 + len;
    if (m != 0xDA) continue;
    // SOS: components with their DC/AC table ids, then Ss, Se, Ah/Al.
    if (seg_len < 1 || seg_len < 1 + 2 * size_t{seg[0]} + 3) return Status::Ok();
    const size_t ns = seg[0];
    const unsigned char ss = seg[1 + 2 * ns], ah = seg[3 + 2 * ns] >> 4;
    const bool uses_dc = !progressive || (ss == 0 && ah == 0);
    const bool uses_ac = !progressive || ss > 0;
    for (size_t c = 0; c < ns; ++c) {
      const int td = seg[2 + 2 * c] >> 4, ta = seg[2 + 2 * c] & 15;
      const bool dc_bad = uses_dc && (td > 3 || !defined[0][td]);
      const bool ac_bad = uses_ac && (ta > 3 || !defined[1][ta]);
      if (dc_bad || ac_bad)
        return InvalidArgument(what, ": the JPEG scan at byte ", pos - 2 - len, " reads ",
                               dc_bad ? "DC" : "AC", " Huffman table ", dc_bad ? td : ta,
                               ", which no table segment before it defines (the file is corrupt)");
    }
    // Skip the entropy-coded data: up to a marker other than a stuffed 0xFF00 or a restart.
    while (pos + 1 < n &&
           !(b[pos] == 0xFF && b[pos + 1] != 0x00 && !(b[pos + 1] >= 0xD0 && b[pos + 1] <= 0xD7)))
      ++pos;
  }
  return Status::Ok();
}

struct Decoded {
  std::vector<float> values;
  int h = 0, w = 0;
};

class ImageDirSource : public DataSource {
 public:
  ImageDirSource(std::string dir, std::vector<std::string> files, PreprocessSpec spec)
      : dir_(std::move(dir)), files_(std::move(files)), spec_(std::move(spec)) {}

  // Decodes and preprocesses one file.
  Result<Decoded> Load(const std::string& path) const {
    std::string name = BaseName(path);
    std::string what = "image '" + path + "'";
    CALIB8_ASSIGN_OR_RETURN(std::string bytes, core::ReadFile(path, "image"));
    if (bytes.empty())
      return InvalidArgument(what, ": the file is empty: expected a PNG or JPEG image");
    std::string ext = LowerExtension(path);
    const char* expected = ext == ".png" ? "PNG" : "JPEG";
    const char* actual = SniffFormat(bytes);
    if (!actual)
      return InvalidArgument(what, ": not a ", expected, " image (first bytes ",
                             FirstBytesHex(bytes), "): expected the contents to match the ", ext,
                             " extension");
    if (std::strcmp(actual, expected) != 0)
      return InvalidArgument(what, ": the extension says ", expected, " but the contents are ",
                             actual, ": rename the file or convert it");
    if (std::strcmp(actual, "PNG") == 0) CALIB8_RETURN_IF_ERROR(CheckPngChunks(bytes, what));
    if (std::strcmp(actual, "JPEG") == 0) CALIB8_RETURN_IF_ERROR(CheckJpegTables(bytes, what));
    int w = 0, h = 0, c = 0;
    int want = spec_.Channels();
    // The size the header claims, checked before stb reserves memory for it (a JPEG header of
    // 65535 x 65535 in a few hundred bytes would make it reserve 12 GiB).
    if (stbi_info_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()),
                              static_cast<int>(bytes.size()), &w, &h, &c) &&
        static_cast<int64_t>(w) * h > kMaxImagePixels)
      return InvalidArgument(what, ": the ", actual, " header says ", w, " x ", h,
                             " pixels: more than calib8's limit of ", kMaxImagePixels,
                             " pixels (8192 x 8192) per image (docs/limits.md)");
    // A JPEG's entropy-coded data holds at least one Huffman-coded DC value (one bit at the
    // shortest) per 8 x 8 block of each component; the components sampled most finely in x and in
    // y cover at least half the image's blocks, so a file shorter than blocks / 16 bytes is
    // truncated (arithmetic coding, which could go below a bit, stb_image refuses). stb_image
    // pads missing data with zeros and decodes it anyway: a 662-byte JPEG claiming 11524 x 1024
    // made every read decode and preprocess 35 M values of nothing (found by fuzz_image).
    if (std::strcmp(actual, "JPEG") == 0 && w > 0 && h > 0) {
      const int64_t blocks = ((int64_t{w} + 7) / 8) * ((int64_t{h} + 7) / 8);
      if (static_cast<int64_t>(bytes.size()) < blocks / 16)
        return InvalidArgument(what, ": the JPEG header says ", w, " x ", h, " pixels (", blocks,
                               " blocks of 8 x 8, at least ", blocks / 16,
                               " bytes of coded data) but the file has ", bytes.size(),
                               " bytes: the file is truncated");
    }
    stbi_uc* px = stbi_load_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()),
                                        static_cast<int>(bytes.size()), &w, &h, &c, want);
    if (!px)
      return InvalidArgument(what, ": cannot decode the ", actual,
                             " data (stb_image: ", stbi_failure_reason(),
                             "): the file is corrupt or truncated");
    Decoded d;
    auto values = PreprocessImage(px, h, w, want, spec_, what, &d.h, &d.w);
    stbi_image_free(px);
    if (!values.ok()) return values.status();
    d.values = std::move(values).value();
    return d;
  }

  // The sample shape: fixed by the spec, or the first image's size after preprocessing.
  Status Init() {
    if (spec_.FixedHeight()) {
      sample_shape_ = spec_.SampleShape(spec_.FixedHeight(), spec_.FixedWidth());
      return Status::Ok();
    }
    CALIB8_ASSIGN_OR_RETURN(Decoded d, Load(files_[0]));
    sample_shape_ = spec_.SampleShape(d.h, d.w);
    return Status::Ok();
  }

  int64_t NumSamples() const override { return static_cast<int64_t>(files_.size()); }
  const Shape& SampleShape() const override { return sample_shape_; }
  DataType SampleType() const override { return DataType::kFloat32; }

  Result<Tensor> Read(int64_t first, int64_t count) const override {
    CALIB8_RETURN_IF_ERROR(CheckRange(first, count, NumSamples(), "images '" + dir_ + "'"));
    Shape shape = sample_shape_;
    shape.insert(shape.begin(), count);
    Tensor out(DataType::kFloat32, shape);
    size_t per = static_cast<size_t>(NumElements(sample_shape_));
    for (int64_t i = 0; i < count; ++i) {
      const std::string& path = files_[static_cast<size_t>(first + i)];
      CALIB8_ASSIGN_OR_RETURN(Decoded d, Load(path));
      Shape got = spec_.SampleShape(d.h, d.w);
      if (got != sample_shape_)
        return InvalidArgument("image '", path, "' is ", ShapeToString(got),
                               " after preprocessing but '", BaseName(files_[0]), "' is ",
                               ShapeToString(sample_shape_), " (", spec_.ToString(),
                               "): expected one size for all images: add crop= or resize=WxH");
      std::memcpy(out.data<float>() + static_cast<size_t>(i) * per, d.values.data(),
                  per * sizeof(float));
    }
    return out;
  }

  nlohmann::json Describe() const override {
    nlohmann::json j;
    j["kind"] = "images";
    j["path"] = dir_;
    j["samples"] = NumSamples();
    j["sample_shape"] = sample_shape_;
    j["dtype"] = "float32";
    j["files"] = FileList(files_, NumSamples());
    j["preprocessing"] = spec_.ToJson();
    j["decoder"] = "stb_image (PNG, JPEG)";
    return j;
  }
  Status HashContent(int64_t count, ContentHasher& h) const override {
    for (int64_t i = 0; i < count; ++i) {
      const std::string& path = files_[static_cast<size_t>(i)];
      h.Field(BaseName(path));
      CALIB8_RETURN_IF_ERROR(HashFile(path, "image", h));
    }
    return Status::Ok();
  }
  std::string FingerprintSpec() const override { return spec_.ToString(); }

 private:
  std::string dir_;
  std::vector<std::string> files_;
  PreprocessSpec spec_;
  Shape sample_shape_;
};

}  // namespace

Result<std::unique_ptr<DataSource>> OpenImageDir(const std::string& dir,
                                                 const PreprocessSpec& spec) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    return NotFound("images '", dir,
                    "': not a directory: expected images:DIR with PNG or JPEG files");
  CALIB8_ASSIGN_OR_RETURN(std::vector<std::string> files,
                          ListFiles(dir, {".png", ".jpg", ".jpeg"}));
  if (files.empty())
    return InvalidArgument("images '", dir, "': the data set is empty: expected .png, .jpg or ",
                           ".jpeg files");
  auto src = std::make_unique<ImageDirSource>(dir, std::move(files), spec);
  CALIB8_RETURN_IF_ERROR(src->Init());
  return std::unique_ptr<DataSource>(std::move(src));
}

}  // namespace calib8::data::internal
