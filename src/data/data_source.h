// data/data_source.h — calibration data: where the samples come from and how they are prepared.
//
// A DataSource is a numbered list of samples of one shape. Read(first, count) returns them as one
// tensor [count, ...SampleShape()]. Sources read on demand (the .npy source reads byte ranges,
// directories read one file per sample, images are decoded per Read), so memory follows the batch,
// not the data set. Read is const and may be called from several threads at once.
//
// Spec strings (OpenDataSource; docs/data-sources.md has the full syntax and examples):
//   x.npy                  one .npy file; its first axis is the sample axis
//   x.pb                   one serialized ONNX TensorProto; first axis = samples (loaded whole)
//   DIR                    a directory of .npy or .pb files, one sample each, in name order
//   idx:PATH[@OPTS]        an IDX file (MNIST, Fashion-MNIST), optionally .gz; OPTS: scale, mean,
//   std images:DIR[@OPTS]      PNG/JPEG files in name order, preprocessed by a PreprocessSpec
//   NAME=SPEC              (MultiInputData) SPEC feeds the model input NAME
// OPTS for images is a PreprocessSpec: comma-separated key=value, e.g.
//   resize=256,crop=224,mean=0.485/0.456/0.406,std=0.229/0.224/0.225,layout=nchw,order=rgb,scale=1
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "calib8/status.h"
#include "calib8/tensor.h"
#include "core/progress.h"

namespace calib8::data {

// Streaming XXH3-64 over the fields and bytes a source read; Field() length-prefixes its input so
// that ("ab","c") and ("a","bc") differ.
class ContentHasher {
 public:
  ContentHasher();
  ~ContentHasher();
  ContentHasher(const ContentHasher&) = delete;
  ContentHasher& operator=(const ContentHasher&) = delete;

  void Field(std::string_view bytes);
  void Bytes(const void* data, size_t size);
  // Called with the bytes hashed so far, about every 16 MiB (progress of long fingerprints).
  void SetProgress(std::function<void(uint64_t bytes)> progress) {
    progress_ = std::move(progress);
  }
  // 16 lowercase hex digits.
  std::string HexDigest() const;

 private:
  void* state_;  // XXH3_state_t
  uint64_t bytes_ = 0, reported_ = 0;
  std::function<void(uint64_t)> progress_;
};

// How images become tensors. Text form: comma-separated key=value pairs, any order:
//   resize=S | resize=WxH    shorter side to S keeping the aspect ratio (torchvision Resize(S)),
//                            or exactly W by H; triangle (bilinear, antialiased) filter
//   crop=S | crop=WxH        centre crop (torchvision CenterCrop rounding)
//   mean=M[/M/M]             per channel, in the units given by scale; one value = all channels
//   std=S[/S/S]              per channel; must be non-zero
//   layout=nchw | nhwc       sample shape [C,H,W] or [H,W,C]                    (default nchw)
//   order=rgb | bgr | gray   channel order; gray gives one channel (luma)        (default rgb)
//   scale=1 | 255            pixel values in [0,1] or in [0,255] before mean/std  (default 1)
// Order of operations: decode -> resize -> crop -> scale -> (x - mean) / std -> layout.
struct PreprocessSpec {
  enum class Layout { kNCHW, kNHWC };
  enum class Order { kRGB, kBGR, kGray };

  int resize_shorter = 0;          // resize=S (0: none)
  int resize_w = 0, resize_h = 0;  // resize=WxH (0: none)
  int crop_w = 0, crop_h = 0;      // crop (0: none)
  std::vector<float> mean;         // empty: 0
  std::vector<float> std;          // empty: 1
  Layout layout = Layout::kNCHW;
  Order order = Order::kRGB;
  float scale = 1.0f;  // 1 or 255

  int Channels() const { return order == Order::kGray ? 1 : 3; }
  // Output height and width when they do not depend on the image (crop or resize=WxH), else 0.
  int FixedHeight() const;
  int FixedWidth() const;
  // Sample shape for an output of h x w pixels.
  Shape SampleShape(int h, int w) const;

  // Parses the text form; errors name the key and the accepted values. "" gives the defaults.
  static Result<PreprocessSpec> Parse(std::string_view text);
  // Canonical text: every key, fixed order (what Describe() and the fingerprint record).
  std::string ToString() const;
  nlohmann::json ToJson() const;
};

// Runs the spec on one decoded image (interleaved 8-bit pixels, h x w x c, c == spec.Channels()).
// Writes the sample in spec.layout and its height/width to *out_h/*out_w. `what` names the image.
Result<std::vector<float>> PreprocessImage(const uint8_t* pixels, int h, int w, int c,
                                           const PreprocessSpec& spec, const std::string& what,
                                           int* out_h, int* out_w);

class DataSource {
 public:
  virtual ~DataSource() = default;

