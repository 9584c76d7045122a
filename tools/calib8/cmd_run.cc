// tools/calib8/cmd_run.cc — `calib8 run MODEL --input NAME=FILE ... [--output-dir DIR]
// [--threads N] [--bench N]`; with `--int8 --table T [--keep-fp32 FILE] [--unsigned-activations]
// [--strict]` the model runs in INT8 (calib8::Session::CreateInt8) with FP32 fallback where needed.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iomanip>
#include <map>

#include "calib8/model.h"
#include "commands.h"
#include "int8_args.h"

namespace calib8::cli {

namespace {

// Per op type (fused epilogues shown as Conv+Relu etc. by their node's op type) and the 15
// slowest nodes, in ms per run.
void PrintProfile(const Session& s, std::ostream& os) {
  const std::vector<NodeTime> nodes = s.NodeTimes();
  const double runs = static_cast<double>(std::max<int64_t>(1, s.profiled_runs()));
  double total = 0;
  std::map<std::string, std::pair<double, int>> by_type;
  for (const NodeTime& n : nodes) {
    total += n.ms;
    auto& e = by_type[n.op_type];
    e.first += n.ms;
    e.second += 1;
  }
  std::vector<std::pair<double, std::string>> types;
  for (const auto& [t, e] : by_type) types.emplace_back(e.first, t);
  std::sort(types.rbegin(), types.rend());
  os << std::fixed << std::setprecision(3) << "profile: " << s.profiled_runs() << " run(s), "
     << total / runs << " ms per run in " << nodes.size() << " nodes\n";
  os << "  op type                      nodes    ms/run   share\n";
  for (const auto& [t_ms, t] : types)
    os << "  " << std::left << std::setw(28) << t << std::right << std::setw(6) << by_type[t].second
       << std::setw(10) << t_ms / runs << std::setw(7) << std::setprecision(1)
       << (total > 0 ? 100.0 * t_ms / total : 0.0) << "%" << std::setprecision(3) << "\n";
  std::vector<size_t> order(nodes.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return nodes[a].ms > nodes[b].ms; });
  os << "  slowest nodes:\n";
  for (size_t k = 0; k < order.size() && k < 15; ++k) {
    const NodeTime& n = nodes[order[k]];
    os << "  " << std::setw(10) << n.ms / runs << " ms  '" << n.name << "' (" << n.op_type << ")\n";
  }
}

// The options of `calib8 run`.
struct RunArgs {
  std::string model;
  std::vector<std::string> inputs;
  std::string output_dir;
  int threads = 0;
  int bench = 0;
  bool reference = false;
  bool profile = false;
  bool row_major = false;
  bool int8 = false;  // INT8 options (issue 5; the shared group of int8_args.h)
  Int8Args int8_args;
  bool nchw = false, show_plan = false;
  std::string dump_dir, preprocess;  // --dump (issue 12: values for calibrate --from)
  std::vector<std::string> dump_tensors, data;
  int batch = 1;
  int64_t max_samples = 0;
};

}  // namespace

// `calib8 run --dump`: records --tensors over the whole --data set.
static int DumpRunTensors(const RunArgs& o, const Model& model) {
  if (o.dump_dir.empty() || o.data.empty() || o.dump_tensors.empty() || !o.inputs.empty() || o.int8)
    return ReportError(
        InvalidArgument("record tensors with --dump DIR --tensors T1,T2 --data SPEC "
                        "(all three; not with --input or --int8)"));
  DumpOptions dopt;
  dopt.data = o.data;
  dopt.preprocess = o.preprocess;
  dopt.max_samples = o.max_samples;
  dopt.batch = o.batch;
  dopt.threads = o.threads;
  dopt.tensors = o.dump_tensors;
  dopt.dir = o.dump_dir;
  auto dumped = DumpTensors(model, dopt);
  if (!dumped.ok()) return ReportError(dumped.status().WithContext("run --dump"));
  for (const auto& d : *dumped)
    std::cout << "wrote " << d.path << " (" << d.name << ", " << ShapeToString(d.shape) << ")\n";
  return 0;
}

