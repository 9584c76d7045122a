// calib/calibrators_test.cc — calibrator tests: the registry, hand-checkable goldens for every
// method (STYLE R10), the all-zero and single-bin edge cases, fast searches vs their plain twins
// (reference.h, STYLE R3) on many synthetic histograms. The search time for 100 tensors is
// bench/threshold_search_bench.cc.
// The comparison with the independent numpy references is tests/calib/reference_calibrators.py.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>
#include <sstream>

#include "calib/calibrator.h"
#include "calib/reference.h"

namespace calib8::calib {
namespace {

// A histogram with hand-picked counts on [0, range].
stats::AbsHistogram Hist(double range, std::vector<double> counts) {
  stats::AbsHistogram h(range, static_cast<int>(counts.size()));
  h.mutable_counts() = std::move(counts);
  return h;
}
stats::RunningStats Running(double absmax, int64_t count = 1000) {
  stats::RunningStats r;
  r.min = -absmax;
  r.max = absmax;
  r.absmax = absmax;
  r.count = count;
  return r;
}
Calibration MustCalibrate(const CalibratorOptions& o, const stats::AbsHistogram& h,
                          bool curve = false) {
  auto r = Calibrate(o, Running(h.range(), static_cast<int64_t>(h.total())), h, {curve});
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : Calibration{};
}

// --------------------------------------------------------------------------------- registry

TEST(CalibRegistry, NamesAreUniqueAndMatchTheirOptions) {
  std::set<std::string_view> names;
  for (const CalibratorInfo& c : Calibrators()) {
    EXPECT_TRUE(names.insert(c.name).second) << "duplicate " << c.name;
    EXPECT_EQ(MethodName(c.defaults), c.name);
    auto d = DefaultOptions(c.name);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(MethodName(*d), c.name);
  }
  EXPECT_EQ(names, (std::set<std::string_view>{"entropy2", "entropy", "minmax", "percentile", "mse",
                                               "entropy2-floored"}));
  EXPECT_TRUE(DefaultOptions(kDefaultMethod).ok());
}

TEST(CalibRegistry, UnknownMethodListsTheKnownOnes) {
  auto r = DefaultOptions("kl");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("'kl'"), std::string::npos);
  EXPECT_NE(r.status().message().find("entropy2, entropy, minmax, percentile, mse"),
            std::string::npos)
      << r.status().message();
}

TEST(CalibRegistry, InvalidOptionsAreRefused) {
  auto h = Hist(1.0, {1, 1});
  EXPECT_FALSE(Calibrate(PercentileOptions{.percentile = 0}, Running(1), h).ok());
  EXPECT_FALSE(Calibrate(PercentileOptions{.percentile = 100.5}, Running(1), h).ok());
  EXPECT_FALSE(Calibrate(Entropy2Options{.stride = 0}, Running(1), h).ok());
  EXPECT_FALSE(Calibrate(EntropyOptions{.smoothing_eps = 0}, Running(1), h).ok());
  EXPECT_FALSE(Calibrate(MseOptions{.num_bits = 1}, Running(1), h).ok());
}

TEST(CalibRecord, SaysMethodVariantAndParameters) {
  auto h = Hist(4.0, {4, 3, 2, 1});
  Calibration c = MustCalibrate(Entropy2Options{}, h);
  EXPECT_EQ(c.record.method, "entropy2");
  EXPECT_EQ(c.record.variant, "pytorch-quantization");
  ASSERT_GE(c.record.params.size(), 6u);
  EXPECT_EQ(c.record.params[0], (std::pair<std::string, std::string>{"num_bins", "4"}));
  EXPECT_EQ(c.record.params[1], (std::pair<std::string, std::string>{"start_bin", "128"}));

  Calibration g = MustCalibrate(
      Entropy2Options{.threshold_at = ThresholdAt::kBinCentre, .replace_zero_bin = false}, h);
  EXPECT_EQ(g.record.variant, "pytorch-quantization+gtc2017-centre+keep-zero-bin");

  Calibration p = MustCalibrate(PercentileOptions{}, h);
  EXPECT_EQ(p.record.method, "percentile");
  EXPECT_EQ(p.record.params[1], (std::pair<std::string, std::string>{"percentile", "99.99"}));
  EXPECT_EQ(MustCalibrate(EntropyOptions{}, h).record.variant, "gtc2017-ncnn");
}

// --------------------------------------------------------------------------------- goldens

TEST(MinMaxCalibrator, ReturnsAbsmax) {
  auto r = Calibrate(MinMaxOptions{}, Running(3.5), stats::AbsHistogram());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->amax, 3.5);
  EXPECT_FALSE(r->all_zero);
  EXPECT_EQ(r->record.method, "minmax");
}

