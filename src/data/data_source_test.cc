// data/data_source_test.cc — every data source kind on small files written here (npy, npy/pb
// directories, hand-made IDX plain and gzipped, PNG/JPEG written with stb_image_write), plus
// Debian's Fashion-MNIST test set; preprocessing by hand on 2x2 images; batching equivalence;
// fingerprints; and the message of each bad input.
#include "data/data_source.h"

#include <gtest/gtest.h>
#include <stb/stb_image_write.h>
#include <zlib.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "data/npy.h"
#include "onnx/onnx_import.h"

namespace calib8::data {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("calib8_data_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string Sub(const std::string& name) const {
    fs::create_directories(path_ / name);
    return (path_ / name).string();
  }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}
std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

Tensor Iota(Shape shape, float start = 0) {
  Tensor t(DataType::kFloat32, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = start + static_cast<float>(i);
  return t;
}

std::vector<float> Values(const Tensor& t) {
  EXPECT_EQ(t.dtype(), DataType::kFloat32);
  return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
}

std::unique_ptr<DataSource> MustOpen(const std::string& spec, const OpenOptions& o = {}) {
  auto r = OpenDataSource(spec, o);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? std::move(r).value() : nullptr;
}

std::string OpenError(const std::string& spec, const OpenOptions& o = {}) {
  auto r = OpenDataSource(spec, o);
  return r.ok() ? "(opened)" : r.status().message();
}

std::string ReadError(const DataSource& s) {
  auto r = s.Read(0, s.NumSamples());
  return r.ok() ? "(read)" : r.status().message();
}

// Read(0, n) equals the concatenation of Read(0, k) and Read(k, n - k).
void ExpectBatchingEquivalent(const DataSource& s, int64_t n, int64_t k) {
  auto all = s.Read(0, n);
  auto a = s.Read(0, k);
  auto b = s.Read(k, n - k);
  ASSERT_TRUE(all.ok() && a.ok() && b.ok());
  ASSERT_EQ(all->nbytes(), a->nbytes() + b->nbytes());
  std::string joined(static_cast<const char*>(a->raw()), a->nbytes());
  joined.append(static_cast<const char*>(b->raw()), b->nbytes());
  EXPECT_EQ(std::string(static_cast<const char*>(all->raw()), all->nbytes()), joined);
}

// IDX bytes: magic 0x000008NN then big-endian dims, then `data`.
std::string IdxBytes(const std::vector<uint32_t>& dims, const std::string& data) {
  std::string out("\0\0\x08", 3);
  out += static_cast<char>(dims.size());
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) out += static_cast<char>((d >> s) & 0xff);
  return out + data;
}

void WriteGz(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())),
            static_cast<int>(bytes.size()));
  gzclose(f);
}

// RGB image h x w with every pixel (r, g, b) given per pixel.
void WritePng(const std::string& path, int w, int h, const std::vector<uint8_t>& rgb, int c = 3) {
  ASSERT_NE(stbi_write_png(path.c_str(), w, h, c, rgb.data(), w * c), 0);
}

// ------------------------------------------------------------------------------------------------
// .npy file

TEST(NpySourceTest, ReadsRangesOfTheFirstAxis) {
  TempDir tmp;
  ASSERT_TRUE(SaveNpy(Iota({5, 2, 3}), tmp / "x.npy").ok());
  auto s = MustOpen(tmp / "x.npy");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->NumSamples(), 5);
  EXPECT_EQ(s->SampleShape(), (Shape{2, 3}));
  EXPECT_EQ(s->SampleType(), DataType::kFloat32);
  auto r = s->Read(1, 2);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(Values(*r)[0], 6.0f);
  EXPECT_EQ(Values(*r)[11], 17.0f);
  ExpectBatchingEquivalent(*s, 4, 2);
  ExpectBatchingEquivalent(*s, 5, 3);
  auto j = s->Describe();
  EXPECT_EQ(j["kind"], "npy");
  EXPECT_EQ(j["files"][0], "x.npy");
  EXPECT_EQ(j["sample_shape"], nlohmann::json({2, 3}));
  EXPECT_NE(s->Read(4, 2).status().message().find("out of range"), std::string::npos);
}

TEST(NpySourceTest, Float64BecomesFloat32AndIntegersAreKept) {
  TempDir tmp;
  Tensor d = Tensor::FromVector<double>({2, 2}, {0.5, -1.25, 3.0, 4.0});
  Tensor i = Tensor::FromVector<int64_t>({3, 1}, {7, 8, 9});
  ASSERT_TRUE(SaveNpy(d, tmp / "d.npy").ok());
  ASSERT_TRUE(SaveNpy(i, tmp / "i.npy").ok());
  auto sd = MustOpen(tmp / "d.npy");
  auto rd = sd->Read(0, 2);
  ASSERT_TRUE(rd.ok());
  EXPECT_EQ(Values(*rd), (std::vector<float>{0.5f, -1.25f, 3.0f, 4.0f}));
  EXPECT_EQ(sd->Describe()["stored_dtype"], "float64");
  auto si = MustOpen(tmp / "i.npy");
  EXPECT_EQ(si->SampleType(), DataType::kInt64);
  auto ri = si->Read(1, 2);
  ASSERT_TRUE(ri.ok());
  EXPECT_EQ(ri->data<int64_t>()[1], 9);
}

