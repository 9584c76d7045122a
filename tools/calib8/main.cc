// tools/calib8/main.cc — the calib8 command line: a thin layer over the library. Each subcommand
// lives in its own cmd_*.cc and only parses options, calls the library and prints.
#include <malloc.h>

#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "calib8/model.h"
#include "commands.h"

int main(int argc, char** argv) {
  // Every run allocates the same tensor sizes again; by default glibc serves large blocks with
  // mmap and gives them back at free, so each run page-faults its activations in afresh (about
  // 10% of a PaddleOCR det run). Keep freed blocks in the heap instead: peak memory is unchanged
  // (it still follows the largest live set), the repeated faults go away.
  mallopt(M_MMAP_THRESHOLD, 512 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  CLI::App app{"calib8 — transparent INT8 calibration for ONNX models"};
  app.set_version_flag("--version", std::string("calib8 ") + CALIB8_VERSION);
  app.require_subcommand(1);
  // --plugin LIB.so, repeatable, before or after the subcommand (fallthrough): custom-layer
  // plugins (include/calib8/plugin.h) loaded before any model is read.
  std::vector<std::string> plugins;
  app.add_option("--plugin", plugins,
                 "Custom-layer plugin (shared library built against include/calib8/plugin.h) to "
                 "load before the model is read; repeatable; also accepted after the subcommand "
                 "(docs/custom-layers.md)")
      ->type_name("LIB.so");
  app.fallthrough();
  std::map<CLI::App*, calib8::cli::Command> commands;
  auto add = [&](calib8::cli::Command (*fn)(CLI::App&)) {
    size_t before = app.get_subcommands({}).size();
    auto cmd = fn(app);
    auto subs = app.get_subcommands({});
    if (subs.size() > before) commands[subs.back()] = cmd;
  };
  add(calib8::cli::AddInfoCommand);
  add(calib8::cli::AddRunCommand);
  add(calib8::cli::AddCalibrateCommand);
  add(calib8::cli::AddMergeStatsCommand);
  add(calib8::cli::AddInspectCommand);
  add(calib8::cli::AddConvertCommand);
  add(calib8::cli::AddDiffCommand);
  add(calib8::cli::AddMergeCommand);
  add(calib8::cli::AddValidateCommand);
  add(calib8::cli::AddPlanCommand);
  add(calib8::cli::AddDoctorCommand);
  add(calib8::cli::AddExportQdqCommand);
  add(calib8::cli::AddImportQdqCommand);
  add(calib8::cli::AddCompareCommand);
  add(calib8::cli::AddSensitivityCommand);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  for (const auto& path : plugins) {
    auto loaded = calib8::LoadPlugin(path);
    if (!loaded.ok()) return calib8::cli::ReportError(loaded.status());
  }
  for (auto& [sub, cmd] : commands)
    if (sub->parsed()) return cmd();
  return 1;
}
