// table/text_codecs.cc — the decimal text formats: ncnn int8 tables (read/write), the
// sampleINT8API dynamic-range file (read/write) and ONNX Runtime's calibration.cache (read).
// Each value becomes the nearest float32 scale once, on reading; the source text is kept so the
// same format is written back exactly as it was read.
//
//   ncnn:       conv1_param_0 187.25 246.40 ...   (weights, per output channel, 127/amax each)
//               conv1 0.84167606461               (activation multiplier 127/amax)
//   range:      input.1:1.0002                    (amax itself; split at the last ':')
//   ort-cache:  resnetv24_conv0_fwd 31.4589       (amax, Python str(float))
#include <string>
#include <vector>

#include "table/codecs.h"

namespace calib8::table::codec {

namespace {

std::vector<std::string_view> Tokens(std::string_view t) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < t.size()) {
    while (i < t.size() && (t[i] == ' ' || t[i] == '\t')) ++i;
    size_t start = i;
    while (i < t.size() && t[i] != ' ' && t[i] != '\t') ++i;
    if (i > start) out.push_back(t.substr(start, i - start));
  }
  return out;
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsWeightName(std::string_view name) {
  return name.size() > 8 && name.substr(name.size() - 8) == "_param_0";
}

// Blank lines end the data: ncnn's reader stops there; the others have no use for them either.
// Returns false (stop) for ncnn, or an error / warning for the strict formats.
Status BlankLine(const Line& line, std::string_view file_name, std::string_view expected,
                 EntrySink& sink) {
  std::string m = Where(file_name, line.number) + "empty line: expected " + std::string(expected);
  if (!sink.lenient()) return InvalidArgument(m);
  sink.Warn(m + "; skipped");
  return Status::Ok();
}

bool TrailingBlanksOnly(const SplitText& split, size_t from) {
  for (size_t i = from; i < split.lines.size(); ++i)
    if (!TrimSpaces(split.lines[i].text).empty()) return false;
  return true;
}

}  // namespace

Status ReadNcnn(std::string_view bytes, std::string_view file_name, EntrySink& sink,
                CalibrationTable& table) {
  SplitText split = SplitLines(bytes);
  table.header.source_format = TableFormat::kNcnn;
  for (size_t i = 0; i < split.lines.size(); ++i) {
    const Line& line = split.lines[i];
    if (TrimSpaces(line.text).empty()) {
      if (!TrailingBlanksOnly(split, i))
        sink.Warn(Where(file_name, line.number) +
                  "empty line: ncnn stops reading here, so the lines after it are ignored");
      break;
    }
    auto tokens = Tokens(line.text);
    std::string name(tokens.front());
    std::string what = Where(file_name, line.number) + "tensor '" + name + "': ";
    if (tokens.size() < 2)
      return InvalidArgument(what, "expected '<name> <multiplier> ...', got ", Quote(line.text));
    TableEntry e;
    e.name = name;
    e.kind = IsWeightName(name) ? EntryKind::kWeight : EntryKind::kActivation;
    e.source_format = TableFormat::kNcnn;
    e.line = line.number;
    for (size_t k = 1; k < tokens.size(); ++k) {
      double m = 0;
      if (!ParseDecimal(tokens[k], &m))
        return InvalidArgument(what, "expected a decimal multiplier (127/amax), got ",
                               Quote(tokens[k]));
      if (m < 0)
        return InvalidArgument(what, "multiplier ", Quote(tokens[k]),
                               " is negative: expected 127/amax >= 0");
      e.scale_bits.push_back(ScaleBitsFromMultiplier(m));
      e.source_text.emplace_back(tokens[k]);
    }
    if (e.kind == EntryKind::kActivation && e.scale_bits.size() > 1)
      return InvalidArgument(what,
                             "expected one multiplier for an activation (only '_param_0' "
                             "weight lines hold one per channel), got ",
                             e.scale_bits.size());
    CALIB8_RETURN_IF_ERROR(sink.Add(std::move(e)));
  }
  return Status::Ok();
}

Result<std::string> WriteNcnn(const CalibrationTable& table, WriteReport* report) {
  std::string out;
  for (const auto& e : table.entries()) {
    if (e.name.find_first_of(" \t\r\n") != std::string::npos)
      return InvalidArgument("tensor ", Quote(e.name),
                             ": ncnn tables separate fields with spaces, so a name with a space "
                             "or line break cannot be written");
    bool keep =
        e.source_format == TableFormat::kNcnn && e.source_text.size() == e.scale_bits.size();
    out += e.name;
    for (size_t k = 0; k < e.scale_bits.size(); ++k) {
      out += ' ';
      if (keep) {
        out += e.source_text[k];
        continue;
      }
      double scale = BitsToFloat(e.scale_bits[k]);
      // 1/scale printed shortest: reading it back and inverting again gives the same float scale.
      out += scale == 0 ? std::string("inf") : ShortestDecimal(1.0 / scale);
    }
    out += '\n';
  }
  return out;
}