TEST(NpySourceTest, EmptyTruncatedAndMisnamedFilesAreRefused) {
  TempDir tmp;
  ASSERT_TRUE(SaveNpy(Tensor(DataType::kFloat32, {0, 3}), tmp / "empty.npy").ok());
  EXPECT_NE(OpenError(tmp / "empty.npy").find("empty"), std::string::npos);
  std::string bytes = SerializeNpy(Iota({4, 8}));
  WriteBytes(tmp / "trunc.npy", bytes.substr(0, bytes.size() - 5));
  std::string msg = OpenError(tmp / "trunc.npy");
  EXPECT_NE(msg.find("trunc.npy"), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  WriteBytes(tmp / "text.npy", "hello, I am text");
  msg = OpenError(tmp / "text.npy");
  EXPECT_NE(msg.find("text.npy"), std::string::npos) << msg;
  EXPECT_NE(msg.find("not a .npy file"), std::string::npos) << msg;
  msg = OpenError(tmp / "missing.npy");
  EXPECT_NE(msg.find("does not exist"), std::string::npos) << msg;
}

// ------------------------------------------------------------------------------------------------
// Directories of one-sample files

TEST(DataSourceTest, NpyDirectoryInNameOrderDropsLeadingOne) {
  TempDir tmp;
  std::string dir = tmp.Sub("samples");
  // Written out of order: b (10..), a (0..), c (20..).
  ASSERT_TRUE(SaveNpy(Iota({1, 2, 2}, 10), dir + "/b.npy").ok());
  ASSERT_TRUE(SaveNpy(Iota({1, 2, 2}, 0), dir + "/a.npy").ok());
  ASSERT_TRUE(SaveNpy(Iota({1, 2, 2}, 20), dir + "/c.npy").ok());
  WriteBytes(dir + "/README.txt", "ignored");
  auto s = MustOpen(dir);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->NumSamples(), 3);
  EXPECT_EQ(s->SampleShape(), (Shape{2, 2}));
  auto r = s->Read(0, 3);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->shape(), (Shape{3, 2, 2}));
  EXPECT_EQ(Values(*r)[0], 0.0f);
  EXPECT_EQ(Values(*r)[4], 10.0f);
  EXPECT_EQ(Values(*r)[8], 20.0f);
  ExpectBatchingEquivalent(*s, 3, 1);
  EXPECT_EQ(s->Describe()["files"], nlohmann::json({"a.npy", "b.npy", "c.npy"}));
  EXPECT_EQ(s->Describe()["kind"], "npy_dir");

  // With the model's sample rank known (3: [C,H,W]), [1,2,2] is one sample with C=1.
  OpenOptions o;
  o.sample_rank = 3;
  auto kept = MustOpen(dir, o);
  EXPECT_EQ(kept->SampleShape(), (Shape{1, 2, 2}));
}

TEST(DataSourceTest, PbDirectory) {
  TempDir tmp;
  std::string dir = tmp.Sub("pb");
  ASSERT_TRUE(onnx_io::SaveTensorProtoFile(Iota({1, 3}, 0), "x", dir + "/input_0.pb").ok());
  ASSERT_TRUE(onnx_io::SaveTensorProtoFile(Iota({1, 3}, 3), "x", dir + "/input_1.pb").ok());
  auto s = MustOpen(dir);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->SampleShape(), (Shape{3}));  // [1,3]: the leading batch axis of 1 is dropped
  auto r = s->Read(0, 2);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(Values(*r), (std::vector<float>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(s->Describe()["kind"], "pb_dir");
  // A single .pb file: first axis = samples.
  ASSERT_TRUE(onnx_io::SaveTensorProtoFile(Iota({3, 2}), "x", tmp / "all.pb").ok());
  auto one = MustOpen(tmp / "all.pb");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->NumSamples(), 3);
  ExpectBatchingEquivalent(*one, 3, 1);
  // Not a TensorProto.
  std::string bad = tmp.Sub("badpb");
  WriteBytes(bad + "/0.pb", "\xff\xff\xff not protobuf");
  std::string msg = OpenError(bad);
  EXPECT_NE(msg.find("0.pb"), std::string::npos) << msg;
}

TEST(DataSourceTest, MixedShapesNameBothFilesAndShapes) {
  TempDir tmp;
  std::string dir = tmp.Sub("mixed");
  ASSERT_TRUE(SaveNpy(Iota({3, 4, 4}), dir + "/a.npy").ok());
  ASSERT_TRUE(SaveNpy(Iota({3, 8, 8}), dir + "/b.npy").ok());
  std::string msg = OpenError(dir);
  EXPECT_NE(msg.find("'b.npy' has shape [3,8,8]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'a.npy' has [3,4,4]"), std::string::npos) << msg;

  std::string pbdir = tmp.Sub("pbmixed");
  ASSERT_TRUE(onnx_io::SaveTensorProtoFile(Iota({2, 2}), "x", pbdir + "/0.pb").ok());
  ASSERT_TRUE(onnx_io::SaveTensorProtoFile(Iota({2, 3}), "x", pbdir + "/1.pb").ok());
  auto s = MustOpen(pbdir);
  ASSERT_TRUE(s);
  msg = ReadError(*s);
  EXPECT_NE(msg.find("'1.pb' has shape [2,3]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'0.pb' has [2,2]"), std::string::npos) << msg;
}

TEST(DataSourceTest, EmptyAndImageOnlyDirectories) {
  TempDir tmp;
  std::string empty = tmp.Sub("empty");
  std::string msg = OpenError(empty);
  EXPECT_NE(msg.find("empty"), std::string::npos) << msg;
  msg = OpenError("images:" + empty);
  EXPECT_NE(msg.find("empty"), std::string::npos) << msg;
  std::string imgs = tmp.Sub("imgs");
  WritePng(imgs + "/a.png", 1, 1, {1, 2, 3});
  msg = OpenError(imgs);
  EXPECT_NE(msg.find("use images:"), std::string::npos) << msg;
}

// ------------------------------------------------------------------------------------------------
// IDX

