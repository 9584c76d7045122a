// ops/kernel_notes_test.cc — a fast kernel that hands a case to its reference twin says so
// (KernelContext::Note -> Session::kernel_notes()), and one that stays on its fast path says
// nothing. The case: AveragePool with ceil_mode and count_include_pad, whose last window needs more
// end padding than the pads give. oneDNN's include-padding average would count that extra pad
// too, so the fast kernel must not run it (ONNX counts only the declared pads).
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "exec/session.h"
#include "ops/ops.h"

namespace calib8 {
namespace {

using ir::Attribute;

// x [1,2,10,10] -> AveragePool k3 s2 p1 (ceil_mode = `ceil`, count_include_pad 1) -> y.
ir::Graph PoolGraph(bool ceil) {
  ir::Graph g;
  g.source = "kernel notes test";
  g.opsets[""] = 13;
  g.inputs.push_back(
      ir::ValueInfo{"x", DataType::kFloat32, {{1, ""}, {2, ""}, {10, ""}, {10, ""}}, true});
  ir::Node n;
  n.name = "pool";
  n.op_type = "AveragePool";
  n.inputs = {"x"};
  n.outputs = {"y"};
  n.attrs = {{"kernel_shape", Attribute::Ints({3, 3})},
             {"strides", Attribute::Ints({2, 2})},
             {"pads", Attribute::Ints({1, 1, 1, 1})},
             {"ceil_mode", Attribute::Int(ceil ? 1 : 0)},
             {"count_include_pad", Attribute::Int(1)}};
  g.nodes.push_back(std::move(n));
  g.outputs.push_back(ir::ValueInfo{"y", DataType::kFloat32, {}, false});
  return g;
}

std::string NoteOfRun(bool ceil) {
  exec::SessionOptions o;
  o.registry = &ops::BuiltinRegistry();
  o.num_threads = 1;
  auto s = exec::Session::Create(PoolGraph(ceil), o);
  EXPECT_TRUE(s.ok()) << s.status().message();
  if (!s.ok()) return "(no session)";
  Tensor x(DataType::kFloat32, {1, 2, 10, 10});
  std::mt19937 rng(3);
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>(rng() % 100) / 50;
  auto r = (*s)->Run({{"x", x}});
  EXPECT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*s)->kernel_notes().size(), 1u);
  return (*s)->kernel_notes().empty() ? "(none)" : (*s)->kernel_notes()[0];
}

TEST(KernelNotes, ReferenceFallbackIsRecordedWithItsReason) {
  const std::string note = NoteOfRun(true);
  EXPECT_NE(note.find("reference kernel"), std::string::npos) << note;
  EXPECT_NE(note.find("ceil_mode"), std::string::npos) << note;
}

TEST(KernelNotes, FastPathLeavesNoNote) { EXPECT_EQ(NoteOfRun(false), ""); }

}  // namespace
}  // namespace calib8