// 10 bins of width 1; counts are powers of two over a total of 64, so every cdf value is exact:
//   bin:   0     1     2      3       4        5        6..8     9
//   cdf: .5   .75   .875  .9375  .96875  .984375  .984375   1.0
TEST(PercentileCalibrator, LeftEdgeOfTheCrossingBin) {
  auto h = Hist(10.0, {32, 16, 8, 4, 2, 1, 0, 0, 0, 1});
  auto amax = [&](double p) { return MustCalibrate(PercentileOptions{.percentile = p}, h).amax; };
  EXPECT_EQ(amax(90), 3.0);    // .9375 at bin 3 is the first >= .9
  EXPECT_EQ(amax(87.5), 2.0);  // exactly .875 at bin 2: >= is met there
  EXPECT_EQ(amax(98.4375), 5.0);
  EXPECT_EQ(amax(99), 9.0);
  EXPECT_EQ(amax(99.99), 9.0);  // the default
  EXPECT_EQ(amax(100), 9.0);
  Calibration c = MustCalibrate(PercentileOptions{.percentile = 50}, h);
  EXPECT_EQ(c.amax, 0.0);  // half the mass in bin 0: the left edge is 0
  EXPECT_TRUE(c.zero_amax);
  EXPECT_FALSE(c.all_zero);
}

// entropy2 with L = 2 levels from bin 2 on, bins of width 0.5, h = [8, 8, 8, 8, 0, 1]
// (total 33; the lone count in bin 5 is an outlier). Candidates i = 2..6:
//   i=2: P = [8, 25]           Q = [8, 8]                    KL = 8/33 ln(16/33) + 25/33 ln(50/33)
//   i=3: P = [8, 8, 17]        Q = [8, 8, 8]                 KL = 16/33 ln(24/33) + 17/33 ln(51/33)
//   i=4: P = [8, 8, 8, 9]      Q = [8, 8, 8, 8]              KL = 24/33 ln(32/33) + 9/33 ln(36/33)
//   i=5: P = [8, 8, 8, 8, 1]   Q[4] = 0 (h[4] empty) < P[4]  KL = +inf
//   i=6: P = h                 Q = [8, 8, 8, 4.5, 0, 4.5]     KL = 8/33 ln(8/4.5) + 1/33 ln(1/4.5)
// The minimum is i = 4 (0.00135 nats): amax = 4 * 0.5 = 2.0 at the right edge, 2.25 at the centre.
TEST(Entropy2Calibrator, ClipsLoneOutlierAtKlMinimum) {
  const Entropy2Options o{.start_bin = 2, .num_levels = 2, .replace_zero_bin = false};
  auto h = Hist(3.0, {8, 8, 8, 8, 0, 1});
  Calibration c = MustCalibrate(o, h, /*curve=*/true);
  EXPECT_EQ(c.amax, 2.0);
  EXPECT_EQ(c.curve_metric, "kl");
  ASSERT_EQ(c.curve.size(), 5u);
  const double t = 33;
  const double want[] = {
      8 / t * std::log(16 / t) + 25 / t * std::log(50 / t),
      16 / t * std::log(24 / t) + 17 / t * std::log(51 / t),
      24 / t * std::log(32 / t) + 9 / t * std::log(36 / t),
      INFINITY,
      8 / t * std::log(8 / 4.5) + 1 / t * std::log(1 / 4.5),
  };
  for (int k = 0; k < 5; ++k) {
    SCOPED_TRACE("candidate i=" + std::to_string(k + 2));
    EXPECT_EQ(c.curve[k].threshold, (k + 2) * 0.5);
    if (std::isinf(want[k])) {
      EXPECT_TRUE(std::isinf(c.curve[k].value));
    } else {
      EXPECT_NEAR(c.curve[k].value, want[k], 1e-12);
    }
  }
  Entropy2Options centre = o;
  centre.threshold_at = ThresholdAt::kBinCentre;
  EXPECT_EQ(MustCalibrate(centre, h).amax, 2.25);
}