TEST(IdxSourceTest, HandMadeGzAndPlainGiveTheSameSamples) {
  TempDir tmp;
  // Three 2x3 images, pixel values 0, 10, ..., 170.
  std::string pixels;
  for (int i = 0; i < 18; ++i) pixels += static_cast<char>(i * 10);
  std::string bytes = IdxBytes({3, 2, 3}, pixels);
  WriteBytes(tmp / "tiny-idx3-ubyte", bytes);
  WriteGz(tmp / "tiny-idx3-ubyte.gz", bytes);
  auto plain = MustOpen("idx:" + tmp / "tiny-idx3-ubyte");
  auto gz = MustOpen("idx:" + tmp / "tiny-idx3-ubyte.gz");
  ASSERT_TRUE(plain && gz);
  EXPECT_EQ(gz->NumSamples(), 3);
  EXPECT_EQ(gz->SampleShape(), (Shape{1, 2, 3}));
  auto r = gz->Read(1, 1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->shape(), (Shape{1, 1, 2, 3}));
  EXPECT_FLOAT_EQ(Values(*r)[0], 60.0f / 255.0f);
  EXPECT_FLOAT_EQ(Values(*r)[5], 110.0f / 255.0f);
  auto rp = plain->Read(0, 3);
  auto rg = gz->Read(0, 3);
  ASSERT_TRUE(rp.ok() && rg.ok());
  EXPECT_EQ(Values(*rp), Values(*rg));
  ExpectBatchingEquivalent(*gz, 3, 2);
  ExpectBatchingEquivalent(*plain, 3, 1);
  EXPECT_EQ(gz->Describe()["gzip"], true);
  // Without the idx: prefix a *-ubyte name is recognised too.
  EXPECT_TRUE(MustOpen(tmp / "tiny-idx3-ubyte.gz"));

  auto raw = MustOpen("idx:" + tmp / "tiny-idx3-ubyte.gz@scale=255,mean=100,std=2");
  auto rr = raw->Read(2, 1);
  ASSERT_TRUE(rr.ok());
  EXPECT_FLOAT_EQ(Values(*rr)[0], (120.0f - 100.0f) / 2.0f);
}

TEST(IdxSourceTest, BadMagicNotGzipTruncatedAndEmpty) {
  TempDir tmp;
  WriteBytes(tmp / "bad.idx", std::string("\x12\x34\x08\x03", 4) + std::string(12, '\0'));
  std::string msg = OpenError("idx:" + tmp / "bad.idx");
  EXPECT_NE(msg.find("bad.idx"), std::string::npos) << msg;
  EXPECT_NE(msg.find("bad IDX magic 0x12340803"), std::string::npos) << msg;

  WriteBytes(tmp / "plain.gz", IdxBytes({1, 1, 1}, "x"));
  msg = OpenError("idx:" + tmp / "plain.gz");
  EXPECT_NE(msg.find("not gzip-compressed"), std::string::npos) << msg;

  WriteGz(tmp / "short.gz", IdxBytes({4, 2, 2}, "abc"));
  msg = OpenError("idx:" + tmp / "short.gz");
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;

  std::string good;
  {
    std::string b = IdxBytes({2, 2, 2}, "abcdefgh");
    WriteGz(tmp / "cut.gz", b);
    good = ReadBytes(tmp / "cut.gz");
    WriteBytes(tmp / "cut.gz", good.substr(0, good.size() / 2));  // a corrupt / cut gzip stream
  }
  msg = OpenError("idx:" + tmp / "cut.gz");
  EXPECT_NE(msg.find("cut.gz"), std::string::npos) << msg;

  WriteGz(tmp / "zero.gz", IdxBytes({0, 28, 28}, ""));
  msg = OpenError("idx:" + tmp / "zero.gz");
  EXPECT_NE(msg.find("empty"), std::string::npos) << msg;

  msg = OpenError("idx:" + tmp / "zero.gz@crop=2");
  EXPECT_NE(msg.find("do not apply"), std::string::npos) << msg;
}

TEST(IdxSourceTest, FashionMnistTestSet) {
  const std::string path = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
  if (!fs::exists(path)) GTEST_SKIP() << path << " not installed (Debian dataset-fashion-mnist)";
  // Reference values computed independently with /usr/bin/python3 + numpy 1.24:
  //   a = np.frombuffer(gzip.open(path).read(), np.uint8, offset=16).reshape(-1, 28, 28)
  //   a.shape == (10000, 28, 28); a[0].sum() == 33456; a[0, 14, 14] == 110;
  //   a[9999].sum() == 24390; a[9999, 14, 14] == 132; a[0].max() == 255.
  auto s = MustOpen("idx:" + path);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->NumSamples(), 10000);
  EXPECT_EQ(s->SampleShape(), (Shape{1, 28, 28}));
  auto r = s->Read(0, 1);
  ASSERT_TRUE(r.ok());
  double sum = 0, mx = 0;
  for (float v : Values(*r)) sum += v, mx = std::max<double>(mx, v);
  EXPECT_NEAR(sum * 255.0, 33456.0, 1e-2);
  EXPECT_EQ(mx, 1.0);
  EXPECT_FLOAT_EQ(Values(*r)[14 * 28 + 14], 110.0f / 255.0f);
  auto last = s->Read(9999, 1);
  ASSERT_TRUE(last.ok());
  sum = 0;
  for (float v : Values(*last)) sum += v;
  EXPECT_NEAR(sum * 255.0, 24390.0, 1e-2);
  EXPECT_FLOAT_EQ(Values(*last)[14 * 28 + 14], 132.0f / 255.0f);

  OpenOptions o;
  o.max_samples = 500;
  auto limited = MustOpen("idx:" + path, o);
  EXPECT_EQ(limited->NumSamples(), 500);
  EXPECT_EQ(limited->Describe()["max_samples"], 500);
  EXPECT_EQ(limited->Describe()["samples_available"], 10000);
  EXPECT_FALSE(limited->Read(499, 2).ok());
}

