// onnx/onnx_import_test.cc — the IR names the importer gives nodes (onnx_import.h IrNodeNames,
// GraphFromModel): unnamed nodes get "<op>_<index>", a repeated name gets "_<index>", and the
// result is unique even when a renamed node meets a name another node already has (the case that
// gave two IR nodes one name before). Expected names are written out by hand from that rule.
#include "onnx/onnx_import.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <set>
#include <string>
#include <vector>

namespace calib8::onnx_io {
namespace {

// A chain x -> Relu -> ... -> y with the given node names ("" = unnamed).
onnx::ModelProto ReluChain(const std::vector<std::string>& names) {
  onnx::ModelProto m;
  m.set_ir_version(7);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  std::string prev = "x";
  for (size_t i = 0; i < names.size(); ++i) {
    auto* n = g->add_node();
    n->set_op_type("Relu");
    n->set_name(names[i]);
    n->add_input(prev);
    prev = std::string(1, 't').append(std::to_string(i));  // not "t" + ...: GCC 12 -Wrestrict
    n->add_output(prev);
  }
  for (const auto* name : {"x", prev.c_str()}) {
    auto* v = name == std::string("x") ? g->add_input() : g->add_output();
    v->set_name(name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    tt->mutable_shape()->add_dim()->set_dim_value(2);
  }
  return m;
}

TEST(IrNodeNames, UnnamedAndRepeatedNames) {
  const auto m = ReluChain({"", "a", "a", ""});
  EXPECT_EQ(IrNodeNames(m.graph()), (std::vector<std::string>{"Relu_0", "a", "a_2", "Relu_3"}));
}

TEST(IrNodeNames, RenamedNodeMeetingAnotherNameStaysUnique) {
  // "X" twice, then a node really named "X_1": the second "X" becomes "X_1", so the third node,
  // whose own name is now taken, becomes "X_1_2".
  const auto m = ReluChain({"X", "X", "X_1"});
  EXPECT_EQ(IrNodeNames(m.graph()), (std::vector<std::string>{"X", "X_1", "X_1_2"}));
  // An unnamed Relu at index 1 would be "Relu_1", which node 0 already is.
  const auto m2 = ReluChain({"Relu_1", ""});
  EXPECT_EQ(IrNodeNames(m2.graph()), (std::vector<std::string>{"Relu_1", "Relu_1_1"}));
}

TEST(IrNodeNames, GraphFromModelUsesThemAndTheyAreUnique) {
  const auto m = ReluChain({"X", "X", "X_1", "", "Relu_3"});
  ImportOptions io;
  io.infer_shapes = false;
  auto g = GraphFromModel(m, "model 'chain'", ".", io);
  ASSERT_TRUE(g.ok()) << g.status().message();
  std::set<std::string> names;
  for (const auto& n : g->nodes) names.insert(n.name);
  EXPECT_EQ(names, (std::set<std::string>{"X", "X_1", "X_1_2", "Relu_3", "Relu_3_4"}));
}

}  // namespace
}  // namespace calib8::onnx_io
