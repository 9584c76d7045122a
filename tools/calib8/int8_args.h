// tools/calib8/int8_args.h — the INT8 option group `run --int8`, `plan` and `compare` share
// (--table, --keep-fp32, --symmetric, --unsigned-activations, --strict, --int8-all), declared
// once so the three commands take the same options with the same help, into the library's
// calib8::Int8Options (calib8/model.h).
#pragma once

#include <string>

#include "calib8/model.h"
#include "commands.h"

namespace calib8::cli {

struct Int8Args {
  std::string table;
  Int8Options options;

  // `table_help` says what the table is for in this command.
  void Register(CLI::App* sub, const std::string& table_help) {
    sub->add_option("--table,-t", table, table_help);
    sub->add_option("--keep-fp32", options.keep_fp32_file,
                    "File of tensor (or node) names, one per line, '#' comments: a tensor named "
                    "there is never 8-bit (its producer and consumers run FP32)");
    sub->add_flag("--symmetric", options.symmetric,
                  "TensorRT mode: symmetric s8 from the table's scales, ignoring the sidecar's "
                  "asymmetric ranges");
    sub->add_flag("--unsigned-activations", options.unsigned_activations,
                  "u8 (scale amax/255) for tensors that are never negative");
    sub->add_flag("--strict", options.strict, "Fail when the table does not cover the model");
    sub->add_flag("--int8-all", options.int8_all,
                  "Run every layer that can run INT8 in INT8: turn off the no-speed-benefit rule "
                  "(isolated small layers stay FP32 otherwise; docs/int8.md). TensorRT mode "
                  "(symmetric) always does, as TensorRT runs a cache");
  }

  // Any option of the group given (for commands where they need another switch, `run --int8`).
  bool any() const {
    return !table.empty() || !options.keep_fp32_file.empty() || options.symmetric ||
           options.unsigned_activations || options.strict || options.int8_all;
  }
};

}  // namespace calib8::cli