  virtual int64_t NumSamples() const = 0;
  virtual const Shape& SampleShape() const = 0;
  // Element type of Read()'s tensor: float32 for images and IDX; .npy/.pb keep their integer types,
  // float64 and float16 become float32.
  virtual DataType SampleType() const = 0;

  // Samples [first, first + count) as one tensor [count, ...SampleShape()].
  virtual Result<Tensor> Read(int64_t first, int64_t count) const = 0;

  // JSON for the calibration sidecar: kind, path, files, samples, sample_shape, dtype, and for
  // images/IDX the preprocessing.
  virtual nlohmann::json Describe() const = 0;

  // Feeds the hasher what samples [0, count) are made of: file names and their bytes (the part
  // read), in sample order. Used by Fingerprint() and by wrappers.
  virtual Status HashContent(int64_t count, ContentHasher& hasher) const = 0;
  // Text that changes the meaning of the bytes (preprocessing spec, dtype conversion).
  virtual std::string FingerprintSpec() const = 0;

  // XXH3-64 (hex) over kind/spec, the sample count and HashContent(NumSamples()). Reads every byte
  // the samples come from once (in bounded chunks). Independent of the directory's location.
  // `progress` (optional): stage "hashing the data", unit "MiB", total unknown (0).
  Result<std::string> Fingerprint(const core::ProgressCallback& progress = {}) const;
};

struct OpenOptions {
  // Preprocessing for images:DIR when the spec has no @OPTS (PreprocessSpec text).
  std::string preprocess;
  // 0: all samples; otherwise at most this many (the first ones, in order).
  int64_t max_samples = 0;
  // Rank of one sample as the model expects it (the input rank minus the batch axis), or -1 if
  // unknown. Directory files of rank sample_rank + 1 with a leading 1 lose that axis; with -1, a
  // leading axis of 1 is dropped from files of rank >= 2.
  int sample_rank = -1;
  // The model's input names: "NAME=SPEC" whose NAME is one of these is split there even when the
  // name holds '/', ':' or '@' (exporters' tensor names; calibrate --from T=SPEC).
  std::vector<std::string> input_names;
};

// Opens one source from a spec string (see the top of this file).
Result<std::unique_ptr<DataSource>> OpenDataSource(const std::string& spec,
                                                   const OpenOptions& options = {});

// At most `max_samples` samples (the first ones) of `inner`; Describe() records the limit.
std::unique_ptr<DataSource> LimitSamples(std::unique_ptr<DataSource> inner, int64_t max_samples);

// Several sources feeding named model inputs, sample i of each together.
class MultiInputData {
 public:
  // Each spec is NAME=SPEC; a single spec may omit NAME= (name ""). All sources must have the same
  // number of samples (after max_samples).
  static Result<MultiInputData> Open(const std::vector<std::string>& specs,
                                     const OpenOptions& options = {});

  size_t size() const { return sources_.size(); }
  const std::string& name(size_t i) const { return names_[i]; }
  const DataSource& source(size_t i) const { return *sources_[i]; }
  int64_t NumSamples() const;

  // One tensor per input, in the order of the specs.
  Result<std::vector<Tensor>> Read(int64_t first, int64_t count) const;
  // {"inputs": [{"name": ..., "source": {...}}, ...], "samples": N}
  nlohmann::json Describe() const;
  Result<std::string> Fingerprint(const core::ProgressCallback& progress = {}) const;

 private:
  std::vector<std::string> names_;
  std::vector<std::unique_ptr<DataSource>> sources_;
};

// One line for people (reports, summaries) from a Describe() JSON of a source or of
// MultiInputData, e.g. "idx t10k-images-idx3-ubyte.gz (gzip): first 500 of 10000 samples,
// each [1,28,28] float32; preprocessing mean=0,std=1,scale=1". Unknown layouts fall back to the
// compact JSON text.
std::string DescriptionText(const nlohmann::json& describe);

// Splits "NAME=SPEC" into name and spec; name is "" when the text has no NAME= part (no '=' before
// the first ':', '/' or '@', or the whole text names an existing file or directory).
void SplitNamedSpec(const std::string& text, std::string* name, std::string* spec);

}  // namespace calib8::data
