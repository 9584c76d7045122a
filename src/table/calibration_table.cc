// table/calibration_table.cc — the CalibrationTable value, float32 bit helpers, format names and
// detection, and the dispatch from ParseTable / SerializeTable to the per-format codecs
// (trt_codec.cc, text_codecs.cc, json_codecs.cc). Also the text helpers every reader shares.
#include "table/calibration_table.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

#include "core/file_util.h"
#include "table/codecs.h"

namespace calib8::table {

namespace {
struct FormatInfo {
  TableFormat format;
  const char* name;
  const char* title;
};
constexpr FormatInfo kFormats[] = {
#define CALIB8_X(id, name, title) {TableFormat::id, name, title},
    CALIB8_TABLE_FORMATS(CALIB8_X)
#undef CALIB8_X
};

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}
}  // namespace

const char* FormatName(TableFormat f) {
  for (const auto& i : kFormats)
    if (i.format == f) return i.name;
  return "?";
}
const char* FormatTitle(TableFormat f) {
  for (const auto& i : kFormats)
    if (i.format == f) return i.title;
  return "?";
}
Result<TableFormat> ParseFormatName(std::string_view name) {
  for (const auto& i : kFormats)
    if (name == i.name) return i.format;
  std::string all;
  for (const auto& i : kFormats) all += std::string(all.empty() ? "" : "|") + i.name;
  return InvalidArgument("unknown table format '", name, "': expected one of ", all);
}
bool CanWrite(TableFormat f) {
  return f == TableFormat::kTensorRt || f == TableFormat::kCalib8Json || f == TableFormat::kNcnn ||
         f == TableFormat::kRange;
}

std::string DecodeTrtVersion(int64_t n) {
  if (n <= 0) return "unknown";
  int64_t major, minor, patch;
  if (n >= 10000) {  // TensorRT 10+: major*10000 + minor*100 + patch
    major = n / 10000, minor = (n / 100) % 100, patch = n % 100;
  } else {  // TensorRT 5.1 - 8.x: major*1000 + minor*100 + patch
    major = n / 1000, minor = (n / 100) % 10, patch = n % 100;
  }
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

bool IsKnownTrtAlgorithm(std::string_view a) {
  return a == "EntropyCalibration2" || a == "EntropyCalibration" || a == "MinMaxCalibration" ||
         a == "LegacyCalibration";
}

float BitsToFloat(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}
uint32_t FloatToBits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
}
float TableEntry::scale() const { return BitsToFloat(bits()); }

std::string HexBits(uint32_t bits) {
  char buf[16];
  auto r = std::to_chars(buf, buf + sizeof buf, bits, 16);
  return std::string(buf, r.ptr);
}
std::string ShortestDecimal(float f) {
  if (std::isnan(f)) return "nan";
  if (std::isinf(f)) return f > 0 ? "inf" : "-inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, f);
  return std::string(buf, r.ptr);
}
std::string ShortestDecimal(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  return std::string(buf, r.ptr);
}
uint32_t ScaleBitsFromAmax(double amax) { return FloatToBits(static_cast<float>(amax / 127.0)); }
uint32_t ScaleBitsFromMultiplier(double m) { return FloatToBits(static_cast<float>(1.0 / m)); }
bool BitsAreNan(uint32_t b) { return (b & 0x7f800000u) == 0x7f800000u && (b & 0x007fffffu) != 0; }
bool BitsAreNegative(uint32_t b) { return (b & 0x80000000u) != 0; }

namespace {
uint32_t NameHash(std::string_view name) {
  return static_cast<uint32_t>(std::hash<std::string_view>{}(name));
}
}  // namespace

