// stats/stats_io.cc — JSON codec for StatsState (see stats_io.h).
#include "stats/stats_io.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>

#include "core/file_util.h"

namespace calib8::stats {

namespace {
// More bins than any calibrator uses (2048 by default): a bound before anything is reserved.
constexpr int64_t kMaxBins = int64_t{1} << 20;
constexpr int64_t kMaxShards = std::numeric_limits<int>::max();

// nlohmann converts a float to an integer with a plain cast, undefined for 1e55 (found by
// fuzz_stats in "sample_shape"), and silently truncates 2.5: integer fields are read through
// these, which accept only JSON integers within [lo, hi].
bool IsIntegerIn(const nlohmann::json& v, int64_t lo, int64_t hi) {
  if (v.is_number_unsigned())  // parsed non-negative integers; may exceed int64_t
    return v.get<uint64_t>() <= static_cast<uint64_t>(hi) && lo <= v.get<int64_t>();
  return v.is_number_integer() && v.get<int64_t>() >= lo && v.get<int64_t>() <= hi;
}

Result<std::vector<int64_t>> IntegerArray(const nlohmann::json& v, int64_t lo, int64_t hi,
                                          const std::string& where, const char* field) {
  if (!v.is_array()) return InvalidArgument(where, field, " is ", v.dump(), ": expected an array");
  std::vector<int64_t> out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (!IsIntegerIn(v[i], lo, hi))
      return InvalidArgument(where, field, "[", i, "] is ", v[i].dump(),
                             ": expected an integer in [", lo, ", ", hi, "]");
    out.push_back(v[i].get<int64_t>());
  }
  return out;
}

// Tensor `name` of a statistics file (`t`, its JSON object) whose header gave `s`; messages name
// the tensor as `where`. JSON errors throw nlohmann::json::exception (the caller reports them).
Result<TensorRecord> ParseTensorRecord(const nlohmann::json& t, const std::string& name,
                                       const std::string& where, const std::string& source,
                                       const StatsState& s) {
  auto finite = [](double v) { return std::isfinite(v); };
  TensorRecord r;
  r.producer = t.value("producer", "");
  r.producer_name = t.value("producer_name", "");
  if (t.contains("sample_shape")) {
    CALIB8_ASSIGN_OR_RETURN(
        r.sample_shape, IntegerArray(t.at("sample_shape"), 0, std::numeric_limits<int64_t>::max(),
                                     where, "sample_shape"));
  }
  const auto& jc = t.at("count");
  if (!jc.is_number_integer() || jc.get<int64_t>() < 0)
    return InvalidArgument(where, "count is ", jc.dump(), ": expected an integer >= 0");
  r.range.count = jc.get<int64_t>();
  if (r.range.count) {
    r.range.min = t.at("min").get<double>();
    r.range.max = t.at("max").get<double>();
    if (!finite(r.range.min) || !finite(r.range.max) || r.range.min > r.range.max)
      return InvalidArgument(where, "min ", r.range.min, " / max ", r.range.max,
                             ": expected finite values with min <= max");
  }
  r.range.absmax = t.at("absmax").get<double>();
  if (!finite(r.range.absmax) || r.range.absmax < 0)
    return InvalidArgument(where, "absmax is ", r.range.absmax, ": expected a finite value >= 0");
  auto counts = t.at("hist").get<std::vector<double>>();
  if (!counts.empty()) {
    // Two-pass histograms have exactly num_bins bins; single-pass ones grow to the right.
    if (s.single_pass ? counts.size() < static_cast<size_t>(s.num_bins)
                      : counts.size() != static_cast<size_t>(s.num_bins))
      return InvalidArgument(where, "hist has ", counts.size(), " bins: expected ",
                             s.single_pass ? "at least " : "", "num_bins = ", s.num_bins);
    for (size_t b = 0; b < counts.size(); ++b)
      if (!(finite(counts[b]) && counts[b] >= 0))
        return InvalidArgument(where, "hist[", b, "] = ", counts[b],
                               ": expected a finite count >= 0");
    const double range = t.at("hist_range").get<double>();
    if (!(finite(range) && range > 0))
      return InvalidArgument(where, "hist_range is ", range, ": expected a finite value > 0");
    const bool sign = t.contains("hist_neg");
    r.hist = AbsHistogram(range, static_cast<int>(counts.size()), sign);
    r.hist.mutable_counts() = counts;
    if (sign) {
      auto neg = t.at("hist_neg").get<std::vector<double>>();
      if (neg.size() != counts.size())
        return InvalidArgument(source, ": tensor '", name, "': hist_neg has ", neg.size(),
                               " bins, hist has ", counts.size());
      for (size_t b = 0; b < neg.size(); ++b)
        if (!(neg[b] >= 0 && neg[b] <= counts[b]))
          return InvalidArgument(source, ": tensor '", name, "': hist_neg[", b, "] = ", neg[b],
                                 " is not within [0, hist[", b, "] = ", counts[b], "]");
      r.hist.mutable_neg_counts() = std::move(neg);
    }
  }
  return r;
}

}  // namespace

