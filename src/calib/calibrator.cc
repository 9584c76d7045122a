// calib/calibrator.cc — the calibrator registration list, option validation, the all-zero guard and
// the sidecar record. The numerical searches live in entropy_search.cc (entropy2, entropy) and
// simple_search.cc (percentile, mse); reference.cc holds their plain twins for the tests.
// Callers: the `calibrate` command (one Calibrate call per tensor, after pass 2).
#include "calib/calibrator.h"

#include <charconv>
#include <cmath>
#include <string>

namespace calib8::calib {
namespace {

// The one registration list (STYLE R5): persisted names, never indices.
const CalibratorInfo kCalibrators[] = {
    {Entropy2Options::kMethod,
     "KL search as NVIDIA pytorch-quantization / Model Optimizer (TensorRT EntropyCalibration2)",
     Entropy2Options{}},
    {EntropyOptions::kMethod, "KL search as GTC 2017 / ncnn ncnn2table (smoothed, bin centre)",
     EntropyOptions{}},
    {MinMaxOptions::kMethod, "absmax of the data (TensorRT MinMaxCalibration)", MinMaxOptions{}},
    {PercentileOptions::kMethod, "percentile of |x| as pytorch-quantization (left bin edge)",
     PercentileOptions{}},
    {MseOptions::kMethod, "fake-quant MSE over bin centres as pytorch-quantization", MseOptions{}},
    {FlooredEntropy2Options::kMethod,
     "entropy2 with amax never below the 99.9th percentile of |x| (default: entropy2 alone can "
     "clip a sparse tail away)",
     FlooredEntropy2Options{}},
};

// Shortest text that reads back to the same double ("99.99", not "99.989999999999995").
std::string Num(double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}
std::string Num(int v) { return std::to_string(v); }

template <typename... Kv>
std::vector<std::pair<std::string, std::string>> Params(Kv&&... kv) {
  return {std::forward<Kv>(kv)...};
}

MethodRecord RecordFor(const Entropy2Options& o, int num_bins) {
  std::string variant = "pytorch-quantization";
  if (o.threshold_at == ThresholdAt::kBinCentre) variant += "+gtc2017-centre";
  if (!o.replace_zero_bin) variant += "+keep-zero-bin";
  return {std::string(o.kMethod), variant,
          Params(std::pair{"num_bins", Num(num_bins)}, std::pair{"start_bin", Num(o.start_bin)},
                 std::pair{"stride", Num(o.stride)}, std::pair{"num_levels", Num(o.num_levels)},
                 std::pair{"threshold_at",
                           o.threshold_at == ThresholdAt::kRightEdge ? "right_edge" : "bin_centre"},
                 std::pair{"zero_bin", o.replace_zero_bin ? "replace_by_neighbour" : "keep"},
                 std::pair{"smoothing", "none"}, std::pair{"ties", "last_minimum"})};
}
// The floor is recorded only when on, so records (and sidecars) without it stay as they were.
MethodRecord WithFloor(MethodRecord r, double floor_percentile) {
  if (floor_percentile > 0) {
    r.variant += "+floor-p" + Num(floor_percentile);
    r.params.emplace_back("floor_percentile", Num(floor_percentile));
  }
  return r;
}
MethodRecord RecordFor(const FlooredEntropy2Options& o, int num_bins) {
  MethodRecord r = RecordFor(static_cast<const Entropy2Options&>(o), num_bins);
  r.method = std::string(o.kMethod);
  return r;  // the floor is added by WithFloor like for the other methods
}
MethodRecord RecordFor(const EntropyOptions& o, int num_bins) {
  return {std::string(o.kMethod), "gtc2017-ncnn",
          Params(std::pair{"num_bins", Num(num_bins)}, std::pair{"start_bin", Num(o.start_bin)},
                 std::pair{"num_levels", Num(o.num_levels)},
                 std::pair{"smoothing_eps", Num(o.smoothing_eps)},
                 std::pair{"threshold_at", "bin_centre"}, std::pair{"ties", "first_minimum"})};
}
MethodRecord RecordFor(const MinMaxOptions& o, int) {
  return {std::string(o.kMethod), "absmax", {}};
}
MethodRecord RecordFor(const PercentileOptions& o, int num_bins) {
  return {std::string(o.kMethod), "pytorch-quantization",
          Params(std::pair{"num_bins", Num(num_bins)}, std::pair{"percentile", Num(o.percentile)},
                 std::pair{"threshold_at", "left_edge"})};
}
MethodRecord RecordFor(const MseOptions& o, int num_bins) {
  return {std::string(o.kMethod), "pytorch-quantization",
          Params(std::pair{"num_bins", Num(num_bins)}, std::pair{"start_bin", Num(o.start_bin)},
                 std::pair{"num_bits", Num(o.num_bits)},
                 std::pair{"unsigned", o.is_unsigned ? "true" : "false"},
                 std::pair{"threshold_at", "bin_centre"}, std::pair{"ties", "first_minimum"})};
}

// The searches, one overload per options type (std::visit makes a missing one a compile error).
double Search(const Entropy2Options& o, std::span<const double> h, double w,
              std::vector<CurvePoint>* c) {
  return Entropy2Search(o, h, w, c);
}
double Search(const EntropyOptions& o, std::span<const double> h, double w,
              std::vector<CurvePoint>* c) {
  return EntropySearch(o, h, w, c);
}
double Search(const PercentileOptions& o, std::span<const double> h, double w,
              std::vector<CurvePoint>*) {
  return PercentileSearch(o, h, w);
}
double Search(const MseOptions& o, std::span<const double> h, double w,
              std::vector<CurvePoint>* c) {
  return MseSearch(o, h, w, c);
}

const char* CurveMetric(const CalibratorOptions& o) {
  if (std::holds_alternative<Entropy2Options>(o) || std::holds_alternative<EntropyOptions>(o) ||
      std::holds_alternative<FlooredEntropy2Options>(o))
    return "kl";
  if (std::holds_alternative<MseOptions>(o)) return "mse";
  return "";
}

Status ValidateFloor(std::string_view method, double p) {
  if (!(p >= 0 && p <= 100))
    return InvalidArgument(method, ": floor_percentile must be in [0, 100] (0: off), got ", p);
  return Status::Ok();
}

}  // namespace

Status Entropy2Options::Validate() const {
  CALIB8_RETURN_IF_ERROR(ValidateFloor(kMethod, floor_percentile));
  if (start_bin < 1) return InvalidArgument("entropy2: start_bin must be >= 1, got ", start_bin);
  if (stride < 1) return InvalidArgument("entropy2: stride must be >= 1, got ", stride);
  if (num_levels < 1) return InvalidArgument("entropy2: num_levels must be >= 1, got ", num_levels);
  return Status::Ok();
}

Status EntropyOptions::Validate() const {
  CALIB8_RETURN_IF_ERROR(ValidateFloor(kMethod, floor_percentile));
  if (start_bin < 1) return InvalidArgument("entropy: start_bin must be >= 1, got ", start_bin);
  if (num_levels < 1) return InvalidArgument("entropy: num_levels must be >= 1, got ", num_levels);
  if (!(smoothing_eps > 0) || !std::isfinite(smoothing_eps))  // 0 would give 0 * log(0)
    return InvalidArgument("entropy: smoothing_eps must be finite and > 0, got ", smoothing_eps);
  return Status::Ok();
}

Status PercentileOptions::Validate() const {
  if (!(percentile > 0 && percentile <= 100))
    return InvalidArgument("percentile: percentile must be in (0, 100], got ", percentile);
  return Status::Ok();
}

Status MseOptions::Validate() const {
  CALIB8_RETURN_IF_ERROR(ValidateFloor(kMethod, floor_percentile));
  if (start_bin < 0) return InvalidArgument("mse: start_bin must be >= 0, got ", start_bin);
  if (num_bits < 2 || num_bits > 16)
    return InvalidArgument("mse: num_bits must be in [2, 16], got ", num_bits);
  return Status::Ok();
}

std::span<const CalibratorInfo> Calibrators() { return kCalibrators; }

Result<CalibratorOptions> DefaultOptions(std::string_view name) {
  std::string known;
  for (const CalibratorInfo& c : kCalibrators) {
    if (c.name == name) return c.defaults;
    known += known.empty() ? "" : ", ";
    known += c.name;
  }
  return NotFound("calibration method '", name, "' is not known: expected one of ", known);
}

std::string_view MethodName(const CalibratorOptions& options) {
  return std::visit([](const auto& o) { return o.kMethod; }, options);
}

Result<Calibration> Calibrate(const CalibratorOptions& options, const stats::RunningStats& running,
                              const stats::AbsHistogram& histogram,
                              const CalibrateRequest& request) {
  CALIB8_RETURN_IF_ERROR(std::visit([](const auto& o) { return o.Validate(); }, options));
  Calibration out;
  out.record = std::visit(
      [&](const auto& o) {
        MethodRecord r = RecordFor(o, histogram.num_bins());
        if constexpr (requires { o.floor_percentile; })
          r = WithFloor(std::move(r), o.floor_percentile);
        return r;
      },
      options);
  out.curve_metric = CurveMetric(options);

  if (std::holds_alternative<MinMaxOptions>(options)) {
    if (running.count > 0 && !std::isfinite(running.absmax))
      return InvalidArgument("minmax: absmax is not finite (", running.absmax, ")");
    out.amax = running.count > 0 ? running.absmax : 0.0;
    out.all_zero = out.amax == 0.0;
    return out;
  }

  // All-zero tensor: no histogram (pass 2 is skipped when absmax is 0) or no counts in it.
  // amax is 0 by definition; nothing below may divide by the range or the total.
  const bool no_counts = histogram.empty() || !(histogram.total() > 0);
  if (running.absmax == 0.0 || (no_counts && running.count == 0)) {
    out.all_zero = true;
    return out;
  }
  if (no_counts)
    return InvalidArgument(MethodName(options), ": absmax is ", running.absmax,
                           " but the histogram is ", histogram.empty() ? "missing" : "empty",
                           ": pass 2 did not run for this tensor");
  if (!(histogram.range() > 0) || !std::isfinite(histogram.range()))
    return InvalidArgument(MethodName(options), ": histogram range must be finite and > 0, got ",
                           histogram.range());

  std::vector<CurvePoint>* curve = request.want_curve ? &out.curve : nullptr;
  out.amax = std::visit(
      [&](const auto& o) -> double {
        if constexpr (std::is_same_v<std::decay_t<decltype(o)>, MinMaxOptions>) {
          return running.absmax;  // handled above; keeps the visitor total
        } else {
          double amax = Search(o, histogram.counts(), histogram.bin_width(), curve);
          if constexpr (requires { o.floor_percentile; })
            if (o.floor_percentile > 0)
              amax = std::max(amax, PercentileSearch(PercentileOptions{o.floor_percentile},
                                                     histogram.counts(), histogram.bin_width()));
          return amax;
        }
      },
      options);
  out.zero_amax = out.amax == 0.0;
  return out;
}

Status AsymmetricRangeOptions::Validate() const {
  if (!(percentile > 0 && percentile <= 100))
    return InvalidArgument("asymmetric range: percentile must be in (0, 100], got ", percentile);
  return Status::Ok();
}

namespace {
// Walks one side's bins from the top down, clipping whole bins while their total stays within
// `allowed`; returns the right edge of the highest kept bin (0 if every bin could be clipped)
// and the clipped count.
std::pair<double, double> TailEdge(std::span<const double> side, double w, double allowed) {
  double tail = 0;
  int k = static_cast<int>(side.size()) - 1;
  while (k >= 0 && tail + side[static_cast<size_t>(k)] <= allowed)
    tail += side[static_cast<size_t>(k--)];
  return {(k + 1) * w, tail};
}
}  // namespace

Result<AsymmetricRange> ChooseAsymmetricRange(const AsymmetricRangeOptions& o,
                                              const stats::RunningStats& running,
                                              const stats::AbsHistogram& h) {
  CALIB8_RETURN_IF_ERROR(o.Validate());
  AsymmetricRange r;
  const bool no_counts = h.empty() || !(h.total() > 0);
  if (running.count == 0 || running.absmax == 0.0) return r;  // all zero: [0, 0]
  if (no_counts)
    return InvalidArgument("asymmetric range: absmax is ", running.absmax,
                           " but the histogram is missing: pass 2 did not run for this tensor");
  if (!h.has_sign())
    return InvalidArgument(
        "asymmetric range: the histogram has no sign split (statistics "
        "written by an older calib8 keep only |x|): re-collect the "
        "statistics (calibrate --data ... --save-stats)");
  const double w = h.bin_width();
  // floor(T (100 - p) / 100) values per tail, with a 1e-9 relative allowance so that a decimal
  // p (100 - 99.9 = 0.09999999999999432 in double) does not turn 20 of 20000 into 19.
  const double allowed = std::floor(h.total() * (100.0 - o.percentile) / 100.0 * (1 + 1e-9));
  if (running.max > 0) {
    const std::vector<double> pos = h.pos_counts();
    auto [edge, clipped] = TailEdge(pos, w, allowed);
    r.hi = std::min(edge, running.max);
    r.clipped_high = clipped;
  }
  if (running.min < 0) {
    auto [edge, clipped] = TailEdge(h.neg_counts(), w, allowed);
    r.lo = -std::min(edge, -running.min);
    r.clipped_low = clipped;
  }
  return r;
}

double AbsPercentile(const stats::AbsHistogram& h, double percentile) {
  if (h.empty() || !(h.total() > 0)) return 0;
  return PercentileSearch(PercentileOptions{percentile}, h.counts(), h.bin_width());
}

}  // namespace calib8::calib
