// stats/stats_io.h — saving and loading StatsState (`calibrate --save-stats`, `merge-stats`).
//
// Format: JSON, {"format": "calib8-stats", "version": 2, "num_bins": N, "samples": S,
// "single_pass": false, "tensors": {name: {"producer", "producer_name", "sample_shape",
// "min", "max", "absmax", "count", "hist_range", "hist": [|x| counts...],
// "hist_neg": [counts of x < 0, same bins...]}}}, and when known "data": {"fingerprint",
// "description", "shard_count", "shards"} (stats::DataRecord) and "given_ranges": true (pass 2 on
// --ranges). Doubles are written with 17 significant
// digits, so a save/load round trip is exact. Version 1 files (before the sign split) have no
// "hist_neg": they load with has_sign() false, which the symmetric methods do not need and the
// asymmetric range refuses (re-collect the statistics). Readers of version 1 ignore "hist_neg".
#pragma once

#include <string>

#include "stats/collector.h"

namespace calib8::stats {

std::string SerializeStats(const StatsState& state);
Result<StatsState> ParseStats(const std::string& text, const std::string& source);
Status SaveStats(const StatsState& state, const std::string& path);  // atomic
Result<StatsState> LoadStats(const std::string& path);

}  // namespace calib8::stats
