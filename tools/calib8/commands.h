// tools/calib8/commands.h — each subcommand registers its options on the CLI11 app and returns
// the function to run. Exit codes: 0 ok, 1 bad input (file, option, model), 2 internal error.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <iostream>

#include "calib8/status.h"

namespace calib8::cli {

using Command = std::function<int()>;

// Prints "calib8: error: <message>" and maps the status code to an exit code.
inline int ReportError(const Status& s) {
  // One write of the whole line: the ranks of `calibrate --mpi` share one stderr, and three
  // `<<`s each would interleave their messages.
  std::cerr << ("calib8: error: " + s.message() + "\n") << std::flush;
  return s.code() == StatusCode::kInternal ? 2 : 1;
}

Command AddInfoCommand(CLI::App& app);
Command AddRunCommand(CLI::App& app);
Command AddCalibrateCommand(CLI::App& app);
Command AddMergeStatsCommand(CLI::App& app);
Command AddInspectCommand(CLI::App& app);
Command AddConvertCommand(CLI::App& app);
Command AddDiffCommand(CLI::App& app);
Command AddMergeCommand(CLI::App& app);
Command AddValidateCommand(CLI::App& app);
Command AddPlanCommand(CLI::App& app);         // INT8 plan (issue 5)
Command AddDoctorCommand(CLI::App& app);       // INT8 hardware check (issue 5)
Command AddExportQdqCommand(CLI::App& app);    // Q/DQ ONNX export (issue 5)
Command AddImportQdqCommand(CLI::App& app);    // Q/DQ ONNX -> table (issue 5)
Command AddCompareCommand(CLI::App& app);      // FP32 vs INT8 (issue 5 item 4)
Command AddSensitivityCommand(CLI::App& app);  // layers to keep FP32 (issue 5 item 4)

}  // namespace calib8::cli
