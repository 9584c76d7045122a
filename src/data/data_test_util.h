// data/data_test_util.h — helpers of the data module's tests: a temporary directory, file
// writers (bytes, gzip, PNG via stb_image_write), IDX bytes by hand, and checks on sources.
#pragma once

#include <gtest/gtest.h>
#include <stb/stb_image_write.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "data/data_source.h"

namespace calib8::data::test_util {

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("calib8_data_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string Sub(const std::string& name) const {
    std::filesystem::create_directories(path_ / name);
    return (path_ / name).string();
  }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}
inline std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline Tensor Iota(Shape shape, float start = 0) {
  Tensor t(DataType::kFloat32, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = start + static_cast<float>(i);
  return t;
}

inline std::vector<float> Values(const Tensor& t) {
  EXPECT_EQ(t.dtype(), DataType::kFloat32);
  return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
}

inline std::unique_ptr<DataSource> MustOpen(const std::string& spec, const OpenOptions& o = {}) {
  auto r = OpenDataSource(spec, o);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? std::move(r).value() : nullptr;
}

inline std::string OpenError(const std::string& spec, const OpenOptions& o = {}) {
  auto r = OpenDataSource(spec, o);
  return r.ok() ? "(opened)" : r.status().message();
}

inline std::string ReadError(const DataSource& s) {
  auto r = s.Read(0, s.NumSamples());
  return r.ok() ? "(read)" : r.status().message();
}

// Read(0, n) equals the concatenation of Read(0, k) and Read(k, n - k).
inline void ExpectBatchingEquivalent(const DataSource& s, int64_t n, int64_t k) {
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
inline std::string IdxBytes(const std::vector<uint32_t>& dims, const std::string& data) {
  std::string out("\0\0\x08", 3);
  out += static_cast<char>(dims.size());
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) out += static_cast<char>((d >> s) & 0xff);
  return out + data;
}

inline void WriteGz(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())),
            static_cast<int>(bytes.size()));
  gzclose(f);
}

// RGB image h x w with every pixel (r, g, b) given per pixel.
inline void WritePng(const std::string& path, int w, int h, const std::vector<uint8_t>& rgb,
                     int c = 3) {
  ASSERT_NE(stbi_write_png(path.c_str(), w, h, c, rgb.data(), w * c), 0);
}

// ------------------------------------------------------------------------------------------------

// 2x2 RGB image, pixels row-major: (0,0)=(255,0,0) (0,1)=(0,255,0) (1,0)=(0,0,255)
// (1,1)=(51,102,153)
inline const std::vector<uint8_t> k2x2 = {255, 0, 0, 0, 255, 0, 0, 0, 255, 51, 102, 153};

}  // namespace calib8::data::test_util
