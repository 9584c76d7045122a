// eval/metrics.cc — the sums behind calib8's FP32-vs-INT8 comparison (eval/metrics.h).
// Used by `calib8 compare` per tensor and per model output; depends on nothing but calib8/status.h,
// so any module (and any test) can compute the same numbers the report shows.
#include "eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace calib8::eval {
namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kQmax = 127.0;  // symmetric signed INT8: |q| <= 127 (DESIGN §4)
}  // namespace

TensorComparison::TensorComparison(double scale) : has_scale_(true), scale_(scale) {}

Status TensorComparison::Add(std::span<const float> ref, std::span<const float> test) {
  if (ref.size() != test.size())
    return InvalidArgument("compare: reference has ", ref.size(), " elements, test has ",
                           test.size(), ": expected the same shape");
  if (has_scale_ && !(std::isfinite(scale_) && scale_ >= 0))
    return InvalidArgument("compare: scale ", scale_, " is not a finite value >= 0");
  const double clip = kQmax * scale_;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double r = ref[i], t = test[i];
    if (!std::isfinite(r) || !std::isfinite(t)) {
      ++nonfinite_;
      continue;
    }
    const double e = r - t;
    sum_ref2_ += r * r;
    sum_test2_ += t * t;
    sum_cross_ += r * t;
    sum_err2_ += e * e;
    max_abs_err_ = std::max(max_abs_err_, std::fabs(e));
    max_abs_ref_ = std::max(max_abs_ref_, std::fabs(r));
    if (has_scale_ && std::fabs(r) > clip) ++saturated_;
    ++count_;
  }
  return Status::Ok();
}

Status TensorComparison::Merge(const TensorComparison& o) {
  if (o.has_scale_ != has_scale_ || (has_scale_ && o.scale_ != scale_))
    return InvalidArgument("compare: cannot merge comparisons made with different scales");
  count_ += o.count_;
  nonfinite_ += o.nonfinite_;
  saturated_ += o.saturated_;
  sum_ref2_ += o.sum_ref2_;
  sum_test2_ += o.sum_test2_;
  sum_cross_ += o.sum_cross_;
  sum_err2_ += o.sum_err2_;
  max_abs_err_ = std::max(max_abs_err_, o.max_abs_err_);
  max_abs_ref_ = std::max(max_abs_ref_, o.max_abs_ref_);
  return Status::Ok();
}

TensorMetrics TensorComparison::Finish() const {
  TensorMetrics m;
  m.count = count_;
  m.nonfinite = nonfinite_;
  m.max_abs_error = max_abs_err_;
  m.ref_absmax = max_abs_ref_;
  if (sum_err2_ == 0)
    m.sqnr_db = kInf;
  else if (sum_ref2_ == 0)
    m.sqnr_db = -kInf;
  else
    m.sqnr_db = 10.0 * std::log10(sum_ref2_ / sum_err2_);
  if (sum_ref2_ == 0 && sum_test2_ == 0)
    m.cosine = 1.0;
  else if (sum_ref2_ == 0 || sum_test2_ == 0)
    m.cosine = 0.0;
  else
    m.cosine = std::clamp(sum_cross_ / std::sqrt(sum_ref2_ * sum_test2_), -1.0, 1.0);
  if (max_abs_err_ == 0)
    m.relative_error = 0;
  else if (max_abs_ref_ == 0)
    m.relative_error = kInf;
  else
    m.relative_error = max_abs_err_ / max_abs_ref_;
  if (!has_scale_)
    m.saturation_rate = kNaN;
  else
    m.saturation_rate = count_ ? static_cast<double>(saturated_) / count_ : 0.0;
  return m;
}

int64_t ArgMax(std::span<const float> row) {
  int64_t best = 0;
  bool found = false;
  for (size_t i = 0; i < row.size(); ++i) {
    if (std::isnan(row[i])) continue;
    if (!found || row[i] > row[best]) {
      best = static_cast<int64_t>(i);
      found = true;
    }
  }
  return best;
}

Status ClassifierComparison::Add(std::span<const float> ref, std::span<const float> test, int64_t n,
                                 int64_t c, std::span<const int64_t> labels) {
  if (n < 0 || c <= 0)
    return InvalidArgument("compare: classifier output [", n, ", ", c,
                           "]: expected N >= 0 samples and C >= 1 classes");
  if (num_classes_ != 0 && c != num_classes_)
    return InvalidArgument("compare: classifier output has ", c, " classes, earlier batches had ",
                           num_classes_);
  const size_t want = static_cast<size_t>(n * c);
  if (ref.size() != want || test.size() != want)
    return InvalidArgument("compare: classifier output [", n, ", ", c, "] needs ", want,
                           " values, got ", ref.size(), " (reference) and ", test.size(),
                           " (test)");
  if (!labels.empty() && labels.size() != static_cast<size_t>(n))
    return InvalidArgument("compare: ", labels.size(), " labels for ", n, " samples");
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < 0 || labels[i] >= c)
      return InvalidArgument("compare: label ", labels[i], " of sample ", i, " is outside [0, ", c,
                             ")");
  num_classes_ = c;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t r = ArgMax(ref.subspan(i * c, c));
    const int64_t t = ArgMax(test.subspan(i * c, c));
    if (r == t) ++agree_;
    if (!labels.empty()) {
      ++labelled_;
      if (r == labels[i]) ++ref_correct_;
      if (t == labels[i]) ++test_correct_;
    }
  }
  samples_ += n;
  return Status::Ok();
}

Status ClassifierComparison::Merge(const ClassifierComparison& o) {
  if (num_classes_ != 0 && o.num_classes_ != 0 && num_classes_ != o.num_classes_)
    return InvalidArgument("compare: cannot merge classifier comparisons with ", num_classes_,
                           " and ", o.num_classes_, " classes");
  if (num_classes_ == 0) num_classes_ = o.num_classes_;
  samples_ += o.samples_;
  agree_ += o.agree_;
  labelled_ += o.labelled_;
  ref_correct_ += o.ref_correct_;
  test_correct_ += o.test_correct_;
  return Status::Ok();
}

ClassifierMetrics ClassifierComparison::Finish() const {
  ClassifierMetrics m;
  m.samples = samples_;
  m.agree = agree_;
  m.top1_agreement = samples_ ? static_cast<double>(agree_) / samples_ : 1.0;
  m.labelled = labelled_;
  m.ref_correct = ref_correct_;
  m.test_correct = test_correct_;
  m.ref_accuracy = labelled_ ? static_cast<double>(ref_correct_) / labelled_ : kNaN;
  m.test_accuracy = labelled_ ? static_cast<double>(test_correct_) / labelled_ : kNaN;
  return m;
}

}  // namespace calib8::eval
