// tools/calib8/table_args.h — the argument group every table subcommand shares (--from,
// --lenient), and reading a table with its warnings printed. Used by cmd_inspect, cmd_convert,
// cmd_diff, cmd_merge and cmd_validate.
#pragma once

#include <iostream>
#include <string>

#include "commands.h"
#include "table/calibration_table.h"

namespace calib8::cli {

struct TableReadArgs {
  std::string from;  // "" = detect
  bool lenient = false;

  void Register(CLI::App* sub) {
    sub->add_option("--from", from,
                    "Input format: trt|json|ncnn|range|ort-json|ort-cache|ort-flatbuffers "
                    "(default: detected)");
    sub->add_flag("--lenient", lenient,
                  "Go on past duplicate names (the later wins), NaN scales, blank lines and "
                  "unknown algorithms, counting warnings");
  }

  // Reads `path`; prints each warning as "calib8: warning: ..." and adds them to *warnings.
  Result<table::CalibrationTable> Read(const std::string& path, int* warnings = nullptr) const {
    table::ReadOptions ro;
    ro.lenient = lenient;
    table::ReadReport rep;
    Result<table::CalibrationTable> t = Status(StatusCode::kInternal, "unset");
    if (from.empty()) {
      t = table::ReadTableFile(path, nullptr, ro, &rep);
    } else {
      auto f = table::ParseFormatName(from);
      if (!f.ok()) return f.status();
      table::TableFormat fmt = *f;
      t = table::ReadTableFile(path, &fmt, ro, &rep);
    }
    for (const auto& w : rep.warnings) std::cerr << "calib8: warning: " << w << "\n";
    if (warnings) *warnings += static_cast<int>(rep.warnings.size());
    return t;
  }
};

}  // namespace calib8::cli