TEST(DataSourceTest, HashingReportsProgressAndKeepsTheDigest) {
  std::vector<char> chunk(1 << 20, 'x');
  ContentHasher plain, watched;
  std::vector<uint64_t> seen;
  watched.SetProgress([&seen](uint64_t b) { seen.push_back(b); });
  for (int i = 0; i < 48; ++i) {
    plain.Bytes(chunk.data(), chunk.size());
    watched.Bytes(chunk.data(), chunk.size());
  }
  EXPECT_EQ(plain.HexDigest(), watched.HexDigest());
  EXPECT_EQ(seen, (std::vector<uint64_t>{16u << 20, 32u << 20, 48u << 20}));
}

TEST(IdxSourceTest, FashionMnistFingerprintsAreTheOnesOfTheWholeFileDecoder) {
  // Streaming the .gz must not change what a sidecar records: these data fingerprints were
  // written by calib8 at 2fd9892 (which decompressed the whole file into memory) for
  // idx:t10k-images-idx3-ubyte.gz with --max-samples 500 and with all 10000 samples.
  const std::string path = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
  if (!fs::exists(path)) GTEST_SKIP() << path << " not installed (Debian dataset-fashion-mnist)";
  OpenOptions o;
  o.max_samples = 500;
  auto limited = MustOpen("idx:" + path, o);
  ASSERT_TRUE(limited);
  auto fp = limited->Fingerprint();
  ASSERT_TRUE(fp.ok()) << fp.status().message();
  EXPECT_EQ(*fp, "0e3d477b5e8b316e");
  std::vector<core::ProgressUpdate> updates;
  auto with_progress = limited->Fingerprint([&updates](const core::ProgressUpdate& u) { updates.push_back(u); });
  ASSERT_TRUE(with_progress.ok());
  EXPECT_EQ(*with_progress, *fp);
  ASSERT_FALSE(updates.empty());
  EXPECT_EQ(updates[0].unit, "MiB");
  auto all = MustOpen("idx:" + path);
  ASSERT_TRUE(all);
  auto fp_all = all->Fingerprint();
  ASSERT_TRUE(fp_all.ok()) << fp_all.status().message();
  EXPECT_EQ(*fp_all, "21be3dcfd6a9dd41");
  // Reading backwards after the fingerprint (which left the stream at the end) rewinds.
  auto first = all->Read(0, 1);
  ASSERT_TRUE(first.ok());
  EXPECT_FLOAT_EQ(Values(*first)[14 * 28 + 14], 110.0f / 255.0f);
}

// A gzip stream that is intact only for its first `keep` samples: written with a sync flush after
// them, then cut there, with the real trailer (CRC, size) put back. Decoding past the cut fails.
std::string PrefixOnlyGz(const std::string& path, const std::string& idx, size_t prefix_bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  EXPECT_NE(f, nullptr);
  gzwrite(f, idx.data(), static_cast<unsigned>(prefix_bytes));
  gzflush(f, Z_SYNC_FLUSH);
  const auto cut = fs::file_size(path);
  gzwrite(f, idx.data() + prefix_bytes, static_cast<unsigned>(idx.size() - prefix_bytes));
  gzclose(f);
  std::string whole = ReadBytes(path);
  std::string prefix_only = whole.substr(0, cut) + whole.substr(whole.size() - 8);
  WriteBytes(path, prefix_only);
  return whole;
}

TEST(IdxSourceTest, GzMaxSamplesDecompressesOnlyThePrefix) {
  TempDir tmp;
  const int n = 400, keep = 10, px = 28 * 28;
  std::string pixels(static_cast<size_t>(n) * px, '\0');
  uint32_t x = 12345;  // pseudo-random pixels: deflate cannot shrink them much
  for (char& c : pixels) c = static_cast<char>((x = x * 1103515245u + 12345u) >> 24);
  const std::string idx = IdxBytes({n, 28, 28}, pixels);
  const std::string cut_dir = tmp.Sub("cut"), whole_dir = tmp.Sub("whole");
  const std::string cut = cut_dir + "/f-idx3-ubyte.gz", whole = whole_dir + "/f-idx3-ubyte.gz";
  WriteBytes(whole, PrefixOnlyGz(cut, idx, 16 + static_cast<size_t>(keep) * px));
  WriteBytes(tmp / "f-idx3-ubyte", idx);

  OpenOptions o;
  o.max_samples = keep;
  auto prefix = MustOpen("idx:" + cut, o);
  auto reference = MustOpen("idx:" + whole, o);
  auto plain = MustOpen("idx:" + tmp / "f-idx3-ubyte", o);
  ASSERT_TRUE(prefix && reference && plain);
  // The first `keep` samples: readable, in any order, and identical to the intact file's.
  for (int i : {keep - 1, 0, 3, 3, keep - 1}) {
    auto a = prefix->Read(i, 1), b = plain->Read(i, 1);
    ASSERT_TRUE(a.ok()) << a.status().message();
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(Values(*a), Values(*b)) << "sample " << i;
  }
  ExpectBatchingEquivalent(*prefix, keep, 3);
  auto fa = prefix->Fingerprint(), fb = reference->Fingerprint();
  ASSERT_TRUE(fa.ok()) << fa.status().message();
  ASSERT_TRUE(fb.ok());
  EXPECT_EQ(*fa, *fb);  // the fingerprint hashes the prefix only

  // Without the limit the damage past the prefix is found, and the message names the file.
  auto all = MustOpen("idx:" + cut);
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->Read(0, keep).ok());
  auto bad = all->Read(0, n);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("f-idx3-ubyte.gz"), std::string::npos) << bad.status().message();
  EXPECT_FALSE(all->Fingerprint().ok());
  auto good = MustOpen("idx:" + whole);
  ASSERT_TRUE(good);
  EXPECT_TRUE(good->Read(n - 1, 1).ok());
}

// ------------------------------------------------------------------------------------------------
// Images

// 2x2 RGB image, pixels row-major: (0,0)=(255,0,0) (0,1)=(0,255,0) (1,0)=(0,0,255)
// (1,1)=(51,102,153)
const std::vector<uint8_t> k2x2 = {255, 0, 0, 0, 255, 0, 0, 0, 255, 51, 102, 153};

