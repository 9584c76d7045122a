// stats/stats_io.h — saving and loading StatsState (`calibrate --save-stats`, `merge-stats`).
//
// Format: JSON, {"format": "calib8-stats", "version": 1, "num_bins": N, "samples": S,
// "single_pass": false, "tensors": {name: {"producer", "producer_name", "sample_shape",
// "min", "max", "absmax", "count", "hist_range", "hist": [counts...]}}}. Doubles are written
// with 17 significant digits, so a save/load round trip is exact.
#pragma once

#include <string>

#include "stats/collector.h"

namespace calib8::stats {

std::string SerializeStats(const StatsState& state);
Result<StatsState> ParseStats(const std::string& text, const std::string& source);
Status SaveStats(const StatsState& state, const std::string& path);  // atomic
Result<StatsState> LoadStats(const std::string& path);

}  // namespace calib8::stats