// h = [5, 5, 0, 0]: every candidate i = 2, 3, 4 has Q == P (KL 0); the last one wins.
TEST(Entropy2Calibrator, TiesPickTheLastMinimum) {
  const Entropy2Options o{.start_bin = 2, .num_levels = 2, .replace_zero_bin = false};
  EXPECT_EQ(MustCalibrate(o, Hist(4.0, {5, 5, 0, 0})).amax, 4.0);
}

// The zero bin is replaced by its neighbour: h = [1000, 1, 1, 1] with L = 1 level from bin 1.
//   replaced, h = [1, 1, 1, 1]: KL(i=1) = 0 (one bin) and KL(i=4) = 0 (flat): last zero -> i = 4.
//   kept: KL(i=1) = 0 (P = [1003], Q = [1000]), but i = 4 has a flat Q = 1003/4 under the spike,
//         KL > 0, as do i = 2, 3: the spike makes the search clip right after bin 0 -> i = 1.
TEST(Entropy2Calibrator, ZeroBinReplacementRemovesTheSpike) {
  auto h = Hist(4.0, {1000, 1, 1, 1});
  EXPECT_EQ(MustCalibrate(Entropy2Options{.start_bin = 1, .num_levels = 1}, h).amax, 4.0);
  EXPECT_EQ(
      MustCalibrate(Entropy2Options{.start_bin = 1, .num_levels = 1, .replace_zero_bin = false}, h)
          .amax,
      1.0);
}

// entropy (ncnn) with L = 2 from bin 2, same histogram as above (eps 1e-4 barely matters):
//   t=2: P ~ [8, 25]/33, Q ~ [8, 8]/33                      KL ~ 25/33 ln(25/8)          = 0.863
//   t=3: levels [0, 1.5), [1.5, 3): densities 8, 8 (/33)    KL ~ 17/33 ln(17/8)          = 0.388
//   t=4: levels [0, 2), [2, 4): densities 8, 8              KL ~ 9/33 ln(9/8)            = 0.0321
//   t=5: levels [0, 2.5), [2.5, 5): densities 8, 4.8; Q = [8, 8, 6.4, 4.8, 4.8]
//        KL ~ (8 ln(8/6.4) + 8 ln(8/4.8) + ln(1/4.8)) / 33                               = 0.130
// t = 6 (= N) is not a candidate. Minimum t = 4: amax = (4 + 0.5) * 0.5 = 2.25 (bin centre).
TEST(EntropyCalibrator, NcnnKlGoldenOnTinyHistogram) {
  const EntropyOptions o{.start_bin = 2, .num_levels = 2};
  Calibration c = MustCalibrate(o, Hist(3.0, {8, 8, 8, 8, 0, 1}), /*curve=*/true);
  EXPECT_EQ(c.amax, 2.25);
  ASSERT_EQ(c.curve.size(), 4u);
  const double t = 33;
  const double want[] = {25 / t * std::log(25 / 8.0), 17 / t * std::log(17 / 8.0),
                         9 / t * std::log(9 / 8.0),
                         (8 * std::log(8 / 6.4) + 8 * std::log(8 / 4.8) + std::log(1 / 4.8)) / t};
  for (int k = 0; k < 4; ++k) EXPECT_NEAR(c.curve[k].value, want[k], 2e-3) << "t=" << k + 2;
}

