// tools/calib8/cmd_diff.cc — `calib8 diff A B [--json]`: per tensor the amax ratio B/A, sorted by
// |log ratio|, then tensors only in A and only in B, then a summary.
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "table/table_ops.h"
#include "table_args.h"

namespace calib8::cli {

Command AddDiffCommand(CLI::App& app) {
  auto* sub = app.add_subcommand("diff", "Compare two calibration tables tensor by tensor");
  struct Opts {
    TableReadArgs in;
    std::string a, b;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("A", o->a, "First table")->required();
  sub->add_option("B", o->b, "Second table")->required();
  sub->add_flag("--json", o->json, "Print JSON instead of text");
  o->in.Register(sub);
  return [o]() -> int {
    auto a = o->in.Read(o->a);
    if (!a.ok()) return ReportError(a.status());
    auto b = o->in.Read(o->b);
    if (!b.ok()) return ReportError(b.status());
    table::DiffResult d = table::DiffTables(*a, *b);
    using Side = table::DiffRow::Side;
    auto num = [](double v) { return table::ShortestDecimal(v); };
    if (o->json) {
      nlohmann::ordered_json j;
      j["a"] = o->a;
      j["b"] = o->b;
      j["rows"] = nlohmann::ordered_json::array();
      for (const auto& r : d.rows) {
        const char* side = r.side == Side::kBoth ? "both" : r.side == Side::kOnlyA ? "a" : "b";
        nlohmann::ordered_json jr = {{"name", r.name}, {"in", side}};
        if (r.side != Side::kOnlyB) jr["amax_a"] = num(r.amax_a);
        if (r.side != Side::kOnlyA) jr["amax_b"] = num(r.amax_b);
        if (r.side == Side::kBoth)
          jr["ratio"] = num(r.ratio), jr["abs_log_ratio"] = num(r.abs_log_ratio);
        j["rows"].push_back(jr);
      }
      j["summary"] = {{"in_both", d.in_both},
                      {"identical", d.identical},
                      {"only_a", d.only_a},
                      {"only_b", d.only_b},
                      {"median_ratio", num(d.median_ratio)},
                      {"max_abs_log_ratio", num(d.max_abs_log_ratio)}};
      std::cout << j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
      return 0;
    }
    std::printf("%-44s %-13s %-13s %s\n", "name", "amax A", "amax B", "B/A");
    for (const auto& r : d.rows) {
      if (r.side != Side::kBoth) continue;
      std::printf("%-44s %-13s %-13s %s\n", r.name.c_str(), num(r.amax_a).c_str(),
                  num(r.amax_b).c_str(), num(r.ratio).c_str());
    }
    if (d.only_a) std::cout << "\nonly in A (" << o->a << "): " << d.only_a << "\n";
    for (const auto& r : d.rows)
      if (r.side == Side::kOnlyA) std::cout << "  " << r.name << "  amax " << num(r.amax_a) << "\n";
    if (d.only_b) std::cout << "\nonly in B (" << o->b << "): " << d.only_b << "\n";
    for (const auto& r : d.rows)
      if (r.side == Side::kOnlyB) std::cout << "  " << r.name << "  amax " << num(r.amax_b) << "\n";
    std::printf(
        "\nsummary: %d in both (%d identical), %d only in A, %d only in B; median B/A %s, "
        "largest |ln(B/A)| %s\n",
        d.in_both, d.identical, d.only_a, d.only_b, num(d.median_ratio).c_str(),
        num(d.max_abs_log_ratio).c_str());
    return 0;
  };
}

}  // namespace calib8::cli