size_t CalibrationTable::Probe(std::string_view name, uint32_t hash) const {
  const size_t mask = slots_.size() - 1;
  for (size_t s = hash & mask;; s = (s + 1) & mask) {
    const Slot& slot = slots_[s];
    if (slot.position_plus_1 == 0) return s;
    if (slot.hash == hash && entries_[slot.position_plus_1 - 1].name == name) return s;
  }
}
void CalibrationTable::Rehash(size_t min_slots) {
  size_t n = 16;
  while (n < min_slots) n *= 2;
  if (n <= slots_.size()) return;
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(n, Slot{});
  for (const Slot& slot : old) {
    if (slot.position_plus_1 == 0) continue;
    size_t s = slot.hash & (n - 1);
    while (slots_[s].position_plus_1 != 0) s = (s + 1) & (n - 1);
    slots_[s] = slot;
  }
}
void CalibrationTable::Reserve(size_t n) {
  entries_.reserve(n);
  Rehash(2 * n);
}
void CalibrationTable::Append(TableEntry entry, size_t slot, uint32_t hash) {
  slots_[slot] = Slot{hash, static_cast<uint32_t>(entries_.size() + 1)};
  entries_.push_back(std::move(entry));
  if (2 * entries_.size() > slots_.size()) Rehash(2 * slots_.size());
}
int CalibrationTable::Find(std::string_view name) const {
  if (slots_.empty()) return -1;
  const Slot& slot = slots_[Probe(name, NameHash(name))];
  return slot.position_plus_1 == 0 ? -1 : static_cast<int>(slot.position_plus_1 - 1);
}
void CalibrationTable::Put(TableEntry entry) {
  if (slots_.empty()) Rehash(16);
  const uint32_t hash = NameHash(entry.name);
  const size_t s = Probe(entry.name, hash);
  if (slots_[s].position_plus_1 != 0) {
    entries_[slots_[s].position_plus_1 - 1] = std::move(entry);
    return;
  }
  Append(std::move(entry), s, hash);
}
void CalibrationTable::SetScaleBits(std::string_view name, uint32_t bits) {
  int i = Find(name);
  if (i < 0) {
    TableEntry e;
    e.name = std::string(name);
    e.scale_bits = {bits};
    Put(std::move(e));
    return;
  }
  auto& e = entries_[static_cast<size_t>(i)];
  e.scale_bits = {bits};
  e.kind = EntryKind::kActivation;
  e.source_text.clear();
}

// ---- shared text helpers -------------------------------------------------------------------

namespace codec {

bool LineCursor::Next(Line& line) {
  if (start_ >= bytes_.size()) return false;
  size_t nl = bytes_.find('\n', start_);
  bool last = nl == std::string_view::npos;
  line = Line{bytes_.substr(start_, last ? std::string_view::npos : nl - start_), number_++, false};
  if (!line.text.empty() && line.text.back() == '\r') {
    line.text.remove_suffix(1);
    line.had_cr = true;
    any_cr_ = true;
  }
  if (last) {
    final_newline_ = false;
    start_ = bytes_.size();
  } else {
    start_ = nl + 1;
  }
  return true;
}

size_t CountLines(std::string_view bytes) {
  size_t n = static_cast<size_t>(std::count(bytes.begin(), bytes.end(), '\n'));
  return !bytes.empty() && bytes.back() != '\n' ? n + 1 : n;
}

SplitText SplitLines(std::string_view bytes) {
  SplitText out;
  LineCursor cursor(bytes);
  Line line;
  while (cursor.Next(line)) out.lines.push_back(line);
  out.any_cr = cursor.any_cr();
  out.final_newline = cursor.final_newline();
  return out;
}

std::string Quote(std::string_view text) {
  std::string q = "'";
  size_t shown = 0;
  for (unsigned char c : text) {
    if (shown++ == 60) {
      q += "...";
      break;
    }
    if (c < 0x20 || c == 0x7f || c >= 0x80) {
      static const char* kHex = "0123456789abcdef";
      q += "\\x";
      q += kHex[c >> 4];
      q += kHex[c & 15];
    } else {
      q += static_cast<char>(c);
    }
  }
  return q + "'";
}

std::string Where(std::string_view file_name, int line) {
  std::string w = "table '" + std::string(file_name) + "': ";
  if (line > 0) w += "line " + std::to_string(line) + ": ";
  return w;
}

Status CheckText(std::string_view bytes, std::string_view file_name) {
  int line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c == '\n') {
      ++line;
      line_start = i + 1;
      continue;
    }
    if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f) {
      size_t end = bytes.find('\n', line_start);
      std::string_view text = bytes.substr(
          line_start, end == std::string_view::npos ? std::string_view::npos : end - line_start);
      return InvalidArgument(Where(file_name, line), "binary data (byte 0x", HexBits(c),
                             " at column ", i - line_start + 1,
                             "): expected a text calibration table, got ", Quote(text));
    }
  }
  return Status::Ok();
}

