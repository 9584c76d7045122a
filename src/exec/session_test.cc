// exec/session_test.cc — the executor on hand-built graphs with a test-local op registry (the same
// run-time registration path custom-layer plugins use): observer coverage, memory release, feed
// checks, unsupported-op messages.
#include "exec/session.h"

#include <gtest/gtest.h>

#include <set>

namespace calib8::exec {
namespace {

// "AddOne": y = x + 1, a fresh buffer per call (so memory release is observable).
std::unique_ptr<OpRegistry> MakeRegistry() {
  auto r = std::make_unique<OpRegistry>();
  OpEntry e;
  e.domain = "test";
  e.op_type = "AddOne";
  e.reference = Stateless([](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    Tensor y(x.dtype(), x.shape());
    for (int64_t i = 0; i < x.numel(); ++i) y.data<float>()[i] = x.data<float>()[i] + 1.0f;
    ctx.outputs[0] = std::move(y);
    return Status::Ok();
  });
  EXPECT_TRUE(r->Register(e).ok());
  return r;
}

ir::Graph Chain(int depth, int64_t numel) {
  ir::Graph g;
  g.source = "test chain";
  g.opsets["test"] = 1;
  g.opsets[""] = 13;
  ir::ValueInfo in{"x", DataType::kFloat32, {{numel, ""}}, true};
  g.inputs.push_back(in);
  std::string prev = "x";
  for (int i = 0; i < depth; ++i) {
    ir::Node n;
    n.name = "n" + std::to_string(i);
    n.op_type = "AddOne";
    n.domain = "test";
    n.inputs = {prev};
    prev = "t" + std::to_string(i);
    n.outputs = {prev};
    g.nodes.push_back(n);
  }
  g.outputs.push_back(ir::ValueInfo{prev, DataType::kFloat32, {}, false});
  return g;
}

struct Recorder : TensorObserver {
  std::vector<std::string> names;
  float last_first = 0;
  void OnTensor(const std::string& name, const ir::Node*, const Tensor& v) override {
    names.push_back(name);
    last_first = v.data<float>()[0];
  }
};

TEST(Session, ObserverSeesEveryFloatTensorInOrder) {
  auto reg = MakeRegistry();
  ir::Graph g = Chain(5, 8);
  SessionOptions so;
  so.registry = reg.get();
  auto s = Session::Create(g, so);
  ASSERT_TRUE(s.ok()) << s.status().message();
  Recorder rec;
  auto out = (*s)->Run({{"x", Tensor::FromVector<float>({8}, std::vector<float>(8, 2.0f))}}, &rec);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(rec.names, (std::vector<std::string>{"x", "t0", "t1", "t2", "t3", "t4"}));
  EXPECT_EQ(rec.last_first, 7.0f);
  EXPECT_EQ((*out)["t4"].data<float>()[0], 7.0f);
}

TEST(Session, PeakMemoryFollowsLiveSetNotChainLength) {
  auto reg = MakeRegistry();
  const int64_t numel = 1 << 18;  // 1 MiB of float32 per tensor
  const int depth = 64;           // 64 MiB if nothing were released
  ir::Graph g = Chain(depth, numel);
  SessionOptions so;
  so.registry = reg.get();
  auto s = Session::Create(g, so);
  ASSERT_TRUE(s.ok());
  Tensor x(DataType::kFloat32, {numel});
  for (int64_t i = 0; i < numel; ++i) x.data<float>()[i] = 0.0f;
  ResetTensorBytesPeak();
  const int64_t before = TensorBytesLive();
  auto out = (*s)->Run({{"x", x}});
  ASSERT_TRUE(out.ok());
  const int64_t peak = TensorBytesPeak() - before;
  // Live set: the input of a node and its output (2 MiB) plus the kept graph output; allow 4 MiB.
  EXPECT_LE(peak, 4 * numel * 4) << "peak " << peak << " bytes for a chain of " << depth;
  EXPECT_EQ((*out)["t63"].data<float>()[0], 64.0f);
}

TEST(Session, RejectsWrongFeedShapeNamingBothShapes) {
  auto reg = MakeRegistry();
  ir::Graph g = Chain(1, 8);
  SessionOptions so;
  so.registry = reg.get();
  auto s = Session::Create(g, so);
  ASSERT_TRUE(s.ok());
  auto out = (*s)->Run({{"x", Tensor(DataType::kFloat32, {9})}});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("expected shape [8], got [9]"), std::string::npos)
      << out.status().message();
  auto missing = (*s)->Run({});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("no value given for input 'x'"), std::string::npos);
}

TEST(Session, UnsupportedOpsAreAllNamed) {
  OpRegistry empty;
  ir::Graph g = Chain(2, 4);
  SessionOptions so;
  so.registry = &empty;
  auto s = Session::Create(g, so);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(s.status().message().find("test::AddOne"), std::string::npos) << s.status().message();
}

TEST(OpRegistry, RejectsOverlappingRegistration) {
  auto r = MakeRegistry();
  OpEntry e;
  e.domain = "test";
  e.op_type = "AddOne";
  e.reference = Stateless([](KernelContext&) { return Status::Ok(); });
  Status s = r->Register(e);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("already registered"), std::string::npos);
}

}  // namespace
}  // namespace calib8::exec