// The feeds of --input NAME=FILE (NAME may be left out for a single-input model).
static Result<TensorMap> ReadFeeds(const RunArgs& o, const Model& model) {
  const std::vector<TensorInfo> inputs = model.inputs();
  TensorMap feeds;
  for (const auto& spec : o.inputs) {
    auto eq = spec.find('=');
    std::string name, file = spec;
    if (eq != std::string::npos && !std::filesystem::exists(spec)) {
      name = spec.substr(0, eq);
      file = spec.substr(eq + 1);
    }
    if (name.empty()) {
      if (inputs.size() != 1)
        return InvalidArgument("--input '", spec, "': the model has ", inputs.size(),
                               " inputs; write NAME=FILE");
      name = inputs[0].name;
    }
    auto t = LoadTensorFile(file);
    if (!t.ok()) return t.status();
    feeds[name] = std::move(t).value();
  }
  return feeds;
}

// The FP32 session, or with --int8 the INT8 one (printing its table mode, warnings and plan).
static Result<Session> CreateRunSession(const RunArgs& o, const Model& model,
                                        const SessionOptions& so) {
  const Int8Args& a = o.int8_args;
  if (!o.int8) {
    if (a.any())
      return InvalidArgument(
          "--table, --keep-fp32, --unsigned-activations, --int8-all, --symmetric and "
          "--strict need --int8");
    return Session::Create(model, so);
  }
  if (a.table.empty()) return InvalidArgument("--int8 needs --table T");
  Int8Options io = a.options;
  io.nchw = o.nchw;
  Int8Summary sum;
  auto session = Session::CreateInt8(model, a.table, io, so, &sum);
  if (!sum.table_note.empty()) std::cerr << "int8: " << sum.table_note << "\n";
  if (!session.ok()) return session.status();
  for (const auto& w : sum.warnings) std::cerr << "calib8: warning: " << w << "\n";
  if (o.show_plan) std::cerr << sum.plan_text;
  std::cerr << "int8: " << sum.int8_nodes << " INT8 / " << sum.fp32_nodes << " FP32 node(s), "
            << sum.coverage_brief << "\n";
  return session;
}

// --bench N: times N runs after the warm-up and prints median_ms and min_ms.
static Status BenchRuns(const RunArgs& o, Session& session, const TensorMap& feeds) {
  if (o.profile) session.EnableProfile();
  std::vector<double> ms;
  for (int i = 0; i < o.bench; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = session.Run(feeds);
    auto t1 = std::chrono::steady_clock::now();
    if (!r.ok()) return r.status();
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  double median =
      ms.size() % 2 ? ms[ms.size() / 2] : 0.5 * (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]);
  std::cout << std::fixed << std::setprecision(3) << "bench: runs=" << o.bench
            << " threads=" << session.num_threads() << " median_ms=" << median
            << " min_ms=" << ms.front() << "\n";
  return Status::Ok();
}

// Prints each output (dtype, shape, first values); with --output-dir also writes it as .npy.
static Status PrintOutputs(const RunArgs& o, const TensorMap& out) {
  for (const auto& [name, t] : out) {
    std::cout << name << ": " << DataTypeName(t.dtype()) << ShapeToString(t.shape());
    if (t.dtype() == DataType::kFloat32 && t.numel() > 0) {
      const float* p = t.data<float>();
      int64_t n = std::min<int64_t>(t.numel(), 6);
      std::cout << " [";
      for (int64_t i = 0; i < n; ++i) std::cout << (i ? ", " : "") << p[i];
      std::cout << (t.numel() > n ? ", ...]" : "]");
    }
    std::cout << "\n";
    if (!o.output_dir.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(o.output_dir, ec);
      std::string path =
          (std::filesystem::path(o.output_dir) / (SanitizeFileName(name) + ".npy")).string();
      Status s = SaveNpy(t, path);
      if (!s.ok()) return s;
    }
  }
  return Status::Ok();
}

