// table/json_codecs.cc — the structured formats: calib8's own JSON table (read/write, exact:
// hex bits are authoritative, the shortest round-trip decimal sits beside them for people), and
// ONNX Runtime's calibration.json and calibration.flatbuffers (read). nlohmann::json exceptions
// are caught here and turned into Status; none leaves this file.
#include <nlohmann/json.hpp>
#include <string>

#include "table/codecs.h"

#if defined(CALIB8_HAVE_FLATBUFFERS)
#include <flatbuffers/flatbuffers.h>
#endif

namespace calib8::table::codec {

namespace {
using json = nlohmann::ordered_json;

constexpr const char* kCalib8Format = "calib8.table";
constexpr int kCalib8FormatVersion = 1;

Result<json> ParseJson(std::string_view bytes, std::string_view file_name) {
  try {
    return json::parse(bytes.begin(), bytes.end());
  } catch (const json::out_of_range& e) {  // a number too large for a double ("4e492")
    return InvalidArgument(Where(file_name, 0), "invalid JSON: ", e.what());
  } catch (const json::parse_error& e) {
    size_t byte = e.byte > 0 ? e.byte - 1 : 0;
    int line = 1;
    size_t line_start = 0;
    for (size_t i = 0; i < byte && i < bytes.size(); ++i)
      if (bytes[i] == '\n') ++line, line_start = i + 1;
    std::string_view near = bytes.substr(byte < bytes.size() ? byte : bytes.size(), 20);
    return InvalidArgument(Where(file_name, line), "invalid JSON at column ", byte - line_start + 1,
                           ": got ", Quote(near));
  }
}

std::string EntryWhere(std::string_view file_name, size_t index, const std::string& name) {
  return Where(file_name, 0) + "entry " + std::to_string(index + 1) +
         (name.empty() ? std::string() : " tensor '" + name + "'") + ": ";
}

// amax from ORT's value: [min, max], or a TensorData-style {"lowest": x, "highest": y} where x and
// y may be numbers, one-element lists, or {"data": ...} objects (newer writers).
bool OrtNumber(const json& v, double* out) {
  if (v.is_number()) {
    *out = v.get<double>();
    return true;
  }
  if (v.is_array() && v.size() == 1) return OrtNumber(v[0], out);
  if (v.is_object() && v.contains("data")) return OrtNumber(v["data"], out);
  return false;
}
bool OrtMinMax(const json& v, double* lo, double* hi) {
  if (v.is_array() && v.size() == 2) return OrtNumber(v[0], lo) && OrtNumber(v[1], hi);
  if (v.is_object() && v.contains("lowest") && v.contains("highest"))
    return OrtNumber(v["lowest"], lo) && OrtNumber(v["highest"], hi);
  return false;
}

Result<uint32_t> ParseHexField(const json& v, const std::string& where) {
  if (!v.is_string()) return InvalidArgument(where, "expected \"bits\" as a hex string");
  std::string s = v.get<std::string>();
  if (s.empty() || s.size() > 8 ||
      s.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
    return InvalidArgument(where, "expected up to 8 hex digits in \"bits\", got ", Quote(s));
  return static_cast<uint32_t>(std::stoul(s, nullptr, 16));
}

}  // namespace

Status ReadOrtJson(std::string_view bytes, std::string_view file_name, EntrySink& sink,
                   CalibrationTable& table) {
  CALIB8_ASSIGN_OR_RETURN(json doc, ParseJson(bytes, file_name));
  table.header.source_format = TableFormat::kOrtJson;
  if (!doc.is_object())
    return InvalidArgument(Where(file_name, 1),
                           "expected a JSON object mapping tensor names to [min, max]");
  size_t index = 0;
  for (auto it = doc.begin(); it != doc.end(); ++it, ++index) {
    double lo = 0, hi = 0;
    std::string where = EntryWhere(file_name, index, it.key());
    if (!OrtMinMax(it.value(), &lo, &hi))
      return InvalidArgument(where, "expected [min, max] or {\"lowest\", \"highest\"}, got ",
                             Quote(it.value().dump()));
    TableEntry e;
    e.name = it.key();
    e.scale_bits = {ScaleBitsFromAmax(std::max(std::fabs(lo), std::fabs(hi)))};
    e.source_format = TableFormat::kOrtJson;
    CALIB8_RETURN_IF_ERROR(sink.Add(std::move(e)));
  }
  return Status::Ok();
}

}  // namespace calib8::table::codec

namespace calib8::table {
bool CanReadOrtFlatBuffers() {
#if defined(CALIB8_HAVE_FLATBUFFERS)
  return true;
#else
  return false;
#endif
}
}  // namespace calib8::table

namespace calib8::table::codec {

Status ReadOrtFlatBuffers(std::string_view bytes, std::string_view file_name, EntrySink& sink,
                          CalibrationTable& table) {
  table.header.source_format = TableFormat::kOrtFlatBuffers;
#if defined(CALIB8_HAVE_FLATBUFFERS)
  // Schema (onnxruntime TrtTable): table TrtTable { dict: [KeyValue]; }
  //                                table KeyValue { key: string; value: string; }
  // Field 0 sits at vtable offset 4, field 1 at 6.
  const auto* buf = reinterpret_cast<const uint8_t*>(bytes.data());
  std::string bad = Where(file_name, 0) + "not a valid ONNX Runtime TrtTable flatbuffer";
  if (bytes.size() < 8) return InvalidArgument(bad, ": only ", bytes.size(), " bytes");
  flatbuffers::Verifier verifier(buf, bytes.size());
  if (!verifier.VerifyOffset(0)) return InvalidArgument(bad, ": root offset out of range");
  const auto* root = flatbuffers::GetRoot<flatbuffers::Table>(buf);
  if (!root->VerifyTableStart(verifier) || !root->VerifyOffset(verifier, 4))
    return InvalidArgument(bad, ": root table is corrupt");
  using Dict = flatbuffers::Vector<flatbuffers::Offset<flatbuffers::Table>>;
  const auto* dict = root->GetPointer<const Dict*>(4);
  if (dict == nullptr) return InvalidArgument(bad, ": no 'dict' vector");
  if (!verifier.VerifyVector(dict)) return InvalidArgument(bad, ": 'dict' vector out of range");
  for (flatbuffers::uoffset_t i = 0; i < dict->size(); ++i) {
    const flatbuffers::Table* kv = dict->Get(i);
    if (!kv->VerifyTableStart(verifier) || !kv->VerifyOffset(verifier, 4) ||
        !kv->VerifyOffset(verifier, 6))
      return InvalidArgument(bad, ": entry ", i + 1, " is corrupt");
    const auto* key = kv->GetPointer<const flatbuffers::String*>(4);
    const auto* value = kv->GetPointer<const flatbuffers::String*>(6);
    if (!key || !value || !verifier.VerifyString(key) || !verifier.VerifyString(value))
      return InvalidArgument(bad, ": entry ", i + 1, " has no key or value string");
    verifier.EndTable();
    std::string name = key->str();
    std::string text = value->str();
    std::string where = EntryWhere(file_name, i, name);
    double amax = 0;
    if (!ParseDecimal(text, &amax))
      return InvalidArgument(where, "expected a decimal amax, got ", Quote(text));
    if (amax < 0) return InvalidArgument(where, "amax ", Quote(text), " is negative");
    TableEntry e;
    e.name = std::move(name);
    e.scale_bits = {ScaleBitsFromAmax(amax)};
    e.source_text = {text};
    e.source_format = TableFormat::kOrtFlatBuffers;
    CALIB8_RETURN_IF_ERROR(sink.Add(std::move(e)));
  }
  verifier.EndTable();
  return Status::Ok();
#else
  return Unimplemented(Where(file_name, 0),
                       "this calib8 was built without FlatBuffers (Debian: libflatbuffers-dev), "
                       "so calibration.flatbuffers cannot be read; ONNX Runtime writes the same "
                       "values to calibration.json and calibration.cache beside it: read one of "
                       "those");
#endif
}

Status ReadCalib8Json(std::string_view bytes, std::string_view file_name, EntrySink& sink,
                      CalibrationTable& table) {
  CALIB8_ASSIGN_OR_RETURN(json doc, ParseJson(bytes, file_name));
  std::string top = Where(file_name, 0);
  try {  // value() throws on a field of another type ({"format": 1}): caught below
    if (!doc.is_object() || doc.value("format", "") != kCalib8Format)
      return InvalidArgument(top, "expected a JSON object with \"format\": \"", kCalib8Format,
                             "\"");
    if (doc.value("format_version", 0) != kCalib8FormatVersion)
      return InvalidArgument(top, "format_version ", doc.value("format_version", 0),
                             " is not supported: expected ", kCalib8FormatVersion);
    const json& h = doc.at("header");
    TableHeader& th = table.header;
    CALIB8_ASSIGN_OR_RETURN(th.source_format,
                            ParseFormatName(h.value("source_format", std::string("json"))));
    th.raw = h.value("raw", std::string());
    th.writer_version = h.value("writer_version", int64_t{0});
    th.algorithm = h.value("algorithm", std::string());
    th.legacy_header = h.value("legacy_header", false);
    const json& entries = doc.at("entries");
    if (!entries.is_array()) return InvalidArgument(top, "expected \"entries\" to be an array");
    for (size_t i = 0; i < entries.size(); ++i) {
      const json& je = entries[i];
      std::string name = je.is_object() ? je.value("name", std::string()) : std::string();
      std::string where = EntryWhere(file_name, i, name);
      if (!je.is_object() || !je.contains("bits"))
        return InvalidArgument(where, "expected an object with \"name\" and \"bits\"");
      TableEntry e;
      e.name = name;
      e.line = 0;
      std::string kind = je.value("kind", std::string("activation"));
      if (kind == "weight")
        e.kind = EntryKind::kWeight;
      else if (kind != "activation")
        return InvalidArgument(where, "kind ", Quote(kind), ": expected activation or weight");
      const json& jb = je["bits"];
      std::vector<json> bits_list =
          jb.is_array() ? jb.get<std::vector<json>>() : std::vector<json>{jb};
      if (bits_list.empty()) return InvalidArgument(where, "\"bits\" is empty");
      if (e.kind == EntryKind::kActivation && bits_list.size() != 1)
        return InvalidArgument(where, "expected one \"bits\" value for an activation, got ",
                               bits_list.size());
      for (const auto& b : bits_list) {
        CALIB8_ASSIGN_OR_RETURN(uint32_t bits, ParseHexField(b, where));
        e.scale_bits.push_back(bits);
      }
      // The decimal is for people; when present it must agree with the bits.
      if (je.contains("scale")) {
        const json& js = je["scale"];
        std::vector<json> sl = js.is_array() ? js.get<std::vector<json>>() : std::vector<json>{js};
        for (size_t k = 0; k < sl.size() && k < e.scale_bits.size(); ++k) {
          if (!sl[k].is_number()) continue;  // "inf" / "nan" are strings
          float f = static_cast<float>(sl[k].get<double>());
          if (FloatToBits(f) != e.scale_bits[k])
            return InvalidArgument(where, "scale ", sl[k].dump(), " disagrees with bits ",
                                   HexBits(e.scale_bits[k]), " (",
                                   ShortestDecimal(BitsToFloat(e.scale_bits[k])),
                                   "): edit both or drop \"scale\"");
        }
      }
      if (je.contains("source")) {
        const json& src = je["source"];
        auto f = ParseFormatName(src.value("format", std::string()));
        if (f.ok() && src.contains("text") && src["text"].is_array()) {
          e.source_format = *f;
          for (const auto& t : src["text"])
            if (t.is_string()) e.source_text.push_back(t.get<std::string>());
        }
      }
      CALIB8_RETURN_IF_ERROR(sink.Add(std::move(e)));
    }
  } catch (const json::exception& e) {
    return InvalidArgument(top, "malformed calib8 JSON table: ", e.what());
  }
  return Status::Ok();
}

// JSON text of `j`, or an error when a string in it is not UTF-8 (JSON cannot hold it, and
// replacing bytes would lose them).
Result<std::string> Dump(const json& j, const std::string& what) {
  try {
    return j.dump();
  } catch (const json::type_error&) {
    return InvalidArgument(what,
                           " is not valid UTF-8, which a JSON table cannot hold; write trt, "
                           "ncnn or range instead");
  }
}

Result<std::string> WriteCalib8Json(const CalibrationTable& table, WriteReport* report) {
  const TableHeader& h = table.header;
  json header = {{"source_format", FormatName(h.source_format)},
                 {"raw", h.raw},
                 {"writer_version", h.writer_version},
                 {"algorithm", h.algorithm},
                 {"legacy_header", h.legacy_header}};
  CALIB8_ASSIGN_OR_RETURN(std::string header_text, Dump(header, "the header " + Quote(h.raw)));
  std::string out = "{\n  \"format\": \"" + std::string(kCalib8Format) +
                    "\",\n  \"format_version\": " + std::to_string(kCalib8FormatVersion) +
                    ",\n  \"header\": " + header_text + ",\n  \"entries\": [";
  auto number = [](float f) {
    std::string d = ShortestDecimal(f);
    return std::isfinite(f) ? d : "\"" + d + "\"";
  };
  bool first = true;
  for (const auto& e : table.entries()) {
    out += first ? "\n    " : ",\n    ";
    first = false;
    // Names go through the JSON library so every byte is escaped correctly.
    CALIB8_ASSIGN_OR_RETURN(std::string name, Dump(json(e.name), "tensor " + Quote(e.name)));
    std::string line = "{\"name\": " + name;
    bool weight = e.kind == EntryKind::kWeight;
    if (weight) line += ", \"kind\": \"weight\"";
    std::string bits, scale, amax;
    for (size_t k = 0; k < e.scale_bits.size(); ++k) {
      float s = BitsToFloat(e.scale_bits[k]);
      std::string sep = k ? ", " : "";
      bits += sep + "\"" + HexBits(e.scale_bits[k]) + "\"";
      scale += sep + number(s);
      amax += sep + number(127.0f * s);
    }
    if (weight || e.scale_bits.size() != 1)
      bits = "[" + bits + "]", scale = "[" + scale + "]", amax = "[" + amax + "]";
    line += ", \"bits\": " + bits + ", \"scale\": " + scale + ", \"amax\": " + amax;
    if (!e.source_text.empty() && e.source_text.size() == e.scale_bits.size()) {
      CALIB8_ASSIGN_OR_RETURN(std::string src, Dump(json{{"format", FormatName(e.source_format)},
                                                         {"text", e.source_text}},
                                                    "tensor " + Quote(e.name) + ": source text"));
      line += ", \"source\": " + src;
    }
    out += line + "}";
  }
  out += first ? "]\n}\n" : "\n  ]\n}\n";
  return out;
}

}  // namespace calib8::table::codec
