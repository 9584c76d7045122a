// tools/calib8/table_args.h — the argument group every table subcommand shares (--from,
// --lenient), and reading a table with its warnings printed. Used by cmd_inspect, cmd_convert,
// cmd_diff, cmd_merge and cmd_validate.
#pragma once

#include <iostream>
#include <string>
#include <vector>

#include "calib8/table.h"
#include "commands.h"

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
  Result<Table> Read(const std::string& path, int* warnings = nullptr) const {
    TableReadOptions ro;
    ro.lenient = lenient;
    if (!from.empty()) {
      auto f = ParseFormatName(from);
      if (!f.ok()) return f.status();
      ro.format = *f;
    }
    std::vector<std::string> found;
    auto t = Table::Read(path, ro, &found);
    for (const auto& w : found) std::cerr << "calib8: warning: " << w << "\n";
    if (warnings) *warnings += static_cast<int>(found.size());
    return t;
  }
};

}  // namespace calib8::cli
