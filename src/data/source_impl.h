// data/source_impl.h — internal to data/: the concrete sources' factories and the helpers they
// share (positioned file reads, element conversion, directory listing). Not a public API.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/data_source.h"

namespace calib8::data::internal {

// A file read by offset (pread), safe to share between threads.
class RandomAccessFile {
 public:
  static Result<std::unique_ptr<RandomAccessFile>> Open(const std::string& path,
                                                        const std::string& what);
  ~RandomAccessFile();
  uint64_t size() const { return size_; }
  // Reads exactly `n` bytes at `offset` or says which file, where and how much was missing.
  Status ReadAt(uint64_t offset, size_t n, void* dst) const;
  // Streams bytes [offset, offset + n) into the hasher in bounded chunks.
  Status HashRange(uint64_t offset, uint64_t n, ContentHasher& hasher) const;

 private:
  RandomAccessFile(int fd, uint64_t size, std::string label)
      : fd_(fd), size_(size), label_(std::move(label)) {}
  int fd_;
  uint64_t size_;
  std::string label_;  // "npy file 'x.npy'"
};

// Streams the whole file into the hasher (1 MiB at a time).
Status HashFile(const std::string& path, const std::string& what, ContentHasher& hasher);

// float64 and float16 become float32; every other type is kept.
DataType OutputType(DataType stored);
// Converts n elements from `src` (type `from`) into `dst` (type OutputType(from)).
void ConvertElements(const void* src, DataType from, size_t n, void* dst);

// Regular files in `dir` whose lowercase extension is in `exts` (with the dot), sorted by name.
Result<std::vector<std::string>> ListFiles(const std::string& dir,
                                           const std::vector<std::string>& exts);
std::string LowerExtension(const std::string& path);
std::string BaseName(const std::string& path);
// The first names (at most 1000) as a JSON array, for Describe().
nlohmann::json FileList(const std::vector<std::string>& paths, int64_t count);

// Checks 0 <= first, 0 <= count, first + count <= n.
Status CheckRange(int64_t first, int64_t count, int64_t n, const std::string& what);

Result<std::unique_ptr<DataSource>> OpenNpyFile(const std::string& path);
Result<std::unique_ptr<DataSource>> OpenPbFile(const std::string& path);
Result<std::unique_ptr<DataSource>> OpenTensorDir(const std::string& dir, int sample_rank);
Result<std::unique_ptr<DataSource>> OpenIdx(const std::string& path, const PreprocessSpec& spec);
Result<std::unique_ptr<DataSource>> OpenImageDir(const std::string& dir,
                                                 const PreprocessSpec& spec);

}  // namespace calib8::data::internal
