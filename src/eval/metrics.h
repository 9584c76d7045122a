// eval/metrics.h — how far a test tensor (INT8 run) is from a reference tensor (FP32 run).
//
// Everything here is streaming and mergeable: a comparison keeps sums and maxima, never the
// tensors, so `calib8 compare` can feed it batch by batch (or shard by shard, then Merge) and read
// the metrics at the end. Definitions (sums over all elements seen, e = ref - test):
//   SQNR (dB)        10 log10(sum ref^2 / sum e^2); +inf when sum e^2 = 0 (identical, including
//                    both all zero); -inf when the reference is all zero and the test is not.
//   cosine           sum ref*test / sqrt(sum ref^2 * sum test^2); 1 when both are all zero, 0 when
//                    exactly one is.
//   max abs error    max |e|.
//   relative error   max |e| / max |ref|; 0 when both are 0, +inf when only max |ref| is 0.
//   saturation rate  fraction of elements with |ref| > 127 * scale (values the symmetric INT8
//                    range clips); NaN when no scale was given. Scale 0 (amax 0) clips every
//                    non-zero value.
// Pairs where either value is NaN or Inf are counted in `nonfinite` and left out of every sum.
//
// Classifier outputs [N, C]: top-1 agreement of test with reference (argmax, first maximum wins,
// NaN never wins) and, with labels, each run's top-1 accuracy.
#pragma once

#include <cstdint>
#include <span>

#include "calib8/status.h"

namespace calib8::eval {

struct TensorMetrics {
  int64_t count = 0;      // finite pairs compared
  int64_t nonfinite = 0;  // pairs with a NaN or Inf on either side (excluded from the sums)
  double sqnr_db = 0;
  double cosine = 0;
  double max_abs_error = 0;
  double relative_error = 0;
  double saturation_rate = 0;  // NaN when the comparison has no scale
  double ref_absmax = 0;
};

class TensorComparison {
 public:
  // No saturation rate (it reads NaN).
  TensorComparison() = default;
  // `scale` = amax / 127 of the tensor's INT8 quantisation; must be finite and >= 0.
  explicit TensorComparison(double scale);

  // Adds one batch; `ref` and `test` must have the same number of elements.
  Status Add(std::span<const float> ref, std::span<const float> test);
  // Adds another comparison's sums (another batch range or shard); both must use the same scale
  // (or both none).
  Status Merge(const TensorComparison& other);
  TensorMetrics Finish() const;

  bool has_scale() const { return has_scale_; }
  double scale() const { return scale_; }

 private:
  bool has_scale_ = false;
  double scale_ = 0;
  int64_t count_ = 0, nonfinite_ = 0, saturated_ = 0;
  double sum_ref2_ = 0, sum_test2_ = 0, sum_cross_ = 0, sum_err2_ = 0;
  double max_abs_err_ = 0, max_abs_ref_ = 0;
};

struct ClassifierMetrics {
  int64_t samples = 0;
  int64_t agree = 0;          // samples whose test argmax equals the reference argmax
  double top1_agreement = 0;  // agree / samples (1 for no samples)
  int64_t labelled = 0;       // samples that came with a label
  int64_t ref_correct = 0, test_correct = 0;
  double ref_accuracy = 0;  // ref_correct / labelled (NaN when nothing is labelled)
  double test_accuracy = 0;
};

// Index of the largest value, the first one on ties; NaN never wins (0 if all are NaN or empty).
int64_t ArgMax(std::span<const float> row);

class ClassifierComparison {
 public:
  // One batch of logits or probabilities, row-major [n, c] in both. `labels` is empty or holds n
  // class indices in [0, c). Every batch must have the same c.
  Status Add(std::span<const float> ref, std::span<const float> test, int64_t n, int64_t c,
             std::span<const int64_t> labels = {});
  Status Merge(const ClassifierComparison& other);
  ClassifierMetrics Finish() const;

 private:
  int64_t num_classes_ = 0;  // 0 until the first batch
  int64_t samples_ = 0, agree_ = 0, labelled_ = 0, ref_correct_ = 0, test_correct_ = 0;
};

}  // namespace calib8::eval