// mse with num_bits = 2 (B = 1: a value quantises to 0 or to amax), 4 bins of width 1 from bin 0,
// centres 0.5 1.5 2.5 3.5, h = [10, 4, 2, 1]. Squared errors per bin, weighted:
//   a=0.5: q = .5 .5 .5 .5      err 0 1 4 9    -> 0 + 4 + 8 + 9   = 21
//   a=1.5: q = 0 1.5 1.5 1.5    err .25 0 1 4  -> 2.5 + 0 + 2 + 4 = 8.5
//   a=2.5: q = 0 2.5 2.5 2.5    err .25 1 0 1  -> 2.5 + 4 + 0 + 1 = 7.5   (minimum)
//   a=3.5: q = 0 0 3.5 3.5      err .25 2.25 1 0 -> 2.5 + 9 + 2 + 0 = 13.5
// mse = sum / 4 bins; amax = 2.5.
TEST(MseCalibrator, TwoBitGoldenOnTinyHistogram) {
  Calibration c = MustCalibrate(MseOptions{.start_bin = 0, .num_bits = 2}, Hist(4.0, {10, 4, 2, 1}),
                                /*curve=*/true);
  EXPECT_EQ(c.amax, 2.5);
  EXPECT_EQ(c.curve_metric, "mse");
  ASSERT_EQ(c.curve.size(), 4u);
  const double want[] = {21 / 4.0, 8.5 / 4, 7.5 / 4, 13.5 / 4};
  for (int k = 0; k < 4; ++k) {
    EXPECT_EQ(c.curve[k].threshold, k + 0.5);
    EXPECT_NEAR(c.curve[k].value, want[k], 1e-12) << "a=" << k + 0.5;
  }
}

// --------------------------------------------------------------------------------- edge cases

std::vector<CalibratorOptions> AllDefaults() {
  std::vector<CalibratorOptions> v;
  for (const CalibratorInfo& c : Calibrators()) v.push_back(c.defaults);
  return v;
}

TEST(CalibEdgeCases, AllZeroTensorGivesZeroAndIsFlagged) {
  stats::RunningStats zero = Running(0.0, 4096);  // 4096 zeros seen in pass 1
  for (const CalibratorOptions& o : AllDefaults()) {
    SCOPED_TRACE(std::string(MethodName(o)));
    auto r = Calibrate(o, zero, stats::AbsHistogram(), {true});
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->amax, 0.0);
    EXPECT_TRUE(r->all_zero);
    EXPECT_TRUE(std::isfinite(r->amax));
  }
}

TEST(CalibEdgeCases, MissingHistogramForNonZeroTensorIsAnError) {
  for (const CalibratorOptions& o : AllDefaults()) {
    if (std::holds_alternative<MinMaxOptions>(o)) continue;
    auto r = Calibrate(o, Running(2.0), stats::AbsHistogram());
    ASSERT_FALSE(r.ok()) << MethodName(o);
    EXPECT_NE(r.status().message().find("pass 2"), std::string::npos) << r.status().message();
  }
}

// One bin on [0, 2] holding 17 values: the only KL candidate keeps everything (amax = range);
// MSE's only candidate is the bin centre; percentile's crossing bin is bin 0 (left edge 0).
TEST(CalibEdgeCases, SingleBinHistogram) {
  auto h = Hist(2.0, {17});
  EXPECT_EQ(MustCalibrate(Entropy2Options{}, h).amax, 2.0);
  EXPECT_EQ(MustCalibrate(Entropy2Options{.threshold_at = ThresholdAt::kBinCentre}, h).amax, 2.0);
  EXPECT_EQ(MustCalibrate(EntropyOptions{}, h).amax, 2.0);
  EXPECT_EQ(MustCalibrate(MseOptions{}, h).amax, 1.0);
  Calibration p = MustCalibrate(PercentileOptions{}, h);
  EXPECT_EQ(p.amax, 0.0);
  EXPECT_TRUE(p.zero_amax);
}

// --------------------------------------------------------------------------------- twins

struct TwinCase {
  std::string shape;
  int num_bins;
  uint32_t seed;
  std::string Describe() const {
    std::ostringstream s;
    s << "shape=" << shape << " num_bins=" << num_bins << " seed=" << seed;
    return s.str();
  }
};

