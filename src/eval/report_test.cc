// eval/report_test.cc — the HTML report: escaping (names with < > & quotes, bad UTF-8), histogram
// downsampling keeps totals, one plot per tensor, optional compare sections only when filled,
// nothing external, size for 150 tensors, and the calib::CalibrationResult adapter.
#include "eval/report.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <string>

#include "eval/calibration_report.h"
#include "eval/compare_report.h"

namespace calib8::eval {
namespace {

size_t Count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + what.size())) ++n;
  return n;
}

TEST(HtmlEscape, SpecialCharactersAndBadUtf8) {
  EXPECT_EQ(HtmlEscape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
  EXPECT_EQ(HtmlEscape("caf\xc3\xa9"), "caf\xc3\xa9");  // valid UTF-8 kept
  EXPECT_EQ(HtmlEscape("x\xff"
                       "y"),
            "x\xef\xbf\xbdy");                                    // stray byte -> U+FFFD
  EXPECT_EQ(HtmlEscape("\xc3"), "\xef\xbf\xbd");                  // truncated sequence
  EXPECT_EQ(HtmlEscape("\xc0\xaf"), "\xef\xbf\xbd\xef\xbf\xbd");  // overlong '/'
  EXPECT_EQ(HtmlEscape(std::string("a\0b", 3)),
            "a\xef\xbf\xbd"
            "b");
}

TEST(DownsampleCounts, KeepsTotalsAndOrder) {
  std::vector<double> c(2048);
  std::iota(c.begin(), c.end(), 0.0);
  auto d = DownsampleCounts(c, 256);
  ASSERT_EQ(d.size(), 256u);
  EXPECT_EQ(d[0], 0 + 1 + 2 + 3 + 4 + 5 + 6 + 7);
  EXPECT_EQ(std::accumulate(d.begin(), d.end(), 0.0), 2047.0 * 2048 / 2);
  auto e = DownsampleCounts({1, 2, 3, 4, 5}, 2);  // groups of 3: {1,2,3}, {4,5}
  EXPECT_EQ(e, (std::vector<double>{6, 9}));
  EXPECT_EQ(DownsampleCounts({1, 2}, 256), (std::vector<double>{1, 2}));
  EXPECT_TRUE(DownsampleCounts({}, 256).empty());
}

ReportTensor MakeTensor(const std::string& name, bool curve) {
  ReportTensor t;
  t.name = name;
  t.producer = "Conv";
  t.producer_name = "conv\"1";
  t.min = -1.5;
  t.max = 3;
  t.absmax = 3;
  t.amax = 2.25;
  t.hist_range = 3;
  t.hist.resize(2048);
  for (int i = 0; i < 2048; ++i) t.hist[i] = std::floor(1e6 * std::exp(-i / 100.0));
  if (curve) {
    t.curve_metric = "kl";
    for (int i = 128; i <= 2048; ++i)
      t.curve.push_back(
          {i * 3.0 / 2048, i < 140 ? INFINITY : 1.0 / i + (i - 1500) * (i - 1500) * 1e-8});
  }
  return t;
}

TEST(RenderHtmlReport, EscapesNamesAndHasOnePlotPerTensor) {
  ReportInput in;
  in.model = "m<odel>.onnx";
  in.method = "entropy2";
  in.method_params = {{"num_bins", "2048"}, {"variant", "a&b"}};
  in.samples = 200;
  in.warnings = {"tensor '<x>' is all zero"};
  in.tensors.push_back(MakeTensor("in<put>&\"'", false));
  in.tensors.push_back(MakeTensor("conv1/out:0", true));
  ReportTensor zero;
  zero.name = "zeros";
  zero.flags = {"all-zero"};
  in.tensors.push_back(zero);
  std::string html = RenderHtmlReport(in);
  EXPECT_NE(html.find("in&lt;put&gt;&amp;&quot;&#39;"), std::string::npos);
  EXPECT_EQ(html.find("in<put>"), std::string::npos);
  EXPECT_NE(html.find("m&lt;odel&gt;.onnx"), std::string::npos);
  EXPECT_NE(html.find("variant=a&amp;b"), std::string::npos);
  EXPECT_NE(html.find("tensor &#39;&lt;x&gt;&#39; is all zero"), std::string::npos);
  EXPECT_NE(html.find("title=\"conv&quot;1\""), std::string::npos);
  EXPECT_EQ(Count(html, "<div class=\"plot\""), 3u);
  EXPECT_EQ(Count(html, "<svg"), 3u);  // no compare sections: no SQNR chart
  EXPECT_EQ(Count(html, "class=\"curve\" d="), 1u);
  EXPECT_EQ(Count(html, "class=\"amax\" d="), 2u);
  EXPECT_NE(html.find("all values are zero"), std::string::npos);
  EXPECT_EQ(html.find("id=\"layers\""), std::string::npos);
  EXPECT_EQ(html.find("id=\"fallbacks\""), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http:"), std::string::npos);
  EXPECT_EQ(html.find("https:"), std::string::npos);
  EXPECT_EQ(html.find("nan"), std::string::npos);  // no NaN coordinates leak into the SVG
  EXPECT_EQ(html.find("inf\""), std::string::npos);
}

TEST(RenderHtmlReport, CompareSectionsWhenFilled) {
  ReportInput in;
  in.tensors.push_back(MakeTensor("a", true));
  in.layers = {{"conv<1>", 35.5, 0.9999, 0.001}, {"fc", INFINITY, 1.0, NAN}, {"bad", 12, 0.9, 0.2}};
  in.fallbacks = {{"softmax&1", "Softmax", "fp32", "unsupported op"}};
  std::string html = RenderHtmlReport(in);
  EXPECT_NE(html.find("id=\"layers\""), std::string::npos);
  EXPECT_NE(html.find("id=\"fallbacks\""), std::string::npos);
  EXPECT_NE(html.find("conv&lt;1&gt;"), std::string::npos);
  EXPECT_NE(html.find("softmax&amp;1"), std::string::npos);
  EXPECT_NE(html.find("unsupported op"), std::string::npos);
  EXPECT_EQ(Count(html, "<rect"), 3u);
  EXPECT_EQ(Count(html, "<svg"), 2u);
}

TEST(RenderHtmlReport, SmallFor150Tensors) {
  ReportInput in;
  for (int i = 0; i < 150; ++i) {
    std::string name = "t";  // not "t" + std::to_string(i): g++ 12's -Wrestrict false positive
    name += std::to_string(i);
    in.tensors.push_back(MakeTensor(name, true));
  }
  std::string html = RenderHtmlReport(in);
  EXPECT_EQ(Count(html, "<div class=\"plot\""), 150u);
  EXPECT_LT(html.size(), 3u << 20) << "report of 150 tensors is " << html.size() << " bytes";
}

TEST(CalibrationReportInput, FromCalibrationResult) {
  calib::CalibrationResult r;
  r.method.name = "entropy2";
  r.method.parameters = {{"num_bins", "4"}};
  r.stats.samples = 7;
  r.stats.num_bins = 4;
  stats::TensorRecord& rec = r.stats.tensors["x<1>"];
  rec.producer = "Relu";
  rec.producer_name = "relu1";
  float xs[] = {0.0f, 1.0f, 4.0f, 2.0f};
  rec.range.Add(xs, 4);
  rec.hist = stats::AbsHistogram(4.0, 4);
  rec.hist.Add(xs, 4);
  calib::TensorCalibration tc;
  tc.name = "x<1>";
  tc.record = &rec;
  tc.result.amax = 1.5;
  tc.result.curve_metric = "kl";
  tc.result.curve = {{1.0, 0.5}, {2.0, 0.25}};
  r.tensors.push_back(tc);
  ReportInput in = CalibrationReportInput(r, "m.onnx", "m.cache");
  ASSERT_EQ(in.tensors.size(), 1u);
  const ReportTensor& t = in.tensors[0];
  EXPECT_EQ(t.producer, "Relu");
  EXPECT_EQ(t.min, 0.0);
  EXPECT_EQ(t.max, 4.0);
  EXPECT_EQ(t.absmax, 4.0);
  EXPECT_EQ(t.hist, (std::vector<double>{1, 1, 1, 1}));
  EXPECT_EQ(t.curve.size(), 2u);
  EXPECT_EQ(t.flags, (std::vector<std::string>{"clips >50% of range"}));
  EXPECT_EQ(in.samples, 7);
  EXPECT_EQ(in.method_params.size(), 1u);
  EXPECT_NE(RenderHtmlReport(in).find("x&lt;1&gt;"), std::string::npos);
}

TEST(CompareReportInput, FoldsSignedHistogramsAroundZero) {
  // Bins over [-2, 2] (4 bins): [-2,-1) [-1,0) [0,1) [1,2) -> |x| bins [0,1) [1,2).
  EXPECT_EQ(FoldSignedHistogram({1, 2, 3, 4}), (std::vector<double>{2 + 3, 1 + 4}));
  EXPECT_TRUE(FoldSignedHistogram({1, 2, 3}).empty());  // odd: no symmetric fold
}

TEST(CompareReportInput, SectionsFromSidecarOrSayWhy) {
  eval::CompareResult r;
  r.samples = 10;
  eval::OutputResult out;
  out.name = "logits";
  out.classifier = true;
  out.metrics.sqnr_db = 4.0123;
  out.classes.top1_agreement = 0.8921;
  out.classes.labelled = 10;
  out.classes.ref_accuracy = 0.9096;
  out.classes.test_accuracy = 0.8641;
  r.outputs.push_back(out);
  table::CalibrationTable t;
  table::TableEntry e;
  e.name = "x";
  e.scale_bits = {table::ScaleBitsFromAmax(2.0)};
  t.Put(e);
  table::Sidecar sc;
  sc.method.name = "entropy2";
  sc.data.source =
      R"({"inputs":[{"name":"","source":{"kind":"idx","path":"/d/t-idx3-ubyte.gz","files":["t-idx3-ubyte.gz"],"gzip":true,"samples":5,"samples_available":100,"sample_shape":[1,2,2],"dtype":"float32","preprocessing":{"text":"mean=0,std=1,scale=1"}}}],"samples":5})";
  table::TensorStatistics ts;
  ts.name = "x";
  ts.min = -3;
  ts.max = 5;
  ts.absmax = 5;
  ts.amax = 2;
  sc.tensors.push_back(ts);
  CompareReportSources src;
  src.table = &t;
  src.sidecar = &sc;
  src.sidecar_path = "T.calib8.json";

  ReportInput in = CompareReportInput(r, src);
  ASSERT_EQ(in.tensors.size(), 1u);
  EXPECT_EQ(in.tensors[0].absmax, 5);
  EXPECT_NEAR(in.tensors[0].amax, 2.0, 1e-6);  // the table's amax
  EXPECT_EQ(in.tensors[0].flags, (std::vector<std::string>{"clips >50% of range"}));
  EXPECT_NE(in.plots_note.find("--save-stats"), std::string::npos) << in.plots_note;
  EXPECT_TRUE(in.tensors_note.empty());
  bool found = false;
  for (const auto& [k, v] : in.extra)
    if (k == "output logits") {
      found = true;
      EXPECT_EQ(v,
                "SQNR 4.01 dB, top-1 agreement 89.21%, accuracy FP32 90.96% / INT8 86.41% "
                "(10 labelled samples)");
    } else if (k == "calibration data") {
      EXPECT_EQ(v.rfind("idx t-idx3-ubyte.gz (gzip): first 5 of 100 samples, each [1,2,2] float32; "
                        "preprocessing mean=0,std=1,scale=1",
                        0),
                0u)
          << v;
    }
  EXPECT_TRUE(found);

  // A histogram in the sidecar (signed, even bins) is folded and plotted: no note.
  sc.tensors[0].histogram = {1, 0, 0, 0, 0, 2, 3, 4};
  sc.tensors[0].histogram_range = 5;
  in = CompareReportInput(r, src);
  EXPECT_EQ(in.tensors[0].hist, (std::vector<double>{0 + 0, 2 + 0, 3 + 0, 4 + 1}));
  EXPECT_TRUE(in.plots_note.empty());

  // Statistics that name none of the model's tensors: a warning, and the sidecar is used.
  calib::CalibrationResult empty_stats;
  src.stats = &empty_stats;
  src.stats_path = "other.json";
  in = CompareReportInput(r, src);
  ASSERT_EQ(in.tensors.size(), 1u);
  ASSERT_EQ(in.warnings.size(), 1u);
  EXPECT_NE(in.warnings[0].find("other.json"), std::string::npos);
  src.stats = nullptr;

  // No sidecar: the table's tensors, unknown ranges, and a note saying why.
  src.sidecar = nullptr;
  in = CompareReportInput(r, src);
  ASSERT_EQ(in.tensors.size(), 1u);
  EXPECT_TRUE(std::isnan(in.tensors[0].absmax));
  EXPECT_NE(in.tensors_note.find("No sidecar"), std::string::npos);
  EXPECT_NE(in.plots_note.find("--stats"), std::string::npos);
  EXPECT_NE(RenderHtmlReport(in).find("class=\"note\">No sidecar"), std::string::npos);
}

}  // namespace
}  // namespace calib8::eval
