// eval/compare_internal.h — what eval/compare.cc and eval/sensitivity.cc share: planning with a
// fit check, feeding batches, and accumulating the model outputs of an FP32 and an INT8 run.
// Not a public header; both files are the api module's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "eval/compare.h"
#include "exec/session.h"

namespace calib8::eval::detail {

bool EndsWith(const std::string& s, const std::string& suffix);

// Plans INT8, refusing a table that covers nothing the model needs (a table for another model).
Result<quant::Int8Plan> PlanChecked(const ir::Graph& graph, const table::CalibrationTable& table,
                                    const runtime::Int8Options& io, const std::string& table_name);

// The model outputs of both runs, accumulated batch by batch.
struct OutputAcc {
  eval::TensorComparison tensor;
  eval::ClassifierComparison classes;
  bool classifier = false, per_position = false, seen = false;
};
Status AddOutputs(const exec::TensorMap& ref, const exec::TensorMap& test,
                  const std::vector<ir::ValueInfo>& outputs, const std::vector<int64_t>& labels,
                  int64_t first, std::vector<OutputAcc>& acc);
std::vector<OutputResult> FinishOutputs(const std::vector<ir::ValueInfo>& outputs,
                                        const std::vector<OutputAcc>& acc);

// Samples [first, first + count) as a feed for the model inputs `names`.
Result<exec::TensorMap> Feeds(const data::MultiInputData& data,
                              const std::vector<std::string>& names, int64_t first, int64_t count);
std::string Range(int64_t first, int64_t count);  // "samples 8-15"
Status CheckLabels(const std::vector<int64_t>& labels, const data::MultiInputData& data);
std::string Num(double v, int precision = 2);  // fixed; "inf", "nan"

}  // namespace calib8::eval::detail