TEST(ImageSourceTest, PreprocessingByHandOn2x2) {
  TempDir tmp;
  std::string dir = tmp.Sub("img");
  WritePng(dir + "/a.png", 2, 2, k2x2);

  // Defaults: NCHW, RGB, [0,1].
  auto s = MustOpen("images:" + dir);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->SampleShape(), (Shape{3, 2, 2}));
  auto r = s->Read(0, 1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->shape(), (Shape{1, 3, 2, 2}));
  // Channel R plane: 255, 0, 0, 51 -> 1, 0, 0, 0.2; G plane: 0, 1, 0, 0.4; B plane: 0, 0, 1, 0.6.
  std::vector<float> expect = {1, 0, 0, 0.2f, 0, 1, 0, 0.4f, 0, 0, 1, 0.6f};
  auto v = Values(*r);
  for (size_t i = 0; i < expect.size(); ++i) EXPECT_NEAR(v[i], expect[i], 1e-6) << i;

  // mean/std per channel, scale 255, NHWC, BGR: pixel (1,1) = (51,102,153) becomes
  // B: (153 - 10) / 2 = 71.5, G: (102 - 20) / 4 = 20.5, R: (51 - 30) / 5 = 4.2 (mean/std in BGR).
  auto s2 = MustOpen("images:" + dir + "@mean=10/20/30,std=2/4/5,scale=255,layout=nhwc,order=bgr");
  ASSERT_TRUE(s2);
  EXPECT_EQ(s2->SampleShape(), (Shape{2, 2, 3}));
  auto r2 = s2->Read(0, 1);
  ASSERT_TRUE(r2.ok());
  auto v2 = Values(*r2);
  EXPECT_NEAR(v2[9], 71.5f, 1e-5);
  EXPECT_NEAR(v2[10], 20.5f, 1e-5);
  EXPECT_NEAR(v2[11], 4.2f, 1e-5);
  // Pixel (0,0) = red: B (0-10)/2 = -5, G (0-20)/4 = -5, R (255-30)/5 = 45.
  EXPECT_NEAR(v2[0], -5.0f, 1e-5);
  EXPECT_NEAR(v2[1], -5.0f, 1e-5);
  EXPECT_NEAR(v2[2], 45.0f, 1e-5);
  auto pp = s2->Describe()["preprocessing"];
  EXPECT_EQ(pp["layout"], "nhwc");
  EXPECT_EQ(pp["order"], "bgr");
  EXPECT_EQ(pp["text"],
            "resize=none,crop=none,mean=10/20/30,std=2/4/5,layout=nhwc,order=bgr,scale=255");

  // Grayscale: gray pixels (r = g = b) keep their value; one channel.
  std::string gdir = tmp.Sub("gray");
  WritePng(gdir + "/g.png", 2, 2, {0, 0, 0, 51, 51, 51, 102, 102, 102, 255, 255, 255});
  auto g = MustOpen("images:" + gdir + "@order=gray,mean=0.5,std=0.5");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->SampleShape(), (Shape{1, 2, 2}));
  auto rg = g->Read(0, 1);
  ASSERT_TRUE(rg.ok());
  auto vg = Values(*rg);
  EXPECT_NEAR(vg[0], -1.0f, 1e-6);
  EXPECT_NEAR(vg[1], (0.2f - 0.5f) / 0.5f, 1e-6);
  EXPECT_NEAR(vg[2], (0.4f - 0.5f) / 0.5f, 1e-6);
  EXPECT_NEAR(vg[3], 1.0f, 1e-6);
}

TEST(ImageSourceTest, ResizeAndCentreCrop) {
  TempDir tmp;
  std::string dir = tmp.Sub("img");
  // 4 wide x 6 high, pixel value = 10 * row + col in every channel.
  std::vector<uint8_t> px;
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 4; ++x)
      for (int c = 0; c < 3; ++c) px.push_back(static_cast<uint8_t>(10 * y + x));
  WritePng(dir + "/a.png", 4, 6, px);
  // crop=2x2 from 4x6: left 1, top 2 -> rows 2..3, cols 1..2: 21 22 31 32.
  auto c = MustOpen("images:" + dir + "@crop=2,scale=255,order=gray");
  ASSERT_TRUE(c);
  auto rc = c->Read(0, 1);
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(Values(*rc), (std::vector<float>{21, 22, 31, 32}));
  // crop=2x3 (W x H) from 4 x 6: left 1, top round-half-even(1.5) = 2 -> rows 2..4.
  auto c2 = MustOpen("images:" + dir + "@crop=2x3,scale=255,order=gray");
  EXPECT_EQ(c2->SampleShape(), (Shape{1, 3, 2}));
  auto rc2 = c2->Read(0, 1);
  ASSERT_TRUE(rc2.ok());
  EXPECT_EQ(Values(*rc2), (std::vector<float>{21, 22, 31, 32, 41, 42}));
  // resize=2: shorter side (width 4) -> 2, height 6 -> 3 (torchvision rule).
  auto r = MustOpen("images:" + dir + "@resize=2");
  EXPECT_EQ(r->SampleShape(), (Shape{3, 3, 2}));
  // resize=WxH exact.
  auto r2 = MustOpen("images:" + dir + "@resize=5x7,layout=nhwc");
  EXPECT_EQ(r2->SampleShape(), (Shape{7, 5, 3}));
  ASSERT_TRUE(r2->Read(0, 1).ok());
  // A uniform image stays uniform through the resize filter.
  std::string udir = tmp.Sub("uniform");
  WritePng(udir + "/u.png", 5, 3, std::vector<uint8_t>(45, 128));
  auto u = MustOpen("images:" + udir + "@resize=8,crop=6,scale=255");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->SampleShape(), (Shape{3, 6, 6}));
  auto ru = u->Read(0, 1);
  ASSERT_TRUE(ru.ok());
  for (float v : Values(*ru)) EXPECT_NEAR(v, 128.0f, 1e-3);
  // Crop larger than the image.
  auto big = OpenDataSource("images:" + dir + "@crop=10");
  ASSERT_TRUE(big.ok());  // size is fixed by the spec; the image is checked on Read
  std::string msg = ReadError(**big);
  EXPECT_NE(msg.find("a.png"), std::string::npos) << msg;
  EXPECT_NE(msg.find("larger than the image"), std::string::npos) << msg;
}