bool ParseDecimal(std::string_view token, double* out) {
  if (token.empty()) return false;
  std::string_view t = token;
  bool neg = false;
  if (t.front() == '+' || t.front() == '-') {
    neg = t.front() == '-';
    t.remove_prefix(1);
  }
  if (t == "inf" || t == "Inf" || t == "INF" || t == "infinity" || t == "Infinity") {
    *out = neg ? -INFINITY : INFINITY;
    return true;
  }
  if (t == "nan" || t == "NaN" || t == "NAN") {
    *out = NAN;
    return true;
  }
  if (t.empty() || !(std::isdigit(static_cast<unsigned char>(t.front())) || t.front() == '.'))
    return false;
  double v = 0;
  auto r = std::from_chars(t.data(), t.data() + t.size(), v, std::chars_format::general);
  if (r.ec == std::errc::result_out_of_range) {
    // from_chars reports overflow and denormal underflow; strtod gives the rounded value.
    v = std::strtod(std::string(t).c_str(), nullptr);
  } else if (r.ec != std::errc() || r.ptr != t.data() + t.size()) {
    return false;
  }
  *out = neg ? -v : v;
  return true;
}

void EntrySink::Warn(std::string message) {
  if (report_) report_->warnings.push_back(std::move(message));
}
void EntrySink::Note(std::string message) {
  if (report_) report_->notes.push_back(std::move(message));
}

Status EntrySink::Add(TableEntry entry) {
  // Messages are built only on the way out: this runs once per entry (300,000 in big caches).
  auto where = [&] { return Where(file_name_, entry.line); };
  auto what = [&] { return where() + "tensor '" + entry.name + "': "; };
  if (entry.name.empty())
    return InvalidArgument(where(), "empty tensor name: expected '<name>' before the value");
  for (uint32_t b : entry.scale_bits) {
    if (BitsAreNan(b)) {
      std::string m = what() + "scale is NaN (bits " + HexBits(b) + "): expected a finite scale";
      if (!options_.lenient) return InvalidArgument(m);
      Warn(m);
      break;
    }
    if (BitsAreNegative(b))
      return InvalidArgument(what(), "scale is negative (", ShortestDecimal(BitsToFloat(b)),
                             ", bits ", HexBits(b), "): expected a scale >= 0");
  }
  int prev = table_->Find(entry.name);
  if (prev >= 0) {
    std::string m = what() + "duplicate name (first on line " +
                    std::to_string(table_->entries()[static_cast<size_t>(prev)].line) + ")";
    if (!options_.lenient) return InvalidArgument(m, ": expected each tensor once");
    Warn(m + "; the later value is kept");
  }
  table_->Put(std::move(entry));
  return Status::Ok();
}

}  // namespace codec

// ---- detection and dispatch ---------------------------------------------------------------

Result<TableFormat> DetectFormat(std::string_view bytes, std::string_view file_name) {
  if (EndsWith(file_name, ".flatbuffers")) return TableFormat::kOrtFlatBuffers;
  std::string_view all = Trim(bytes);
  while (!all.empty() && (all.front() == '\n' || all.front() == ' ')) all.remove_prefix(1);
  if (all.empty())
    return InvalidArgument(codec::Where(file_name, 0),
                           "file is empty: expected a calibration table");
  if (all.front() == '{') {
    if (all.find("\"calib8.table\"") != std::string_view::npos) return TableFormat::kCalib8Json;
    return TableFormat::kOrtJson;
  }
  // Only the first line decides the common formats: no split of a large cache here.
  std::string_view first = Trim(bytes.substr(0, bytes.find('\n')));
  if (first.rfind("TRT", 0) == 0 || first.rfind("trt", 0) == 0) return TableFormat::kTensorRt;
  if (!first.empty() && first.find_first_not_of("0123456789") == std::string_view::npos)
    return TableFormat::kTensorRt;
  if (first.find(": ") != std::string_view::npos) return TableFormat::kTensorRt;  // no header
  size_t colon = first.rfind(':');
  if (colon != std::string_view::npos && first.find(' ', colon) == std::string_view::npos)
    return TableFormat::kRange;
  // `name value ...` text: ncnn multipliers or ONNX Runtime amax values.
  bool ncnn = EndsWith(file_name, ".table");
  bool ort = EndsWith(file_name, ".cache");
  codec::SplitText split = codec::SplitLines(bytes);
  for (const auto& l : split.lines) {
    std::string_view t = Trim(l.text);
    size_t sp = t.find(' ');
    if (sp == std::string_view::npos) continue;
    if (t.find(' ', t.find_first_not_of(' ', sp)) != std::string_view::npos ||
        t.substr(0, sp).find("_param_") != std::string_view::npos) {
      ncnn = true;
      ort = false;
      break;
    }
  }
  if (ncnn) return TableFormat::kNcnn;
  if (ort) return TableFormat::kOrtCache;
  if (first.find(' ') == std::string_view::npos) return TableFormat::kTensorRt;  // header check
  return InvalidArgument(codec::Where(file_name, 0),
                         "cannot tell an ncnn table (127/amax multipliers) from an ONNX Runtime "
                         "calibration.cache (amax values): pass --from ncnn or --from ort-cache");
}