// |x| histogram of synthetic activations with the given shape, binned as stats/histogram.h does.
std::vector<double> MakeCounts(const TwinCase& c, int samples = 20000) {
  std::mt19937 rng(c.seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::student_t_distribution<double> heavy(2.5);
  std::uniform_real_distribution<double> uni(0.0, 1.0);
  std::vector<double> x(samples);
  for (double& v : x) {
    if (c.shape == "relu") v = std::max(0.0, normal(rng) + 0.2);
    if (c.shape == "gauss") v = normal(rng);
    if (c.shape == "heavy") v = heavy(rng);
    if (c.shape == "outliers") v = uni(rng) < 0.0005 ? 30 + 20 * uni(rng) : normal(rng);
    if (c.shape == "spike") v = uni(rng) < 0.6 ? 0.0 : -std::log(1 - uni(rng));
  }
  double absmax = 0;
  for (double v : x) absmax = std::max(absmax, std::fabs(v));
  std::vector<double> h(c.num_bins, 0.0);
  for (double v : x)
    h[std::min(c.num_bins - 1, static_cast<int>(std::fabs(v) / (absmax / c.num_bins)))] += 1;
  return h;
}

std::vector<TwinCase> TwinCases() {
  std::vector<TwinCase> cases;
  uint32_t seed = 1;
  for (const char* shape : {"relu", "gauss", "heavy", "outliers", "spike"})
    for (int bins : {200, 512, 2048}) cases.push_back({shape, bins, seed++});
  return cases;
}

void ExpectSameCurve(const std::vector<CurvePoint>& fast, const std::vector<CurvePoint>& plain,
                     double rel_tol) {
  ASSERT_EQ(fast.size(), plain.size());
  for (size_t k = 0; k < fast.size(); ++k) {
    EXPECT_EQ(fast[k].threshold, plain[k].threshold);
    if (std::isinf(plain[k].value)) {
      EXPECT_TRUE(std::isinf(fast[k].value)) << "candidate " << k;
    } else {
      EXPECT_NEAR(fast[k].value, plain[k].value, rel_tol * std::max(1e-6, plain[k].value))
          << "candidate " << k;
    }
  }
}

TEST(Entropy2Calibrator, FastSearchMatchesPlainTwin) {
  for (const TwinCase& c : TwinCases()) {
    SCOPED_TRACE(c.Describe());
    const std::vector<double> h = MakeCounts(c);
    for (Entropy2Options o : {Entropy2Options{}, Entropy2Options{.replace_zero_bin = false},
                              Entropy2Options{.threshold_at = ThresholdAt::kBinCentre},
                              Entropy2Options{.start_bin = 100, .stride = 3, .num_levels = 77}}) {
      std::vector<CurvePoint> fast, plain;
      EXPECT_EQ(Entropy2Search(o, h, 0.01, &fast), reference::Entropy2(o, h, 0.01, &plain));
      ExpectSameCurve(fast, plain, 1e-7);
    }
  }
}

TEST(EntropyCalibrator, FastSearchMatchesPlainTwin) {
  for (const TwinCase& c : TwinCases()) {
    SCOPED_TRACE(c.Describe());
    const std::vector<double> h = MakeCounts(c);
    for (EntropyOptions o :
         {EntropyOptions{}, EntropyOptions{.start_bin = 100, .num_levels = 77}}) {
      std::vector<CurvePoint> fast, plain;
      EXPECT_EQ(EntropySearch(o, h, 0.01, &fast), reference::Entropy(o, h, 0.01, &plain));
      ExpectSameCurve(fast, plain, 1e-7);
    }
  }
}

TEST(MseCalibrator, FastSearchMatchesPlainTwin) {
  for (const TwinCase& c : TwinCases()) {
    SCOPED_TRACE(c.Describe());
    const std::vector<double> h = MakeCounts(c);
    for (MseOptions o : {MseOptions{}, MseOptions{.is_unsigned = true},
                         MseOptions{.start_bin = 3, .num_bits = 4}}) {
      std::vector<CurvePoint> fast, plain;
      EXPECT_EQ(MseSearch(o, h, 0.01, &fast), reference::Mse(o, h, 0.01, &plain));
      ExpectSameCurve(fast, plain, 1e-9);
    }
  }
}

}  // namespace
}  // namespace calib8::calib
