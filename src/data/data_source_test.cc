// data/data_source_test.cc — every data source kind but images on small files written here (npy,
// npy/pb directories, hand-made IDX plain and gzipped), plus Debian's Fashion-MNIST test set;
// batching equivalence; fingerprints; and the message of each bad input. Images:
// data/image_source_test.cc; shared helpers: data/data_test_util.h.
#include "data/data_source.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "data/data_test_util.h"
#include "data/npy.h"
#include "onnx/onnx_import.h"

namespace calib8::data {
namespace {

using test_util::ExpectBatchingEquivalent;
using test_util::IdxBytes;
using test_util::Iota;
using test_util::k2x2;
using test_util::MustOpen;
using test_util::OpenError;
using test_util::ReadBytes;
using test_util::ReadError;
using test_util::TempDir;
using test_util::Values;
using test_util::WriteBytes;
using test_util::WriteGz;
using test_util::WritePng;
namespace fs = std::filesystem;

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
  auto with_progress =
      limited->Fingerprint([&updates](const core::ProgressUpdate& u) { updates.push_back(u); });
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
  EXPECT_NE(bad.status().message().find("f-idx3-ubyte.gz"), std::string::npos)
      << bad.status().message();
  EXPECT_FALSE(all->Fingerprint().ok());
  auto good = MustOpen("idx:" + whole);
  ASSERT_TRUE(good);
  EXPECT_TRUE(good->Read(n - 1, 1).ok());
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