Status ReadRange(std::string_view bytes, std::string_view file_name, EntrySink& sink,
                 CalibrationTable& table) {
  SplitText split = SplitLines(bytes);
  table.header.source_format = TableFormat::kRange;
  for (size_t i = 0; i < split.lines.size(); ++i) {
    const Line& line = split.lines[i];
    if (TrimSpaces(line.text).empty()) {
      if (TrailingBlanksOnly(split, i)) break;
      CALIB8_RETURN_IF_ERROR(BlankLine(line, file_name, "'<name>:<range>'", sink));
      continue;
    }
    size_t colon = line.text.rfind(':');
    if (colon == std::string_view::npos)
      return InvalidArgument(Where(file_name, line.number), "expected '<name>:<range>', got ",
                             Quote(line.text));
    std::string name(line.text.substr(0, colon));
    std::string_view value = TrimSpaces(line.text.substr(colon + 1));
    std::string what = Where(file_name, line.number) + "tensor '" + name + "': ";
    double r = 0;
    if (!ParseDecimal(value, &r))
      return InvalidArgument(what, "expected a decimal range (amax), got ", Quote(value));
    if (r < 0)
      return InvalidArgument(what, "range ", Quote(value), " is negative: expected amax >= 0");
    TableEntry e;
    e.name = std::move(name);
    e.scale_bits = {ScaleBitsFromAmax(r)};
    e.source_text = {std::string(value)};
    e.source_format = TableFormat::kRange;
    e.line = line.number;
    CALIB8_RETURN_IF_ERROR(sink.Add(std::move(e)));
  }
  return Status::Ok();
}

Result<std::string> WriteRange(const CalibrationTable& table, WriteReport* report) {
  std::string out;
  int weights = 0;
  for (const auto& e : table.entries()) {
    if (e.kind == EntryKind::kWeight) {
      ++weights;
      continue;
    }
    if (e.name.find_first_of(":\r\n") != std::string::npos)
      return InvalidArgument("tensor ", Quote(e.name),
                             ": sampleINT8API splits each line at the first ':', so a name with "
                             "':' or a line break cannot be written to a dynamic-range file");
    out += e.name;
    out += ':';
    if (e.source_format == TableFormat::kRange && e.source_text.size() == 1) {
      out += e.source_text[0];
    } else {
      // 127 * a float32 is exact in double, and dividing it by 127 again gives the float back.
      out += ShortestDecimal(127.0 * static_cast<double>(e.scale()));
    }
    out += '\n';
  }
  if (weights && report)
    report->warnings.push_back(std::to_string(weights) +
                               " per-channel weight entries left out: a dynamic-range file holds "
                               "activation ranges only");
  return out;
}

Status ReadOrtCache(std::string_view bytes, std::string_view file_name, EntrySink& sink,
                    CalibrationTable& table) {
  SplitText split = SplitLines(bytes);
  table.header.source_format = TableFormat::kOrtCache;
  for (size_t i = 0; i < split.lines.size(); ++i) {
    const Line& line = split.lines[i];
    std::string_view t = TrimSpaces(line.text);
    if (t.empty()) {
      if (TrailingBlanksOnly(split, i)) break;
      CALIB8_RETURN_IF_ERROR(BlankLine(line, file_name, "'<name> <amax>'", sink));
      continue;
    }
    size_t sp = t.find_last_of(" \t");
    if (sp == std::string_view::npos)
      return InvalidArgument(Where(file_name, line.number), "expected '<name> <amax>', got ",
                             Quote(t));
    std::string name(TrimSpaces(t.substr(0, sp)));
    std::string_view value = t.substr(sp + 1);
    std::string what = Where(file_name, line.number) + "tensor '" + name + "': ";
    double amax = 0;
    if (!ParseDecimal(value, &amax))
      return InvalidArgument(what, "expected a decimal amax, got ", Quote(value));
    if (amax < 0)
      return InvalidArgument(what, "amax ", Quote(value),
                             " is negative (newer ONNX Runtime writes max(highest, lowest), not "
                             "an absolute value): expected amax >= 0");
    TableEntry e;
    e.name = std::move(name);
    e.scale_bits = {ScaleBitsFromAmax(amax)};
    e.source_text = {std::string(value)};
    e.source_format = TableFormat::kOrtCache;
    e.line = line.number;
    CALIB8_RETURN_IF_ERROR(sink.Add(std::move(e)));
  }
  return Status::Ok();
}

}  // namespace calib8::table::codec