std::string SerializeStats(const StatsState& s) {
  nlohmann::json j;
  j["format"] = "calib8-stats";
  j["version"] = 2;
  j["num_bins"] = s.num_bins;
  j["samples"] = s.samples;
  j["single_pass"] = s.single_pass;
  if (s.given_ranges) j["given_ranges"] = true;
  if (!s.data.fingerprint.empty() || !s.data.description.is_null() || s.data.shard_count > 0) {
    nlohmann::json d = nlohmann::json::object();
    if (!s.data.fingerprint.empty()) d["fingerprint"] = s.data.fingerprint;
    if (!s.data.description.is_null()) d["description"] = s.data.description;
    if (s.data.shard_count > 0) {
      d["shard_count"] = s.data.shard_count;
      d["shards"] = s.data.shards;
    }
    j["data"] = d;
  }
  j["tensors"] = nlohmann::json::object();
  for (const auto& [name, r] : s.tensors) {
    nlohmann::json t;
    t["producer"] = r.producer;
    t["producer_name"] = r.producer_name;
    t["sample_shape"] = r.sample_shape;
    t["min"] = r.range.count ? r.range.min : 0.0;
    t["max"] = r.range.count ? r.range.max : 0.0;
    t["absmax"] = r.range.absmax;
    t["count"] = r.range.count;
    t["hist_range"] = r.hist.range();
    t["hist"] = r.hist.counts();
    if (r.hist.has_sign()) t["hist_neg"] = r.hist.neg_counts();
    j["tensors"][name] = t;
  }
  return j.dump(1) + "\n";
}

Result<StatsState> ParseStats(const std::string& text, const std::string& source) {
  // No exceptions: a parse error (or a number too large for a double) gives a discarded value.
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument(source, ": not valid JSON");
  const auto format = j.find("format");  // value() would throw on a non-string
  if (format == j.end() || !format->is_string() || format->get<std::string>() != "calib8-stats")
    return InvalidArgument(source,
                           ": expected \"format\": \"calib8-stats\" (a file written by "
                           "calibrate --save-stats)");
  StatsState s;
  // Every number is checked where it is read (issue 16): a histogram whose bin count does not
  // match num_bins, a NaN, infinite or negative count, range or extreme is refused, naming the
  // tensor and the field, instead of reaching a calibrator. Sizes need no cap: each bin is at
  // least two bytes of the file.
  try {
    const auto& jb = j.at("num_bins");
    if (!jb.is_number_integer() || jb.get<int64_t>() < 1 || jb.get<int64_t>() > kMaxBins)
      return InvalidArgument(source, ": num_bins is ", jb.dump(), ": expected an integer in [1, ",
                             kMaxBins, "]");
    s.num_bins = jb.get<int>();
    const auto& js = j.at("samples");
    if (!js.is_number_integer() || js.get<int64_t>() < 0)
      return InvalidArgument(source, ": samples is ", js.dump(), ": expected an integer >= 0");
    s.samples = js.get<int64_t>();
    s.single_pass = j.value("single_pass", false);
    s.given_ranges = j.value("given_ranges", false);
    if (j.contains("data")) {
      const auto& d = j.at("data");
      s.data.fingerprint = d.value("fingerprint", "");
      if (d.contains("description")) s.data.description = d.at("description");
      if (d.contains("shard_count")) {
        if (!IsIntegerIn(d.at("shard_count"), 0, kMaxShards))
          return InvalidArgument(source, ": data.shard_count is ", d.at("shard_count").dump(),
                                 ": expected an integer in [0, ", kMaxShards, "]");
        s.data.shard_count = d.at("shard_count").get<int>();
      }
      if (s.data.shard_count > 0) {
        CALIB8_ASSIGN_OR_RETURN(
            auto shards, IntegerArray(d.at("shards"), 0, kMaxShards, source + ": ", "data.shards"));
        s.data.shards.assign(shards.begin(), shards.end());
      }
      for (size_t i = 0; i < s.data.shards.size(); ++i)
        if (s.data.shards[i] < 0 || s.data.shards[i] >= s.data.shard_count ||
            (i > 0 && s.data.shards[i] <= s.data.shards[i - 1]))
          return InvalidArgument(source, ": data.shards must be increasing shard numbers in [0, ",
                                 s.data.shard_count, ")");
    }
    for (const auto& [name, t] : j.at("tensors").items()) {
      const std::string where = source + ": tensor '" + name + "': ";
      CALIB8_ASSIGN_OR_RETURN(TensorRecord r, ParseTensorRecord(t, name, where, source, s));
      s.tensors[name] = std::move(r);
    }
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(source, ": malformed statistics: ", e.what());
  }
  return s;
}

Status SaveStats(const StatsState& state, const std::string& path) {
  return core::WriteFileAtomic(path, SerializeStats(state));
}

Result<StatsState> LoadStats(const std::string& path) {
  CALIB8_ASSIGN_OR_RETURN(std::string text, core::ReadFile(path, "statistics file"));
  return ParseStats(text, "statistics file '" + path + "'");
}

}  // namespace calib8::stats
