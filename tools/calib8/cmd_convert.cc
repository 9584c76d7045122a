// tools/calib8/cmd_convert.cc — `calib8 convert TABLE --to trt|json|ncnn|range -o OUT`.
// Reads any known format, writes one calib8 can write, atomically (no partial OUT on failure).
#include "table/calibration_table.h"
#include "table_args.h"

namespace calib8::cli {

Command AddConvertCommand(CLI::App& app) {
  auto* sub = app.add_subcommand("convert", "Convert a calibration table to another format");
  struct Opts {
    TableReadArgs in;
    std::string table, to, out, algorithm;
    int64_t trt_version = 0;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("TABLE", o->table, "Calibration table")->required();
  sub->add_option("--to", o->to, "Output format: trt|json|ncnn|range")->required();
  sub->add_option("-o,--output", o->out, "Output file (written atomically)")->required();
  sub->add_option("--trt-version", o->trt_version,
                  "TensorRT header version, e.g. 8601 or 101200; 1 writes the legacy header "
                  "(default: the input's, else 8601)");
  sub->add_option("--algorithm", o->algorithm,
                  "TensorRT header algorithm (default: the input's, else EntropyCalibration2)");
  o->in.Register(sub);
  return [o]() -> int {
    auto to = table::ParseFormatName(o->to);
    if (!to.ok()) return ReportError(to.status());
    if (!table::CanWrite(*to))
      return ReportError(InvalidArgument("--to ", o->to, ": calib8 reads this format but does "
                                         "not write it; expected trt, json, ncnn or range"));
    int warnings = 0;
    auto t = o->in.Read(o->table, &warnings);
    if (!t.ok()) return ReportError(t.status());
    table::WriteOptions wo;
    wo.trt_version = o->trt_version;
    wo.algorithm = o->algorithm;
    table::WriteReport rep;
    Status s = table::WriteTableFile(*t, o->out, *to, wo, &rep);
    if (!s.ok()) return ReportError(s.WithContext("convert '" + o->table + "'"));
    for (const auto& w : rep.warnings) std::cerr << "calib8: warning: " << w << "\n";
    warnings += static_cast<int>(rep.warnings.size());
    std::cout << "wrote " << o->out << " (" << table::FormatTitle(*to) << ", " << t->size()
              << " entries from " << table::FormatTitle(t->header.source_format) << ")";
    if (warnings) std::cout << ", " << warnings << " warnings";
    std::cout << "\n";
    return 0;
  };
}

}  // namespace calib8::cli
