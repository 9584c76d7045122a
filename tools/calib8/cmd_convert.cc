// tools/calib8/cmd_convert.cc — `calib8 convert TABLE --to trt|json|ncnn|range -o OUT`.
// Reads any known format, writes one calib8 can write, atomically (no partial OUT on failure).
// `--to pytorch --model MODEL.onnx` writes the table mapped onto the PyTorch modules of the model
// (calib8::ToPytorchScales, docs/fine-tuning.md).
#include "calib8/files.h"
#include "calib8/table_tools.h"
#include "table_args.h"

namespace calib8::cli {

namespace {
template <typename Opts>
int ConvertToPytorch(const Opts& o) {
  if (o.model.empty())
    return ReportError(
        InvalidArgument("--to pytorch needs --model MODEL.onnx (the model the "
                        "table was calibrated on, exported from PyTorch)"));
  int warnings = 0;
  auto t = o.in.Read(o.table, &warnings);
  if (!t.ok()) return ReportError(t.status());
  std::vector<std::string> found;
  auto scales = ToPytorchScales(*t, o.model, &found);
  for (const auto& w : found) std::cerr << "calib8: warning: " << w << "\n";
  warnings += static_cast<int>(found.size());
  if (!scales.ok()) return ReportError(scales.status().WithContext("convert '" + o.table + "'"));
  Status s = WriteFileAtomic(o.out, scales->json);
  if (!s.ok()) return ReportError(s);
  std::cout << "wrote " << o.out << " (PyTorch scales, " << scales->tensors << " tensors, "
            << scales->with_module << " with a module, " << scales->input_quantizers
            << " weighted module(s) with an input quantizer)";
  if (warnings) std::cout << ", " << warnings << " warnings";
  std::cout << "\n";
  return 0;
}
}  // namespace

Command AddConvertCommand(CLI::App& app) {
  auto* sub = app.add_subcommand("convert", "Convert a calibration table to another format");
  struct Opts {
    TableReadArgs in;
    std::string table, to, out, algorithm, model;
    int64_t trt_version = 0;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("TABLE", o->table, "Calibration table")->required();
  sub->add_option("--to", o->to, "Output format: trt|json|ncnn|range, or pytorch (needs --model)")
      ->required();
  sub->add_option("-o,--output", o->out, "Output file (written atomically)")->required();
  sub->add_option("--trt-version", o->trt_version,
                  "TensorRT header version, e.g. 8601 or 101200; 1 writes the legacy header "
                  "(default: the input's, else 8601)");
  sub->add_option("--algorithm", o->algorithm,
                  "TensorRT header algorithm (default: the input's, else EntropyCalibration2)");
  sub->add_option("--model", o->model,
                  "--to pytorch: the ONNX model the table is for (exported from PyTorch); each "
                  "tensor is mapped to its producer/consumer nodes and their modules");
  o->in.Register(sub);
  return [o]() -> int {
    if (o->to == "pytorch") return ConvertToPytorch(*o);
    if (!o->model.empty())
      return ReportError(InvalidArgument("--model is only used with --to pytorch"));
    auto to = ParseFormatName(o->to);
    if (!to.ok()) return ReportError(to.status());
    if (!CanWrite(*to))
      return ReportError(InvalidArgument("--to ", o->to,
                                         ": calib8 reads this format but does "
                                         "not write it; expected trt, json, ncnn or range"));
    int warnings = 0;
    auto t = o->in.Read(o->table, &warnings);
    if (!t.ok()) return ReportError(t.status());
    TableWriteOptions wo;
    wo.trt_version = o->trt_version;
    wo.algorithm = o->algorithm;
    std::vector<std::string> found;
    Status s = t->Write(o->out, *to, wo, &found);
    if (!s.ok()) return ReportError(s.WithContext("convert '" + o->table + "'"));
    for (const auto& w : found) std::cerr << "calib8: warning: " << w << "\n";
    warnings += static_cast<int>(found.size());
    std::cout << "wrote " << o->out << " (" << FormatTitle(*to) << ", " << t->size()
              << " entries from " << FormatTitle(t->header_info().source_format) << ")";
    if (warnings) std::cout << ", " << warnings << " warnings";
    std::cout << "\n";
    return 0;
  };
}

}  // namespace calib8::cli