// Declares the options of `calib8 run` on `sub`, stored in `o`.
static void DeclareRunOptions(CLI::App* sub, RunArgs* o) {
  sub->add_option("MODEL", o->model, "ONNX model file")->required();
  sub->add_option("--input,-i", o->inputs,
                  "NAME=FILE (FILE is .npy or an ONNX TensorProto .pb); NAME= may be left out "
                  "for a single-input model");
  sub->add_option("--dump", o->dump_dir,
                  "Record --tensors over the whole --data set: DIR/<tensor>.npy, samples on axis 0 "
                  "(for calibrate --from T=DIR/T.npy; docs/custom-layers.md)");
  sub->add_option("--tensors", o->dump_tensors, "With --dump: the tensors to record (T1,T2,...)")
      ->delimiter(',');
  sub->add_option("--data,-d", o->data,
                  "With --dump: data SPEC as for calibrate (NAME=SPEC for several inputs)");
  sub->add_option("--batch", o->batch, "With --dump: samples per inference (default 1)");
  sub->add_option("--max-samples", o->max_samples, "With --dump: use at most N samples");
  sub->add_option("--preprocess", o->preprocess, "With --dump: preprocessing for images:DIR");
  sub->add_option("--output-dir,-o", o->output_dir,
                  "Write each output to DIR/<output name>.npy (characters other than "
                  "A-Z a-z 0-9 . _ - become '_')");
  sub->add_option("--threads", o->threads, "Threads (default: all cores)");
  sub->add_option("--bench", o->bench,
                  "Time N runs after one warm-up; prints median_ms and min_ms");
  sub->add_flag("--reference", o->reference, "Use the reference kernels (slow, for checking)");
  sub->add_flag("--profile", o->profile,
                "Time every node; print the time per op type and the slowest nodes to stderr "
                "(ms per run, over the --bench runs or the one run)");
  sub->add_flag("--row-major", o->row_major,
                "Keep every FP32 tensor row-major (NCHW): no channels-last hand-over between "
                "convolutions (a measurement knob)");
  sub->add_flag("--int8", o->int8, "Run in INT8 with the scales of --table (FP32 where needed)");
  o->int8_args.Register(sub, "Calibration table (any format calib8 reads) for --int8");
  sub->add_flag("--nchw", o->nchw, "Keep 8-bit activations NCHW between layers (measurement knob)");
  sub->add_flag("--show-plan", o->show_plan, "Print the INT8 plan (as `calib8 plan`) to stderr");
}

// `calib8 run`: runs the model on --input feeds (FP32 or --int8), or records tensors (--dump).
// The nodes whose fast kernel handed the run to its reference twin, and why (stderr).
static void PrintKernelNotes(const Session& s, std::ostream& os) {
  for (const auto& [node, note] : s.KernelNotes()) os << "kernel: " << node << ": " << note << "\n";
}

static int RunModel(const RunArgs& o) {
  auto model = Model::Load(o.model);
  if (!model.ok()) return ReportError(model.status());
  if (!o.dump_dir.empty() || !o.data.empty() || !o.dump_tensors.empty())
    return DumpRunTensors(o, *model);
  if (o.inputs.empty())
    return ReportError(InvalidArgument("run needs --input NAME=FILE (or --dump with --data)"));
  auto feeds = ReadFeeds(o, *model);
  if (!feeds.ok()) return ReportError(feeds.status());
  SessionOptions so;
  so.threads = o.threads;
  so.reference = o.reference;
  so.profile = o.profile && o.bench == 0;  // with --bench: turned on after the warm-up
  so.row_major = o.row_major;
  auto session = CreateRunSession(o, *model, so);
  if (!session.ok()) return ReportError(session.status());
  auto out = session->Run(*feeds);
  if (!out.ok()) return ReportError(out.status());
  PrintKernelNotes(*session, std::cerr);
  if (o.bench > 0) {
    Status s = BenchRuns(o, *session, *feeds);
    if (!s.ok()) return ReportError(s);
  }
  if (o.profile) PrintProfile(*session, std::cerr);
  Status s = PrintOutputs(o, *out);
  if (!s.ok()) return ReportError(s);
  return 0;
}

Command AddRunCommand(CLI::App& app) {
  auto* sub = app.add_subcommand("run", "Run a model in FP32 on inputs from .npy or .pb files");
  auto o = std::make_shared<RunArgs>();
  DeclareRunOptions(sub, o.get());
  return [o]() -> int { return RunModel(*o); };
}

}  // namespace calib8::cli