TEST(ImageSourceTest, JpegAndPngInNameOrderWithBatching) {
  TempDir tmp;
  std::string dir = tmp.Sub("img");
  WritePng(dir + "/1.png", 8, 8, std::vector<uint8_t>(192, 200));
  ASSERT_NE(
      stbi_write_jpg((dir + "/2.jpg").c_str(), 8, 8, 3, std::vector<uint8_t>(192, 40).data(), 100),
      0);
  WritePng(dir + "/3.png", 8, 8, std::vector<uint8_t>(192, 90));
  ASSERT_NE(stbi_write_jpg((dir + "/4.JPEG").c_str(), 8, 8, 3,
                           std::vector<uint8_t>(192, 160).data(), 100),
            0);
  auto s = MustOpen("images:" + dir + "@scale=255");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->NumSamples(), 4);
  auto r = s->Read(0, 4);
  ASSERT_TRUE(r.ok());
  auto v = Values(*r);
  EXPECT_NEAR(v[0], 200, 0.5);
  EXPECT_NEAR(v[192], 40, 2.0);  // JPEG at quality 100: within 2 levels
  EXPECT_NEAR(v[384], 90, 0.5);
  EXPECT_NEAR(v[576], 160, 2.0);
  ExpectBatchingEquivalent(*s, 4, 2);
  EXPECT_EQ(s->Describe()["files"], nlohmann::json({"1.png", "2.jpg", "3.png", "4.JPEG"}));
}

