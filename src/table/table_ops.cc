// table/table_ops.cc — entry flags, diff and merge over CalibrationTable values. The CLI's
// inspect/diff/merge commands only print what these return.
#include "table/table_ops.h"

#include "table/codecs.h"

#include <algorithm>
#include <cmath>

namespace calib8::table {

InternalName ClassifyName(std::string_view name) {
  if (name.rfind("(Unnamed ITensor* ", 0) == 0) return InternalName::kUnnamedITensor;
  if (name.rfind("(Unnamed Layer* ", 0) == 0) return InternalName::kUnnamedLayer;
  if (name.rfind("ONNXTRT_", 0) == 0) return InternalName::kOnnxTrt;
  return InternalName::kNone;
}

const char* ExplainInternalName(InternalName kind) {
  switch (kind) {
    case InternalName::kUnnamedITensor:
      return "(Unnamed ITensor* N): a tensor the network-definition API created without a name; "
             "N counts tensors in creation order, so it only matches a network built by the same "
             "code in the same order";
    case InternalName::kUnnamedLayer:
      return "(Unnamed Layer* N) [Type]_output: the output of the N-th unnamed layer (of that "
             "type) TensorRT added while building; it shifts when a layer is added or the parser "
             "changes, so it only matches the same network build";
    case InternalName::kOnnxTrt:
      return "ONNXTRT_*: a helper tensor the TensorRT ONNX parser inserts (broadcast, flatten, "
             "...); its name depends on the parser version and the order of import, so it only "
             "matches the same parser and network";
    case InternalName::kNone:
      break;
  }
  return "";
}

std::vector<std::string> EntryFlags(const TableEntry& e) {
  bool zero = false, inf = false, nan = false, denormal = false, tiny = false, huge = false;
  for (uint32_t b : e.scale_bits) {
    float s = BitsToFloat(b);
    double amax = 127.0 * static_cast<double>(s);
    if (std::isnan(s))
      nan = true;
    else if (std::isinf(s))
      inf = true;
    else if (s == 0)
      zero = true;
    else {
      if (std::fpclassify(s) == FP_SUBNORMAL) denormal = true;
      if (std::fabs(amax) < kTinyAmax) tiny = true;
      if (std::fabs(amax) > kHugeAmax) huge = true;
    }
  }
  std::vector<std::string> flags;
  if (zero) flags.push_back("zero");
  if (inf) flags.push_back("inf");
  if (nan) flags.push_back("nan");
  if (denormal) flags.push_back("denormal");
  if (tiny) flags.push_back("tiny");
  if (huge) flags.push_back("huge");
  if (ClassifyName(e.name) != InternalName::kNone) flags.push_back("trt-internal");
  return flags;
}

namespace {
// |ln(b/a)| for two scales; 0 for identical bits; +inf when exactly one side is 0/inf/NaN.
double AbsLogRatio(uint32_t a, uint32_t b, double* ratio) {
  if (a == b) {
    *ratio = 1;
    return 0;
  }
  double fa = BitsToFloat(a), fb = BitsToFloat(b);
  *ratio = fb / fa;
  if (!std::isfinite(*ratio) || *ratio <= 0) return INFINITY;
  return std::fabs(std::log(*ratio));
}
}  // namespace

DiffResult DiffTables(const CalibrationTable& a, const CalibrationTable& b) {
  DiffResult r;
  std::vector<DiffRow> both, only_a, only_b;
  std::vector<double> ratios;
  for (const auto& ea : a.entries()) {
    DiffRow row;
    row.name = ea.name;
    row.bits_a = ea.bits();
    row.amax_a = ea.amax();
    int j = b.Find(ea.name);
    if (j < 0) {
      row.side = DiffRow::Side::kOnlyA;
      only_a.push_back(row);
      continue;
    }
    const TableEntry& eb = b.entries()[static_cast<size_t>(j)];
    row.bits_b = eb.bits();
    row.amax_b = eb.amax();
    bool same = ea.scale_bits == eb.scale_bits;
    if (ea.scale_bits.size() != eb.scale_bits.size()) {
      row.ratio = NAN;
      row.abs_log_ratio = INFINITY;
    } else {
      for (size_t k = 0; k < ea.scale_bits.size(); ++k) {
        double ratio = 1;
        double l = AbsLogRatio(ea.scale_bits[k], eb.scale_bits[k], &ratio);
        if (k == 0 || l > row.abs_log_ratio) row.abs_log_ratio = l, row.ratio = ratio;
      }
    }
    if (same) ++r.identical;
    if (std::isfinite(row.abs_log_ratio)) ratios.push_back(row.ratio);
    r.max_abs_log_ratio = std::max(r.max_abs_log_ratio, row.abs_log_ratio);
    both.push_back(row);
  }
  for (const auto& eb : b.entries()) {
    if (a.Find(eb.name) >= 0) continue;
    DiffRow row;
    row.name = eb.name;
    row.side = DiffRow::Side::kOnlyB;
    row.bits_b = eb.bits();
    row.amax_b = eb.amax();
    only_b.push_back(row);
  }
  std::stable_sort(both.begin(), both.end(), [](const DiffRow& x, const DiffRow& y) {
    return x.abs_log_ratio > y.abs_log_ratio;
  });
  if (!ratios.empty()) {
    std::sort(ratios.begin(), ratios.end());
    size_t n = ratios.size();
    r.median_ratio = n % 2 ? ratios[n / 2] : 0.5 * (ratios[n / 2 - 1] + ratios[n / 2]);
  }
  r.in_both = static_cast<int>(both.size());
  r.only_a = static_cast<int>(only_a.size());
  r.only_b = static_cast<int>(only_b.size());
  r.rows = std::move(both);
  r.rows.insert(r.rows.end(), only_a.begin(), only_a.end());
  r.rows.insert(r.rows.end(), only_b.begin(), only_b.end());
  return r;
}

Result<ConflictPolicy> ParseConflictPolicy(std::string_view name) {
  if (name == "first") return ConflictPolicy::kFirst;
  if (name == "last") return ConflictPolicy::kLast;
  if (name == "max") return ConflictPolicy::kMax;
  if (name == "error") return ConflictPolicy::kError;
  return InvalidArgument("--on-conflict '", name, "': expected first, last, max or error");
}

namespace {
std::string Value(const TableEntry& e) {
  return HexBits(e.bits()) + " (amax " + ShortestDecimal(e.amax()) + ")" +
         (e.scale_bits.size() > 1 ? " x" + std::to_string(e.scale_bits.size()) + " channels" : "");
}
}  // namespace

Result<CalibrationTable> MergeTables(const std::vector<NamedTable>& inputs, ConflictPolicy policy,
                                     MergeReport* report) {
  MergeReport local;
  MergeReport& rep = report ? *report : local;
  CalibrationTable out;
  if (inputs.empty()) return InvalidArgument("merge: no tables given");
  out.header = inputs.front().table.header;
  std::vector<std::string> owner;  // which input each output entry came from
  for (const auto& in : inputs) {
    const TableHeader& h = in.table.header;
    if (&in != &inputs.front() &&
        (h.writer_version != out.header.writer_version || h.algorithm != out.header.algorithm))
      rep.notes.push_back("'" + in.name + "' has header " + codec::Quote(h.raw) + ", '" +
                          inputs.front().name + "' has " + codec::Quote(out.header.raw) +
                          ": the merged table keeps the first header");
    for (const auto& e : in.table.entries()) {
      int i = out.Find(e.name);
      if (i < 0) {
        out.Put(e);
        owner.push_back(in.name);
        continue;
      }
      const TableEntry& have = out.entries()[static_cast<size_t>(i)];
      if (have.scale_bits == e.scale_bits) continue;
      ++rep.conflicts;
      std::string what = "tensor '" + e.name + "': '" + owner[static_cast<size_t>(i)] + "' has " +
                         Value(have) + ", '" + in.name + "' has " + Value(e);
      switch (policy) {
        case ConflictPolicy::kError:
          return InvalidArgument(what, ": pass --on-conflict first, last or max to choose");
        case ConflictPolicy::kFirst:
          rep.notes.push_back(what + ": kept the first");
          break;
        case ConflictPolicy::kLast:
          rep.notes.push_back(what + ": kept the last");
          out.Put(e);
          owner[static_cast<size_t>(i)] = in.name;
          break;
        case ConflictPolicy::kMax: {
          if (have.scale_bits.size() != e.scale_bits.size())
            return InvalidArgument(what, ": different channel counts, so 'max' is undefined");
          TableEntry merged = have;
          bool changed = false;
          for (size_t k = 0; k < e.scale_bits.size(); ++k) {
            if (BitsToFloat(e.scale_bits[k]) > BitsToFloat(merged.scale_bits[k])) {
              merged.scale_bits[k] = e.scale_bits[k];
              changed = true;
            }
          }
          if (changed) {
            // Channels now come from both inputs, so no single source text describes them.
            if (have.scale_bits.size() > 1)
              merged.source_text.clear();
            else
              merged = e;
            out.Put(merged);
            owner[static_cast<size_t>(i)] = in.name;
          }
          rep.notes.push_back(what + ": kept the larger amax");
          break;
        }
      }
    }
  }
  return out;
}

}  // namespace calib8::table
