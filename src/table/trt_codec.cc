// table/trt_codec.cc — the TensorRT calibration cache, read and written byte-exact.
//
//   TRT-8601-EntropyCalibration2          <- header: TRT-<NV_TENSORRT_VERSION>-<algorithm>, or `1`
//   input.1: 3c010a14                     <- <name>: <float32 bits of scale, lowercase, unpadded>
//   ssd/conv:0: 280de15b                  <- names may hold ':', so split at the LAST ": "
//
// Accepted beyond that: CR LF, a missing final newline, 1-8 hex digits in either case.
// Written: the canonical form above with LF and a final newline, which is what TensorRT writes,
// so an unmodified TensorRT-written table comes back byte-identical.
#include <string>

#include "table/codecs.h"

namespace calib8::table::codec {

namespace {

bool IsHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
uint32_t HexValue(char c) {
  if (c <= '9') return static_cast<uint32_t>(c - '0');
  if (c >= 'a') return static_cast<uint32_t>(c - 'a' + 10);
  return static_cast<uint32_t>(c - 'A' + 10);
}

// Parses `TRT-<digits>-<Algorithm>` or `1` into `header`.
Status ParseHeader(const Line& line, std::string_view file_name, bool lenient, EntrySink& sink,
                   TableHeader& header) {
  std::string_view t = line.text;
  header.raw = std::string(t);
  if (t == "1") {
    header.legacy_header = true;
    header.algorithm = "EntropyCalibration";
    return Status::Ok();
  }
  auto bad = [&](const std::string& why) {
    std::string hint;
    if (t.find(": ") != std::string_view::npos)
      hint = " (this looks like an entry: the header line is missing)";
    return InvalidArgument(Where(file_name, line.number), "wrong header", why,
                           ": expected 'TRT-<version>-<Algorithm>' or '1', got ", Quote(t), hint);
  };
  if (t.substr(0, 4) != "TRT-") return bad("");
  std::string_view rest = t.substr(4);
  size_t dash = rest.find('-');
  if (dash == std::string_view::npos || dash == 0) return bad("");
  std::string_view digits = rest.substr(0, dash);
  if (digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string_view::npos)
    return bad(" (version '" + std::string(digits) + "' is not a number)");
  header.writer_version = std::stoll(std::string(digits));
  header.algorithm = std::string(rest.substr(dash + 1));
  if (header.algorithm.empty()) return bad(" (no algorithm)");
  for (char c : header.algorithm)
    if (!std::isalnum(static_cast<unsigned char>(c)))
      return bad(" (algorithm has '" + std::string(1, c) + "')");
  if (!IsKnownTrtAlgorithm(header.algorithm)) {
    std::string m = Where(file_name, line.number) + "unknown calibration algorithm '" +
                    header.algorithm +
                    "': expected EntropyCalibration2, EntropyCalibration, MinMaxCalibration or "
                    "LegacyCalibration";
    if (!lenient) return InvalidArgument(m);
    sink.Warn(m);
  }
  return Status::Ok();
}

}  // namespace

Status ReadTensorRt(std::string_view bytes, std::string_view file_name, EntrySink& sink,
                    CalibrationTable& table) {
  LineCursor lines(bytes);
  Line line;
  lines.Next(line);  // DetectFormat / ParseTable refuse empty files
  // --lenient relaxes duplicates, NaN, blank lines and unknown algorithms, nothing else.
  const bool lenient = sink.lenient();
  CALIB8_RETURN_IF_ERROR(ParseHeader(line, file_name, lenient, sink, table.header));
  table.header.source_format = TableFormat::kTensorRt;
  table.Reserve(CountLines(bytes) - 1);
  int non_canonical = 0;
  while (lines.Next(line)) {
    std::string_view t = line.text;
    if (t.empty()) {
      std::string m = Where(file_name, line.number) + "empty line: expected '<name>: <hex>'";
      if (!lenient) return InvalidArgument(m);
      sink.Warn(m + "; skipped");
      continue;
    }
    size_t sep = t.rfind(": ");
    if (sep == std::string_view::npos)
      return InvalidArgument(Where(file_name, line.number),
                             "expected '<name>: <hex>' (split at the last ': '), got ", Quote(t));
    std::string_view name = t.substr(0, sep);
    std::string_view hex = t.substr(sep + 2);
    // Built only for a message (once per line would dominate big caches).
    auto what = [&] {
      return Where(file_name, line.number) + "tensor '" + std::string(name) + "': ";
    };
    if (hex.empty())
      return InvalidArgument(what(), "expected 1 to 8 hex digits after ': ', got nothing");
    for (char c : hex)
      if (!IsHexDigit(c))
        return InvalidArgument(what(), "expected up to 8 hex digits, got ", Quote(hex));
    if (hex.size() > 8)
      return InvalidArgument(what(), "expected up to 8 hex digits, got ", hex.size(), " digits ",
                             Quote(hex));
    uint32_t bits = 0;
    bool canonical = hex.size() == 1 || hex.front() != '0';
    for (char c : hex) {
      bits = bits * 16 + HexValue(c);
      if (c >= 'A' && c <= 'F') canonical = false;
    }
    if (!canonical) ++non_canonical;
    TableEntry e;
    e.name = std::string(name);
    e.scale_bits = {bits};
    e.line = line.number;
    CALIB8_RETURN_IF_ERROR(sink.Add(std::move(e)));
  }
  if (lines.any_cr()) sink.Note("CR LF line endings: written back with LF");
  if (!lines.final_newline()) sink.Note("no newline after the last line: written back with one");
  if (non_canonical)
    sink.Note(std::to_string(non_canonical) +
              " values are zero-padded or uppercase: written back lowercase and unpadded");
  return Status::Ok();
}

Result<std::string> WriteTensorRt(const CalibrationTable& table, const WriteOptions& options,
                                  WriteReport* report) {
  const TableHeader& h = table.header;
  bool from_trt = h.source_format == TableFormat::kTensorRt && !h.raw.empty();
  std::string header;
  if (options.trt_version == 0 && options.algorithm.empty() && from_trt) {
    header = h.raw;
  } else {
    int64_t version = options.trt_version;
    if (version == 0)
      version = from_trt && !h.legacy_header ? h.writer_version : kDefaultTrtVersion;
    if (version == 1) {
      header = "1";
    } else {
      std::string algorithm = options.algorithm;
      if (algorithm.empty())
        algorithm = !h.algorithm.empty() && !h.legacy_header ? h.algorithm : "EntropyCalibration2";
      if (!IsKnownTrtAlgorithm(algorithm))
        return InvalidArgument("unknown calibration algorithm '", algorithm,
                               "': expected EntropyCalibration2, EntropyCalibration, "
                               "MinMaxCalibration or LegacyCalibration");
      if (version < 0) return InvalidArgument("TensorRT version ", version, " is negative");
      header = "TRT-" + std::to_string(version) + "-" + algorithm;
    }
  }
  size_t total = header.size() + 1;
  for (const auto& e : table.entries()) total += e.name.size() + 11;  // ": " + <= 8 hex + LF
  std::string out;
  out.reserve(total);
  out += header;
  out += '\n';
  int weights = 0;
  for (const auto& e : table.entries()) {
    if (e.kind == EntryKind::kWeight) {
      ++weights;
      continue;
    }
    if (e.name.find_first_of("\r\n") != std::string::npos)
      return InvalidArgument("tensor ", Quote(e.name),
                             ": a name with a line break cannot be written to a TensorRT cache");
    out += e.name;
    out += ": ";
    out += HexBits(e.bits());
    out += '\n';
  }
  if (weights && report)
    report->warnings.push_back(std::to_string(weights) +
                               " per-channel weight entries left out: a TensorRT cache holds "
                               "activation scales only (TensorRT quantizes weights itself)");
  return out;
}

}  // namespace calib8::table::codec