TEST(ImageSourceTest, BadImagesAreNamed) {
  TempDir tmp;
  // Corrupt: PNG magic then garbage.
  std::string d1 = tmp.Sub("corrupt");
  WriteBytes(d1 + "/bad.png", std::string("\x89PNG\r\n\x1a\n", 8) + "garbage garbage garbage");
  std::string msg = OpenError("images:" + d1);
  EXPECT_NE(msg.find("bad.png"), std::string::npos) << msg;
  EXPECT_NE(msg.find("corrupt"), std::string::npos) << msg;
  // Truncated PNG with a fixed-size spec: found on Read.
  std::string d2 = tmp.Sub("trunc");
  WritePng(d2 + "/a.png", 4, 4, std::vector<uint8_t>(48, 7));
  WritePng(d2 + "/b.png", 4, 4, std::vector<uint8_t>(48, 9));
  std::string b = ReadBytes(d2 + "/b.png");
  WriteBytes(d2 + "/b.png", b.substr(0, b.size() / 2));
  auto s = MustOpen("images:" + d2 + "@crop=4");
  ASSERT_TRUE(s);
  msg = ReadError(*s);
  EXPECT_NE(msg.find("b.png"), std::string::npos) << msg;
  EXPECT_NE(msg.find("corrupt or truncated"), std::string::npos) << msg;
  // A chunk that claims more bytes than follow it (3.7 GB in a 2x2 image: stb_image would reserve
  // that much before reading; found by fuzz_image): refused before decoding, naming the chunk.
  std::string d2b = tmp.Sub("claims");
  WritePng(d2b + "/c.png", 2, 2, k2x2);
  std::string c = ReadBytes(d2b + "/c.png");
  size_t idat = c.find("IDAT");
  ASSERT_NE(idat, std::string::npos);
  c.replace(idat - 4, 4, std::string("\xe0\xad\x5c\x7b", 4));
  WriteBytes(d2b + "/c.png", c);
  msg = OpenError("images:" + d2b);
  EXPECT_NE(msg.find("c.png"), std::string::npos) << msg;
  EXPECT_NE(msg.find("PNG chunk 49 44 41 54 at byte " + std::to_string(idat - 4) +
                     " claims 3769457787 data bytes"), std::string::npos) << msg;
  // An empty IDAT chunk before any image data (stb_image would memcpy to a null pointer; found by
  // fuzz_image): an empty IDAT chunk inserted in front of the image data.
  std::string d2d = tmp.Sub("emptyidat");
  WritePng(d2d + "/e.png", 2, 2, k2x2);
  std::string e = ReadBytes(d2d + "/e.png");
  const size_t first_idat = e.find("IDAT") - 4;
  e.insert(first_idat, std::string("\0\0\0\0IDAT\x35\xaf\x06\x1e", 12));
  WriteBytes(d2d + "/e.png", e);
  msg = OpenError("images:" + d2d);
  EXPECT_NE(msg.find("e.png"), std::string::npos) << msg;
  EXPECT_NE(msg.find("PNG chunk IDAT at byte " + std::to_string(first_idat) + " is empty"),
            std::string::npos) << msg;
  // A JPEG whose frame header claims far more blocks than the file has bytes for (stb_image
  // would pad the missing data with zeros and decode 11524 x 1024 pixels; found by fuzz_image).
  std::string d2c = tmp.Sub("jpegclaims");
  const std::vector<uint8_t> grey(192, 40);
  ASSERT_NE(stbi_write_jpg((d2c + "/big.jpg").c_str(), 8, 8, 3, grey.data(), 90), 0);
  std::string jpg = ReadBytes(d2c + "/big.jpg");
  size_t sof = jpg.find("\xff\xc0");
  ASSERT_NE(sof, std::string::npos);
  jpg.replace(sof + 5, 4, std::string("\x2d\x04\x04\x00", 4));  // height 11524, width 1024
  WriteBytes(d2c + "/big.jpg", jpg);
  msg = OpenError("images:" + d2c);
  EXPECT_NE(msg.find("big.jpg"), std::string::npos) << msg;
  EXPECT_NE(msg.find("1024 x 11524 pixels (184448 blocks"), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  // The same image with its true header decodes.
  jpg.replace(sof + 5, 4, std::string("\x00\x08\x00\x08", 4));
  WriteBytes(d2c + "/big.jpg", jpg);
  EXPECT_TRUE(MustOpen("images:" + d2c));
  // A scan reading a Huffman table no DHT segment defines (stb_image would decode with an
  // uninitialised table: a wild read; found by fuzz_image): the second table of the DHT segment
  // (AC 0) relabelled DC 2.
  size_t dht = jpg.find("\xff\xc4");
  ASSERT_NE(dht, std::string::npos);
  size_t second = dht + 4 + 17;
  for (size_t i = 1; i <= 16; ++i) second += static_cast<uint8_t>(jpg[dht + 4 + i]);
  ASSERT_EQ(static_cast<uint8_t>(jpg[second]), 0x10);
  jpg[second] = 0x02;
  WriteBytes(d2c + "/big.jpg", jpg);
  msg = OpenError("images:" + d2c);
  EXPECT_NE(msg.find("big.jpg"), std::string::npos) << msg;
  EXPECT_NE(msg.find("reads AC Huffman table 0, which no table segment before it defines"),
            std::string::npos)
      << msg;
  // The same, with stray bytes before the DHT segment: stb_image skips them to the next marker,
  // so the check must too (the walk once stopped there; found by fuzz_image).
  jpg.insert(dht, std::string("\x00\x14\x14", 3));
  WriteBytes(d2c + "/big.jpg", jpg);
  msg = OpenError("images:" + d2c);
  EXPECT_NE(msg.find("reads AC Huffman table 0, which no table segment before it defines"),
            std::string::npos)
      << msg;
  // Text named .png; JPEG named .png; empty file.
  std::string d3 = tmp.Sub("liar");
  WriteBytes(d3 + "/text.png", "<html>not an image</html>");
  msg = OpenError("images:" + d3);
  EXPECT_NE(msg.find("text.png"), std::string::npos) << msg;
  EXPECT_NE(msg.find("not a PNG image"), std::string::npos) << msg;
  std::string d4 = tmp.Sub("jpegpng");
  ASSERT_NE(stbi_write_jpg((d4 + "/photo.png").c_str(), 2, 2, 3, k2x2.data(), 90), 0);
  msg = OpenError("images:" + d4);
  EXPECT_NE(msg.find("photo.png"), std::string::npos) << msg;
  EXPECT_NE(msg.find("extension says PNG but the contents are JPEG"), std::string::npos) << msg;
  std::string d5 = tmp.Sub("zero");
  WriteBytes(d5 + "/z.jpg", "");
  msg = OpenError("images:" + d5);
  EXPECT_NE(msg.find("z.jpg"), std::string::npos) << msg;
  EXPECT_NE(msg.find("empty"), std::string::npos) << msg;
  // Different sizes without a crop.
  std::string d6 = tmp.Sub("sizes");
  WritePng(d6 + "/a.png", 2, 2, k2x2);
  WritePng(d6 + "/b.png", 3, 2, std::vector<uint8_t>(18, 1));
  auto s6 = MustOpen("images:" + d6);
  ASSERT_TRUE(s6);
  msg = ReadError(*s6);
  EXPECT_NE(msg.find("b.png' is [3,2,3]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'a.png' is [3,2,2]"), std::string::npos) << msg;
  // Unknown key and bad values in the spec.
  msg = OpenError("images:" + d6 + "@resise=3");
  EXPECT_NE(msg.find("unknown key 'resise'"), std::string::npos) << msg;
  msg = OpenError("images:" + d6 + "@mean=1/2");
  EXPECT_NE(msg.find("2 values for 3 channel"), std::string::npos) << msg;
  msg = OpenError("images:" + d6 + "@std=0");
  EXPECT_NE(msg.find("non-zero"), std::string::npos) << msg;
  msg = OpenError("images:" + d6 + "@layout=chw");
  EXPECT_NE(msg.find("nchw or nhwc"), std::string::npos) << msg;
}

TEST(ImageSourceTest, SpecRoundTripsThroughItsCanonicalText) {
  auto s = PreprocessSpec::Parse(
      "resize=256,crop=224,mean=0.485/0.456/0.406,std=0.229/0.224/"
      "0.225,layout=nchw,order=rgb,scale=1");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->resize_shorter, 256);
  EXPECT_EQ(s->crop_w, 224);
  EXPECT_EQ(s->crop_h, 224);
  auto again = PreprocessSpec::Parse(s->ToString());
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->ToString(), s->ToString());
  EXPECT_EQ(s->ToString(),
            "resize=256,crop=224x224,mean=0.485/0.456/0.406,std=0.229/0.224/0.225,layout=nchw,"
            "order=rgb,scale=1");
  auto wh = PreprocessSpec::Parse("resize=320x240,crop=300x200");
  ASSERT_TRUE(wh.ok());
  EXPECT_EQ(wh->resize_w, 320);
  EXPECT_EQ(wh->resize_h, 240);
  EXPECT_EQ(wh->FixedWidth(), 300);
  EXPECT_EQ(wh->FixedHeight(), 200);
  EXPECT_EQ(PreprocessSpec::Parse("").value().ToString(),
            "resize=none,crop=none,mean=0,std=1,layout=nchw,order=rgb,scale=1");
}

// ------------------------------------------------------------------------------------------------
// Fingerprints, spec parsing, multi-input