Result<CalibrationTable> ParseTable(std::string_view bytes, std::string_view file_name,
                                    TableFormat format, const ReadOptions& options,
                                    ReadReport* report) {
  CalibrationTable table;
  table.header.source_format = format;
  codec::EntrySink sink(file_name, options, report, &table);
  if (format != TableFormat::kOrtFlatBuffers) {
    if (Trim(bytes).find_first_not_of("\n\r\t ") == std::string_view::npos)
      return InvalidArgument(codec::Where(file_name, 0), "file is empty: expected a ",
                             FormatTitle(format));
    CALIB8_RETURN_IF_ERROR(codec::CheckText(bytes, file_name));
  }
  switch (format) {
    case TableFormat::kTensorRt:
      CALIB8_RETURN_IF_ERROR(codec::ReadTensorRt(bytes, file_name, sink, table));
      break;
    case TableFormat::kNcnn:
      CALIB8_RETURN_IF_ERROR(codec::ReadNcnn(bytes, file_name, sink, table));
      break;
    case TableFormat::kRange:
      CALIB8_RETURN_IF_ERROR(codec::ReadRange(bytes, file_name, sink, table));
      break;
    case TableFormat::kOrtCache:
      CALIB8_RETURN_IF_ERROR(codec::ReadOrtCache(bytes, file_name, sink, table));
      break;
    case TableFormat::kOrtJson:
      CALIB8_RETURN_IF_ERROR(codec::ReadOrtJson(bytes, file_name, sink, table));
      break;
    case TableFormat::kOrtFlatBuffers:
      CALIB8_RETURN_IF_ERROR(codec::ReadOrtFlatBuffers(bytes, file_name, sink, table));
      break;
    case TableFormat::kCalib8Json:
      CALIB8_RETURN_IF_ERROR(codec::ReadCalib8Json(bytes, file_name, sink, table));
      break;
  }
  return table;
}

Result<std::string> SerializeTable(const CalibrationTable& table, TableFormat format,
                                   const WriteOptions& options, WriteReport* report) {
  switch (format) {
    case TableFormat::kTensorRt:
      return codec::WriteTensorRt(table, options, report);
    case TableFormat::kNcnn:
      return codec::WriteNcnn(table, report);
    case TableFormat::kRange:
      return codec::WriteRange(table, report);
    case TableFormat::kCalib8Json:
      return codec::WriteCalib8Json(table, report);
    default:
      return Unimplemented("writing the ", FormatTitle(format),
                           " format is not supported: calib8 reads it; write trt, json, ncnn or "
                           "range instead");
  }
}

Result<CalibrationTable> ReadTableFile(const std::string& path, const TableFormat* format,
                                       const ReadOptions& options, ReadReport* report,
                                       TableFormat* detected) {
  CALIB8_ASSIGN_OR_RETURN(std::string bytes, core::ReadFile(path, "table"));
  TableFormat f;
  if (format) {
    f = *format;
  } else {
    CALIB8_ASSIGN_OR_RETURN(f, DetectFormat(bytes, path));
  }
  if (detected) *detected = f;
  return ParseTable(bytes, path, f, options, report);
}

Status WriteTableFile(const CalibrationTable& table, const std::string& path, TableFormat format,
                      const WriteOptions& options, WriteReport* report) {
  CALIB8_ASSIGN_OR_RETURN(std::string bytes, SerializeTable(table, format, options, report));
  return core::WriteFileAtomic(path, bytes);
}

}  // namespace calib8::table
