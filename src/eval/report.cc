// eval/report.cc — renders eval::ReportInput as one self-contained HTML page (eval/report.h).
// Called by `calib8 calibrate --report` (via eval/calibration_report.h) and later by compare.
// Plain string building: no templates, no script, inline CSS + SVG; every text goes through
// HtmlEscape. Plots are downsampled so a 100+ tensor report stays around a megabyte.
#include "eval/report.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <span>

namespace calib8::eval {
namespace {

constexpr std::string_view kCss = R"CSS(
:root{--fg:#1d2330;--muted:#5b6475;--line:#d5dae3;--bg:#fff;--alt:#f5f7fa;--hist:#7da7d9;
--amax:#d2352b;--curve:#e08a00;--good:#2f8f46;--warn:#d98e04;--bad:#c8312a}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);
background:var(--bg);margin:0 auto;padding:16px 24px 48px;max-width:1400px}
h1{font-size:22px;margin:4px 0 12px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid var(--line);
padding-bottom:4px}h3{font-size:13px;margin:0 0 4px;font-weight:600;word-break:break-all}
nav a{margin-right:14px}a{color:#1f5fae;text-decoration:none}a:hover{text-decoration:underline}
table{border-collapse:collapse}
table.kv td{padding:2px 12px 2px 0;vertical-align:top}table.kv td:first-child{color:var(--muted);white-space:nowrap}
table.grid{width:100%;font-size:13px}
table.grid th,table.grid td{padding:3px 8px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
table.grid th{position:sticky;top:0;background:#e9edf3;text-align:right}
table.grid td.l,table.grid th.l{text-align:left}
table.grid td.name{white-space:normal;word-break:break-all;max-width:420px}
table.grid tbody tr:nth-child(even){background:var(--alt)}
.mono{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12px}
.flag{display:inline-block;padding:0 6px;margin-right:4px;border-radius:8px;background:#fde2e0;color:#8a1f17;
font-size:11px}
.ratio{display:inline-block;width:60px;height:8px;background:#e6e9ef;margin-left:6px;vertical-align:middle}
.ratio i{display:block;height:8px;background:var(--good)}.ratio i.low{background:var(--warn)}
.warn{color:#8a5a00}
.note{background:#fff8e1;border-left:4px solid #f0b400;padding:6px 10px;max-width:60em}
.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:14px}
.plot{border:1px solid var(--line);border-radius:6px;padding:8px 10px;content-visibility:auto;
contain-intrinsic-size:auto 290px}
.plot .meta{color:var(--muted);font-size:12px;margin-bottom:2px}
svg{display:block;width:100%;height:auto}
svg text{font:11px system-ui,"DejaVu Sans",sans-serif;fill:var(--muted)}
svg .axis{stroke:#8a93a3;stroke-width:1;fill:none}svg .grid{stroke:#eceff4;stroke-width:1}
svg .hist{fill:var(--hist);stroke:none}svg .amax{stroke:var(--amax);stroke-width:1.5}
svg .curve{stroke:var(--curve);stroke-width:1.5;fill:none}svg text.amax{fill:var(--amax)}
svg text.curve{fill:var(--curve)}
.legend span{margin-right:12px;font-size:12px;color:var(--muted)}
.legend b{display:inline-block;width:12px;height:3px;vertical-align:middle;margin-right:4px}
)CSS";

// Plot geometry (SVG user units).
constexpr double kW = 600, kH = 230;
constexpr double kLeft = 54, kRight = 546, kTop = 12, kBottom = 192;

std::string Num(double v, int digits = 4) {
  if (std::isnan(v)) return "n/a";
  if (std::isinf(v)) return v > 0 ? "\u221e" : "-\u221e";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

// A fraction as a percentage with two decimals, as the report's other percentages; a nonzero one
// below 0.005 % as "<0.01%" (a saturation of a few values in a million).
std::string Percent2(double fraction) {
  if (std::isnan(fraction)) return "n/a";
  if (fraction > 0 && fraction < 0.00005) return "&lt;0.01%";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.2f%%", 100 * fraction);
  return buf;
}

// A coordinate with one decimal, short ("12.5", "3").
std::string Coord(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  std::string s = buf;
  if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
  return s;
}

void Append(std::string& out, std::initializer_list<std::string_view> parts) {
  for (auto p : parts) out.append(p);
}

// "a < b" rows of the summary table.
void KvRow(std::string& out, std::string_view key, std::string_view value, bool mono = false) {
  Append(out, {"<tr><td>", HtmlEscape(key), "</td><td", mono ? " class=\"mono\"" : "", ">",
               HtmlEscape(value), "</td></tr>\n"});
}

// The curve reduced to at most max_points points: per group of consecutive points, the minimum
// and the maximum (in x order), so the minimum the method picked and the curve's spread survive.
// Non-finite values are dropped; a gap in x is kept by emitting a NaN separator.
std::vector<ReportPoint> DownsampleCurve(const std::vector<ReportPoint>& curve, int max_points) {
  std::vector<ReportPoint> out;
  if (curve.empty()) return out;
  const size_t groups = std::max<size_t>(1, static_cast<size_t>(std::max(2, max_points)) / 2);
  const size_t per = (curve.size() + groups - 1) / groups;
  for (size_t g = 0; g < curve.size(); g += per) {
    size_t end = std::min(curve.size(), g + per);
    const ReportPoint* lo = nullptr;
    const ReportPoint* hi = nullptr;
    for (size_t i = g; i < end; ++i) {
      const ReportPoint& p = curve[i];
      if (!std::isfinite(p.y) || !std::isfinite(p.x)) continue;
      if (!lo || p.y < lo->y) lo = &p;
      if (!hi || p.y > hi->y) hi = &p;
    }
    if (!lo) {
      out.push_back({std::numeric_limits<double>::quiet_NaN(), 0});  // gap: +inf KL values
      continue;
    }
    if (lo == hi) {
      out.push_back(*lo);
    } else if (lo->x <= hi->x) {
      out.push_back(*lo);
      out.push_back(*hi);
    } else {
      out.push_back(*hi);
      out.push_back(*lo);
    }
  }
  return out;
}

// Log-count histogram, amax marker and the method's curve for one tensor.
void PlotTensor(std::string& out, const ReportTensor& t, const ReportOptions& opt) {
  const double range = t.hist_range > 0 ? t.hist_range : std::max(t.absmax, t.amax);
  const bool has_hist = !t.hist.empty() && range > 0;
  const bool has_curve = !t.curve.empty() && range > 0;
  Append(out, {"<svg viewBox=\"0 0 ", Coord(kW), " ", Coord(kH),
               "\" role=\"img\" aria-label=\"histogram of |x|\">\n"});
  if (!has_hist && !has_curve) {
    Append(out, {"<text x=\"", Coord(kW / 2), "\" y=\"", Coord(kH / 2),
                 "\" text-anchor=\"middle\">no histogram (",
                 t.absmax == 0 ? "all values are zero" : "not collected", ")</text></svg>\n"});
    return;
  }
  auto sx = [&](double x) { return kLeft + (kRight - kLeft) * std::clamp(x / range, 0.0, 1.0); };
  // Frame, x ticks at quarters of the range.
  Append(out, {"<path class=\"axis\" d=\"M", Coord(kLeft), " ", Coord(kTop), "V", Coord(kBottom),
               "H", Coord(kRight), "V", Coord(kTop), "\"/>\n"});
  for (int i = 0; i <= 4; ++i) {
    double x = range * i / 4;
    Append(out, {"<text x=\"", Coord(sx(x)), "\" y=\"", Coord(kBottom + 14),
                 "\" text-anchor=\"middle\">", Num(x, 3), "</text>"});
  }
  Append(out, {"<text x=\"", Coord((kLeft + kRight) / 2), "\" y=\"", Coord(kH - 6),
               "\" text-anchor=\"middle\">|x|</text>\n"});

  if (has_hist) {
    std::vector<double> groups = DownsampleCounts(t.hist, opt.max_plot_points);
    // The same grouping as DownsampleCounts: `per` consecutive bins per bar, the last shorter.
    const size_t target =
        std::min(t.hist.size(), static_cast<size_t>(std::max(1, opt.max_plot_points)));
    const double bins_per_group = static_cast<double>((t.hist.size() + target - 1) / target);
    double top = 0;
    for (double c : groups) top = std::max(top, c);
    const double decades = std::max(1.0, std::ceil(std::log10(top + 1)));
    auto sy = [&](double c) { return kBottom - (kBottom - kTop) * std::log10(c + 1) / decades; };
    // Decade grid lines and labels on the left axis.
    for (int d = 0; d <= static_cast<int>(decades); ++d) {
      double y = kBottom - (kBottom - kTop) * d / decades;
      if (d > 0 && d < decades)
        Append(out, {"<path class=\"grid\" d=\"M", Coord(kLeft), " ", Coord(y), "H", Coord(kRight),
                     "\"/>"});
      Append(out, {"<text x=\"", Coord(kLeft - 4), "\" y=\"", Coord(y + 4),
                   "\" text-anchor=\"end\">", d == 0 ? "0" : "1e" + std::to_string(d), "</text>"});
    }
    // One filled step path: bar g spans bins [g * per, (g + 1) * per) of the full histogram.
    const double bin_w = range / static_cast<double>(t.hist.size());
    out.append("\n<path class=\"hist\" d=\"M");
    Append(out, {Coord(kLeft), " ", Coord(kBottom)});
    for (size_t g = 0; g < groups.size(); ++g) {
      double x0 = sx(g * bins_per_group * bin_w);
      double x1 = sx(std::min<double>(t.hist.size(), (g + 1) * bins_per_group) * bin_w);
      Append(out, {"H", Coord(x0), "V", Coord(sy(groups[g])), "H", Coord(x1)});
    }
    Append(out, {"V", Coord(kBottom), "Z\"/>\n"});
    Append(out,
           {"<text x=\"12\" y=\"", Coord((kTop + kBottom) / 2), "\" transform=\"rotate(-90 12 ",
            Coord((kTop + kBottom) / 2), ")\" text-anchor=\"middle\">count (log)</text>\n"});
  }

  if (has_curve) {
    std::vector<ReportPoint> pts = DownsampleCurve(t.curve, opt.max_plot_points);
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (const auto& p : pts)
      if (!std::isnan(p.x)) lo = std::min(lo, p.y), hi = std::max(hi, p.y);
    if (lo <= hi) {
      if (hi == lo) hi = lo + 1;
      auto sy = [&](double v) { return kBottom - (kBottom - kTop) * (v - lo) / (hi - lo); };
      out.append("<path class=\"curve\" d=\"");
      bool pen_down = false;
      for (const auto& p : pts) {
        if (std::isnan(p.x)) {
          pen_down = false;
          continue;
        }
        Append(out, {pen_down ? "L" : "M", Coord(sx(p.x)), " ", Coord(sy(p.y))});
        pen_down = true;
      }
      out.append("\"/>\n");
      Append(out, {"<text class=\"curve\" x=\"", Coord(kRight + 4), "\" y=\"", Coord(kTop + 8),
                   "\">", Num(hi, 3), "</text><text class=\"curve\" x=\"", Coord(kRight + 4),
                   "\" y=\"", Coord(kBottom), "\">", Num(lo, 3), "</text>\n"});
    }
  }

  if (t.amax > 0) {
    double x = sx(t.amax);
    const bool right_half = x > (kLeft + kRight) / 2;
    Append(out, {"<path class=\"amax\" d=\"M", Coord(x), " ", Coord(kTop), "V", Coord(kBottom),
                 "\"/><text class=\"amax\" x=\"", Coord(right_half ? x - 4 : x + 4), "\" y=\"",
                 Coord(kTop + 12), "\" text-anchor=\"", right_half ? "end" : "start", "\">amax ",
                 Num(t.amax, 4), "</text>\n"});
  }
  out.append("</svg>\n");
}

void SummarySection(std::string& out, const ReportInput& in) {
  out.append("<section id=\"summary\"><h2>Summary</h2><table class=\"kv\">\n");
  if (!in.model.empty()) KvRow(out, "model", in.model);
  if (!in.table.empty()) KvRow(out, "table", in.table);
  if (!in.method.empty()) {
    std::string params;
    for (const auto& [k, v] : in.method_params) {
      if (!params.empty()) params += ", ";
      params += k + "=" + v;
    }
    KvRow(out, "method", in.method + (params.empty() ? "" : " (" + params + ")"));
  }
  KvRow(out, "samples", std::to_string(in.samples));
  if (!in.data.empty()) KvRow(out, "data", in.data);
  KvRow(out, "tensors", std::to_string(in.tensors.size()));
  if (!in.model_fingerprint.empty()) KvRow(out, "model fingerprint", in.model_fingerprint, true);
  if (!in.data_fingerprint.empty()) KvRow(out, "data fingerprint", in.data_fingerprint, true);
  for (const auto& [k, v] : in.extra) KvRow(out, k, v);
  out.append("</table>\n");
  if (!in.warnings.empty()) {
    out.append("<ul class=\"warn\">\n");
    for (const auto& w : in.warnings) Append(out, {"<li>", HtmlEscape(w), "</li>\n"});
    out.append("</ul>\n");
  }
  out.append("</section>\n");
}

void TensorTable(std::string& out, const ReportInput& in) {
  Append(out, {"<section id=\"tensors\"><h2>Tensors (", std::to_string(in.tensors.size()),
               ")</h2>\n<table class=\"grid\"><thead><tr><th>#</th><th class=\"l\">tensor</th>"
               "<th class=\"l\">producer</th><th>min</th><th>max</th><th>absmax</th><th>amax</th>"
               "<th>amax/absmax</th><th class=\"l\">flags</th></tr></thead><tbody>\n"});
  if (!in.tensors_note.empty()) {
    // The note goes before the table: insert it after the heading.
    size_t at = out.rfind("<table class=\"grid\">");
    out.insert(at, "<p class=\"note\">" + HtmlEscape(in.tensors_note) + "</p>\n");
  }
  for (size_t i = 0; i < in.tensors.size(); ++i) {
    const ReportTensor& t = in.tensors[i];
    const std::string id = std::to_string(i);
    std::string producer = t.producer.empty() ? "(input)" : t.producer;
    std::string ratio_cell = "n/a";
    if (t.absmax > 0) {
      double r = t.amax / t.absmax;
      double pct = std::clamp(r, 0.0, 1.0) * 100;
      ratio_cell = Num(r, 3) + "<span class=\"ratio\"><i" + (r < 0.5 ? " class=\"low\"" : "") +
                   " style=\"width:" + Coord(pct) + "%\"></i></span>";
    }
    // The name links to the tensor's plot; PlotSection draws none when there is nothing to draw
    // and the note says why.
    const bool plotted = !(t.hist.empty() && t.curve.empty() && !in.plots_note.empty());
    Append(
        out,
        {"<tr><td>", id, "</td><td class=\"l name\">",
         plotted ? "<a href=\"#t" + id + "\">" + HtmlEscape(t.name) + "</a>" : HtmlEscape(t.name),
         "</td><td class=\"l\" title=\"", HtmlEscape(t.producer_name), "\">", HtmlEscape(producer),
         "</td><td>", Num(t.min), "</td><td>", Num(t.max), "</td><td>", Num(t.absmax), "</td><td>",
         Num(t.amax), "</td><td>", ratio_cell, "</td><td class=\"l\">"});
    for (const auto& f : t.flags) Append(out, {"<span class=\"flag\">", HtmlEscape(f), "</span>"});
    out.append("</td></tr>\n");
  }
  out.append("</tbody></table></section>\n");
}

// Horizontal bars of SQNR per layer (compare), then the numbers.
void LayerSection(std::string& out, const ReportInput& in) {
  if (in.layers.empty()) return;
  double top = 0;
  for (const auto& l : in.layers)
    if (std::isfinite(l.sqnr_db)) top = std::max(top, l.sqnr_db);
  top = std::max(10.0, std::ceil(top / 10) * 10);
  const double row = 16, left = 250, right = 560;
  const double height = 28 + row * in.layers.size();
  Append(out, {"<section id=\"layers\"><h2>Per-layer error (", std::to_string(in.layers.size()),
               " layers)</h2>\n<svg viewBox=\"0 0 600 ", Coord(height),
               "\" role=\"img\" aria-label=\"SQNR per layer\" style=\"max-width:680px\">\n"});
  for (int i = 0; i <= 4; ++i) {
    double x = left + (right - left) * i / 4;
    Append(out,
           {"<path class=\"grid\" d=\"M", Coord(x), " 4V", Coord(height - 20), "\"/><text x=\"",
            Coord(x), "\" y=\"", Coord(height - 6), "\" text-anchor=\"middle\">",
            Num(top * i / 4, 3), i == 4 ? " dB" : "", "</text>"});
  }
  for (size_t i = 0; i < in.layers.size(); ++i) {
    const LayerError& l = in.layers[i];
    double y = 4 + row * i;
    double v = std::isnan(l.sqnr_db) ? 0 : std::clamp(l.sqnr_db, 0.0, top);
    const char* colour = l.sqnr_db < 20   ? "var(--bad)"
                         : l.sqnr_db < 30 ? "var(--warn)"
                                          : "var(--good)";
    std::string name = l.name.size() > 40
                           ? l.name.substr(0, 18) + "\u2026" + l.name.substr(l.name.size() - 18)
                           : l.name;
    Append(out, {"<text x=\"",
                 Coord(left - 6),
                 "\" y=\"",
                 Coord(y + 11),
                 "\" text-anchor=\"end\">",
                 HtmlEscape(name),
                 "</text><rect x=\"",
                 Coord(left),
                 "\" y=\"",
                 Coord(y + 2),
                 "\" width=\"",
                 Coord((right - left) * v / top),
                 "\" height=\"",
                 Coord(row - 4),
                 "\" fill=\"",
                 colour,
                 "\"><title>",
                 HtmlEscape(l.name),
                 ": ",
                 Num(l.sqnr_db),
                 " dB</title></rect>\n"});
  }
  out.append(
      "</svg>\n<table class=\"grid\"><thead><tr><th class=\"l\">layer</th><th>SQNR (dB)"
      "</th><th>cosine</th><th>saturation</th></tr></thead><tbody>\n");
  for (const auto& l : in.layers)
    Append(out,
           {"<tr><td class=\"l name\">", HtmlEscape(l.name), "</td><td>", Num(l.sqnr_db),
            "</td><td>", Num(l.cosine, 6), "</td><td>", Percent2(l.saturation), "</td></tr>\n"});
  out.append("</tbody></table></section>\n");
}

void FallbackSection(std::string& out, const ReportInput& in) {
  if (in.fallbacks.empty() && !in.fallbacks_note.empty()) {
    Append(out,
           {"<section id=\"fallbacks\"><h2>Precision per node (0 FP32)</h2>\n<p class=\"note\">",
            HtmlEscape(in.fallbacks_note), "</p></section>\n"});
    return;
  }
  if (in.fallbacks.empty()) return;
  Append(out,
         {"<section id=\"fallbacks\"><h2>Precision per node (", std::to_string(in.fallbacks.size()),
          ")</h2>\n<table class=\"grid\"><thead><tr><th class=\"l\">node</th><th class=\"l\">"
          "op</th><th class=\"l\">precision</th><th class=\"l\">reason</th></tr></thead>"
          "<tbody>\n"});
  for (const auto& f : in.fallbacks)
    Append(out, {"<tr><td class=\"l name\">", HtmlEscape(f.node), "</td><td class=\"l\">",
                 HtmlEscape(f.op), "</td><td class=\"l\">", HtmlEscape(f.precision),
                 "</td><td class=\"l\">", HtmlEscape(f.reason), "</td></tr>\n"});
  out.append("</tbody></table></section>\n");
}

void PlotSection(std::string& out, const ReportInput& in, const ReportOptions& opt) {
  out.append(
      "<section id=\"plots\"><h2>Histograms and thresholds</h2>\n<div class=\"legend\">"
      "<span><b style=\"background:var(--hist);height:8px\"></b>|x| count (log scale)</span>"
      "<span><b style=\"background:var(--amax)\"></b>chosen amax</span>"
      "<span><b style=\"background:var(--curve)\"></b>method curve against threshold "
      "(right axis: its range)</span></div>\n");
  if (!in.plots_note.empty())
    Append(out, {"<p class=\"note\">", HtmlEscape(in.plots_note), "</p>\n"});
  out.append("<div class=\"plots\">\n");
  for (size_t i = 0; i < in.tensors.size(); ++i) {
    const ReportTensor& t = in.tensors[i];
    // Nothing to draw and the note says why: no empty frame.
    if (t.hist.empty() && t.curve.empty() && !in.plots_note.empty()) continue;
    std::string meta = (t.producer.empty() ? std::string("graph input") : t.producer) +
                       " \u00b7 absmax " + Num(t.absmax) + " \u00b7 amax " + Num(t.amax);
    if (!t.curve.empty()) {
      std::string metric = t.curve_metric.empty() ? "curve" : t.curve_metric;
      for (auto& ch : metric) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      meta += " \u00b7 " + metric + " curve";
    }
    Append(out, {"<div class=\"plot\" id=\"t", std::to_string(i), "\"><h3>", HtmlEscape(t.name),
                 "</h3><div class=\"meta\">", HtmlEscape(meta), "</div>\n"});
    PlotTensor(out, t, opt);
    out.append("</div>\n");
  }
  out.append("</div></section>\n");
}

}  // namespace

std::string HtmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '&':
          out += "&amp;";
          break;
        case '<':
          out += "&lt;";
          break;
        case '>':
          out += "&gt;";
          break;
        case '"':
          out += "&quot;";
          break;
        case '\'':
          out += "&#39;";
          break;
        default:
          // Control characters other than tab/newline are not allowed in HTML text.
          if (c < 0x20 && c != '\t' && c != '\n')
            out += "\uFFFD";
          else
            out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    // Validate one UTF-8 sequence; copy it or emit U+FFFD for the first bad byte.
    int len = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    bool ok = len > 0 && i + len <= s.size();
    uint32_t cp = ok ? (c & (0x7F >> len)) : 0;
    for (int k = 1; ok && k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (ok) {
      static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
      ok = cp >= kMin[len] && cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF);
    }
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += "\uFFFD";
      ++i;
    }
  }
  return out;
}

std::vector<double> DownsampleCounts(const std::vector<double>& counts, int max_points) {
  if (max_points < 1) max_points = 1;
  const size_t groups = std::min(counts.size(), static_cast<size_t>(max_points));
  if (groups == 0) return {};
  const size_t per = (counts.size() + groups - 1) / groups;
  std::vector<double> out;
  out.reserve(groups);
  for (size_t g = 0; g < counts.size(); g += per) {
    double sum = 0;
    for (size_t i = g; i < std::min(counts.size(), g + per); ++i) sum += counts[i];
    out.push_back(sum);
  }
  return out;
}

std::string RenderHtmlReport(const ReportInput& in, const ReportOptions& opt) {
  std::string out;
  out.reserve(4096 + in.tensors.size() * 8192);
  Append(out, {"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
               "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n"
               "<meta name=\"generator\" content=\"calib8\">\n"
               "<link rel=\"icon\" href=\"data:,\">\n<title>",
               HtmlEscape(in.title), in.model.empty() ? "" : " \u2014 ", HtmlEscape(in.model),
               "</title>\n<style>", kCss, "</style>\n</head><body>\n<h1>", HtmlEscape(in.title),
               "</h1>\n<nav><a href=\"#summary\">summary</a><a href=\"#tensors\">tensors</a>"});
  if (!in.layers.empty()) out.append("<a href=\"#layers\">per-layer error</a>");
  if (!in.fallbacks.empty() || !in.fallbacks_note.empty())
    out.append("<a href=\"#fallbacks\">precision per node</a>");
  out.append("<a href=\"#plots\">plots</a></nav>\n");
  SummarySection(out, in);
  TensorTable(out, in);
  LayerSection(out, in);
  FallbackSection(out, in);
  PlotSection(out, in, opt);
  out.append("</body></html>\n");
  return out;
}

}  // namespace calib8::eval