TEST(DataSourceTest, FingerprintFollowsBytesNamesSpecAndLimit) {
  TempDir tmp;
  std::string dir = tmp.Sub("img");
  WritePng(dir + "/a.png", 2, 2, k2x2);
  WritePng(dir + "/b.png", 2, 2, std::vector<uint8_t>(12, 9));
  auto f = [](const std::string& spec, int64_t max = 0) {
    OpenOptions o;
    o.max_samples = max;
    auto s = OpenDataSource(spec, o);
    EXPECT_TRUE(s.ok()) << s.status().message();
    auto fp = (*s)->Fingerprint();
    EXPECT_TRUE(fp.ok()) << fp.status().message();
    return fp.ok() ? fp.value() : std::string();
  };
  std::string base = f("images:" + dir);
  EXPECT_EQ(base.size(), 16u);
  EXPECT_EQ(f("images:" + dir), base);                 // stable
  EXPECT_NE(f("images:" + dir + "@scale=255"), base);  // spec
  EXPECT_NE(f("images:" + dir, 1), base);              // fewer samples read
  EXPECT_EQ(f("images:" + dir, 2), base);              // a limit >= N reads the same
  // Same bytes in another directory: same fingerprint (location is not hashed).
  std::string copy = tmp.Sub("copy");
  fs::copy(dir + "/a.png", copy + "/a.png");
  fs::copy(dir + "/b.png", copy + "/b.png");
  EXPECT_EQ(f("images:" + copy), base);
  // One byte changed in b.png (inside a chunk's CRC, so the image may not even decode).
  std::string bytes = ReadBytes(copy + "/b.png");
  bytes[bytes.size() - 5] ^= 1;
  WriteBytes(copy + "/b.png", bytes);
  EXPECT_NE(f("images:" + copy), base);
  EXPECT_EQ(f("images:" + copy, 1), f("images:" + dir, 1));  // b.png is not read with limit 1
  // A renamed file (same bytes) changes it.
  std::string renamed = tmp.Sub("renamed");
  fs::copy(dir + "/a.png", renamed + "/a.png");
  fs::copy(dir + "/b.png", renamed + "/b2.png");
  EXPECT_NE(f("images:" + renamed), base);

  // npy: one byte of the last sample.
  ASSERT_TRUE(SaveNpy(Iota({4, 3}), tmp / "x.npy").ok());
  std::string x = f(tmp / "x.npy");
  std::string x3 = f(tmp / "x.npy", 3);
  EXPECT_EQ(f(tmp / "x.npy"), x);
  std::string nb = ReadBytes(tmp / "x.npy");
  nb[nb.size() - 1] ^= 0x40;
  WriteBytes(tmp / "x.npy", nb);
  EXPECT_NE(f(tmp / "x.npy"), x);
  EXPECT_EQ(f(tmp / "x.npy", 3), x3);  // the changed sample is not read with 3 samples

  // IDX: a pixel byte and the mean.
  std::string idx = IdxBytes({2, 2, 2}, "abcdefgh");
  WriteGz(tmp / "i.gz", idx);
  std::string fi = f("idx:" + tmp / "i.gz");
  EXPECT_EQ(f("idx:" + tmp / "i.gz"), fi);
  EXPECT_NE(f("idx:" + tmp / "i.gz@mean=0.5"), fi);
  idx.back() = 'H';
  WriteGz(tmp / "i.gz", idx);
  EXPECT_NE(f("idx:" + tmp / "i.gz"), fi);
}

TEST(DataSourceTest, NamedSpecsAndMultiInput) {
  std::string name, spec;
  SplitNamedSpec("input.1=images:d@resize=256", &name, &spec);
  EXPECT_EQ(name, "input.1");
  EXPECT_EQ(spec, "images:d@resize=256");
  SplitNamedSpec("images:d@resize=256", &name, &spec);
  EXPECT_EQ(name, "");
  SplitNamedSpec("data/x=1.npy", &name, &spec);
  EXPECT_EQ(name, "");
  SplitNamedSpec("ids=x.npy", &name, &spec);
  EXPECT_EQ(name, "ids");
  EXPECT_EQ(spec, "x.npy");

  TempDir tmp;
  ASSERT_TRUE(SaveNpy(Iota({4, 3}), tmp / "a.npy").ok());
  ASSERT_TRUE(
      SaveNpy(Tensor::FromVector<int64_t>({4, 2}, {1, 2, 3, 4, 5, 6, 7, 8}), tmp / "b.npy").ok());
  ASSERT_TRUE(SaveNpy(Iota({3, 3}), tmp / "c.npy").ok());
  auto m = MultiInputData::Open({"x=" + tmp / "a.npy", "ids=" + tmp / "b.npy"});
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->size(), 2u);
  EXPECT_EQ(m->name(1), "ids");
  EXPECT_EQ(m->NumSamples(), 4);
  auto r = m->Read(2, 2);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].shape(), (Shape{2, 3}));
  EXPECT_EQ((*r)[1].data<int64_t>()[0], 5);
  EXPECT_EQ(m->Describe()["inputs"][1]["name"], "ids");
  auto fp = m->Fingerprint();
  ASSERT_TRUE(fp.ok());
  EXPECT_EQ(fp->size(), 16u);

  auto bad = MultiInputData::Open({"x=" + tmp / "a.npy", "y=" + tmp / "c.npy"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("input 'y' has 3 samples but input 'x' has 4"),
            std::string::npos)
      << bad.status().message();
  OpenOptions o;
  o.max_samples = 3;
  EXPECT_TRUE(MultiInputData::Open({"x=" + tmp / "a.npy", "y=" + tmp / "c.npy"}, o).ok());
  auto unnamed = MultiInputData::Open({tmp / "a.npy", "y=" + tmp / "c.npy"});
  ASSERT_FALSE(unnamed.ok());
  EXPECT_NE(unnamed.status().message().find("NAME=SPEC"), std::string::npos);
  auto missing = MultiInputData::Open({"x=" + tmp / "nope.npy"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("input 'x'"), std::string::npos);
  auto single = MultiInputData::Open({tmp / "a.npy"});
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(single->name(0), "");
}

}  // namespace
}  // namespace calib8::data
