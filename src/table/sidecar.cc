// table/sidecar.cc — sidecar JSON read/write (nlohmann::json, exceptions caught here) and the
// reuse decision. Floats: amax is stored as a shortest decimal *and* its float32 bits so that it
// survives exactly; min/max/absmax are doubles, which nlohmann prints round-trip exactly.
#include "table/sidecar.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "core/file_util.h"
#include "table/calibration_table.h"
#include "table/fingerprint.h"

namespace calib8::table {

namespace {
using json = nlohmann::ordered_json;
constexpr const char* kSidecarFormat = "calib8.sidecar";
}  // namespace

std::string SidecarPathFor(const std::string& table_path) { return table_path + ".calib8.json"; }

std::string SerializeSidecar(const Sidecar& s) {
  json j;
  j["format"] = kSidecarFormat;
  j["format_version"] = kSidecarFormatVersion;
  j["calib8_version"] = s.calib8_version;
  j["table"] = {{"file", s.table_file}, {"fingerprint", s.table_fingerprint}};
  j["method"] = {{"name", s.method.name}, {"parameters", s.method.parameters}};
  j["model"] = {{"file", s.model_file}, {"fingerprint", s.model_fingerprint}};
  j["data"] = {{"fingerprint", s.data.fingerprint},
               {"num_samples", s.data.num_samples},
               {"preprocessing", s.data.preprocessing},
               {"source", s.data.source}};
  j["tensors"] = json::array();
  for (const auto& t : s.tensors) {
    json jt = {{"name", t.name},
               {"min", t.min},
               {"max", t.max},
               {"absmax", t.absmax},
               {"amax", ShortestDecimal(t.amax)},
               {"amax_bits", HexBits(FloatToBits(t.amax))},
               {"sample_count", t.sample_count}};
    if (!t.histogram.empty())
      jt["histogram"] = {{"range", t.histogram_range}, {"counts", t.histogram}};
    if (t.has_range)
      jt["asym"] = {{"lo", ShortestDecimal(t.lo)},
                    {"lo_bits", HexBits(FloatToBits(t.lo))},
                    {"hi", ShortestDecimal(t.hi)},
                    {"hi_bits", HexBits(FloatToBits(t.hi))}};
    j["tensors"].push_back(jt);
  }
  j["weights"] = json::array();
  for (const auto& w : s.weights) {
    json bits = json::array();
    for (float f : w.scales) bits.push_back(HexBits(FloatToBits(f)));
    j["weights"].push_back({{"name", w.name}, {"axis", w.axis}, {"scale_bits", bits}});
  }
  return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

namespace {
// nlohmann converts a float to an integer with a plain cast (undefined for 1e55, found by
// fuzz_stats in the statistics file) and truncates 2.5: integers are read through these, which
// throw for anything but a JSON integer that fits int64_t. ParseSidecar turns the throw into
// "malformed sidecar: ...".
int64_t Integer(const json& v, const char* field) {
  if (v.is_number_integer() && !(v.is_number_unsigned() && v.get<uint64_t>() > uint64_t{INT64_MAX}))
    return v.get<int64_t>();
  throw std::invalid_argument(std::string(field) + " is " + v.dump() + ": expected an integer");
}
int64_t IntegerField(const json& object, const char* field) {
  auto it = object.find(field);
  return it == object.end() ? 0 : Integer(*it, field);
}
}  // namespace

Result<Sidecar> ParseSidecar(std::string_view bytes, std::string_view file_name) {
  std::string where = "sidecar '" + std::string(file_name) + "': ";
  json j;
  try {
    j = json::parse(bytes.begin(), bytes.end());
  } catch (const json::parse_error& e) {
    return InvalidArgument(where, "invalid JSON at byte ", e.byte);
  } catch (const json::exception& e) {  // a number too large for a double
    return InvalidArgument(where, "invalid JSON: ", e.what());
  }
  // value() throws when the field has another type ({"format": 1}, found by fuzz_sidecar).
  auto text = [&j](const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  auto number = [&j](const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : int64_t{0};
  };
  if (!j.is_object() || text("format") != kSidecarFormat)
    return InvalidArgument(where, "expected a JSON object with \"format\": \"", kSidecarFormat,
                           "\"");
  if (number("format_version") != kSidecarFormatVersion)
    return InvalidArgument(where, "format_version ", number("format_version"),
                           " is not supported: expected ", kSidecarFormatVersion);
  Sidecar s;
  try {
    s.calib8_version = j.value("calib8_version", std::string());
    if (j.contains("table")) {
      s.table_file = j["table"].value("file", std::string());
      s.table_fingerprint = j["table"].value("fingerprint", std::string());
    }
    if (j.contains("method")) {
      s.method.name = j["method"].value("name", std::string());
      if (j["method"].contains("parameters"))
        for (auto& [k, v] : j["method"]["parameters"].items())
          s.method.parameters[k] = v.is_string() ? v.get<std::string>() : v.dump();
    }
    if (j.contains("model")) {
      s.model_file = j["model"].value("file", std::string());
      s.model_fingerprint = j["model"].value("fingerprint", std::string());
    }
    if (j.contains("data")) {
      const json& d = j["data"];
      s.data.fingerprint = d.value("fingerprint", std::string());
      s.data.num_samples = IntegerField(d, "num_samples");
      s.data.preprocessing = d.value("preprocessing", std::string());
      s.data.source = d.value("source", std::string());
    }
    for (const auto& jt : j.value("tensors", json::array())) {
      TensorStatistics t;
      t.name = jt.at("name").get<std::string>();
      t.min = jt.value("min", 0.0);
      t.max = jt.value("max", 0.0);
      t.absmax = jt.value("absmax", 0.0);
      if (jt.contains("amax_bits"))
        t.amax = BitsToFloat(
            static_cast<uint32_t>(std::stoul(jt["amax_bits"].get<std::string>(), nullptr, 16)));
      t.sample_count = IntegerField(jt, "sample_count");
      if (jt.contains("histogram")) {
        t.histogram_range = jt["histogram"].value("range", 0.0);
        for (const auto& c : jt["histogram"].at("counts"))
          t.histogram.push_back(Integer(c, "histogram count"));
      }
      if (jt.contains("asym")) {
        const auto& a = jt["asym"];
        t.has_range = true;
        t.lo = BitsToFloat(
            static_cast<uint32_t>(std::stoul(a.at("lo_bits").get<std::string>(), nullptr, 16)));
        t.hi = BitsToFloat(
            static_cast<uint32_t>(std::stoul(a.at("hi_bits").get<std::string>(), nullptr, 16)));
        if (!(t.lo <= 0.0f && t.hi >= 0.0f && std::isfinite(t.lo) && std::isfinite(t.hi)))
          return InvalidArgument(where, "tensor '", t.name, "': asym range [", t.lo, ", ", t.hi,
                                 "] must be finite and satisfy lo <= 0 <= hi");
      }
      s.tensors.push_back(std::move(t));
    }
    for (const auto& jw : j.value("weights", json::array())) {
      WeightScales w;
      w.name = jw.at("name").get<std::string>();
      w.axis = IntegerField(jw, "axis");
      for (const auto& b : jw.at("scale_bits"))
        w.scales.push_back(
            BitsToFloat(static_cast<uint32_t>(std::stoul(b.get<std::string>(), nullptr, 16))));
      s.weights.push_back(std::move(w));
    }
  } catch (const std::exception& e) {
    return InvalidArgument(where, "malformed sidecar: ", e.what());
  }
  return s;
}

Result<Sidecar> ReadSidecarFile(const std::string& path) {
  CALIB8_ASSIGN_OR_RETURN(std::string bytes, core::ReadFile(path, "sidecar"));
  return ParseSidecar(bytes, path);
}

Status WriteSidecarFile(const std::string& path, const Sidecar& sidecar) {
  return core::WriteFileAtomic(path, SerializeSidecar(sidecar));
}

Result<std::optional<Sidecar>> ReadCurrentSidecar(const std::string& table_path,
                                                  std::string_view table_bytes, std::string* why) {
  const std::string path = SidecarPathFor(table_path);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    *why = "'" + table_path + "' has no sidecar " + path;
    return std::optional<Sidecar>();
  }
  CALIB8_ASSIGN_OR_RETURN(Sidecar sc, ReadSidecarFile(path));
  if (!sc.table_fingerprint.empty() && sc.table_fingerprint != BytesFingerprint(table_bytes)) {
    *why = "sidecar " + path + " was written for other bytes than '" + table_path + "'";
    return std::optional<Sidecar>();
  }
  return std::optional<Sidecar>(std::move(sc));
}

Sidecar MergeSidecars(const std::vector<SidecarPart>& parts, const CalibrationTable& merged) {
  Sidecar out;
  if (parts.empty()) return out;
  out.calib8_version = parts.front().sidecar.calib8_version;
  bool same_method = true, same_data = true;
  for (const auto& p : parts) {
    same_method = same_method && p.sidecar.method == parts.front().sidecar.method;
    same_data = same_data && p.sidecar.data.fingerprint == parts.front().sidecar.data.fingerprint &&
                !p.sidecar.data.fingerprint.empty();
  }
  if (same_method) {
    out.method = parts.front().sidecar.method;
  } else {
    out.method.name = "merged";
    for (size_t i = 0; i < parts.size(); ++i)
      out.method.parameters["part" + std::to_string(i + 1)] = parts[i].sidecar.method.name;
  }
  if (same_data) {
    out.data = parts.front().sidecar.data;
  } else {
    out.data.source = "merged from " + std::to_string(parts.size()) + " partial calibrations";
  }
  std::set<std::string> done;
  auto add = [&](const TensorStatistics& t) {
    if (done.insert(t.name).second) out.tensors.push_back(t);
  };
  for (const auto& e : merged.entries()) {
    for (const auto& p : parts) {
      const int k = p.table ? p.table->Find(e.name) : -1;
      if (k < 0 || p.table->entries()[static_cast<size_t>(k)].bits() != e.bits()) continue;
      auto it = std::find_if(p.sidecar.tensors.begin(), p.sidecar.tensors.end(),
                             [&](const TensorStatistics& t) { return t.name == e.name; });
      if (it == p.sidecar.tensors.end()) continue;
      add(*it);
      break;
    }
  }
  std::set<std::string> weights;
  for (const auto& p : parts) {
    for (const auto& t : p.sidecar.tensors)
      if (merged.Find(t.name) < 0) add(t);
    for (const auto& w : p.sidecar.weights)
      if (weights.insert(w.name).second) out.weights.push_back(w);
  }
  return out;
}

std::string ReuseDecision::Reason() const {
  std::string r;
  for (const auto& s : reasons) r += (r.empty() ? "" : "; ") + s;
  return r;
}

namespace {
std::string Params(const MethodSpec& m) {
  std::string s = m.name + "(";
  bool first = true;
  for (const auto& [k, v] : m.parameters) s += (first ? "" : ", ") + k + "=" + v, first = false;
  return s + ")";
}
}  // namespace

ReuseDecision DecideReuse(const Sidecar& stored, const ReuseQuery& q) {
  ReuseDecision d;
  auto mismatch = [&](const std::string& what, const std::string& had, const std::string& now) {
    d.reusable = false;
    d.reasons.push_back(what + " changed: table computed for " + had + ", now " + now);
  };
  auto check = [&](const std::string& what, const std::string& had, const std::string& now) {
    if (now.empty()) return;
    if (had.empty()) {
      d.reusable = false;
      d.reasons.push_back("the sidecar records no " + what + " fingerprint, so the table's " +
                          what + " cannot be checked");
      return;
    }
    if (had != now) mismatch(what, had, now);
  };
  check("model", stored.model_fingerprint, q.model_fingerprint);
  check("calibration data", stored.data.fingerprint, q.data_fingerprint);
  check("table file", stored.table_fingerprint, q.table_fingerprint);
  if (q.method && !(*q.method == stored.method))
    mismatch("method", Params(stored.method), Params(*q.method));
  return d;
}

}  // namespace calib8::table
