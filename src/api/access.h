// api/access.h — what the public handles (include/calib8/model.h, table.h) hold, for the api
// module's own sources only.
#pragma once

#include <memory>
#include <string>

#include "calib8/model.h"
#include "calib8/table.h"
#include "exec/session.h"
#include "ir/graph.h"
#include "table/calibration_table.h"

namespace calib8::detail {

struct ModelImpl {
  std::string path;
  ir::Graph graph;  // as runtime::LoadModel returns it (optimised)
};

struct SessionImpl {
  std::unique_ptr<exec::Session> session;
  bool int8 = false;
  Int8Summary summary;
};

struct TableImpl {
  table::CalibrationTable table;
  table::TableFormat format = table::TableFormat::kTensorRt;  // of the file read
};

// The one door from a public handle to its implementation.
struct Access {
  static const ir::Graph& GraphOf(const Model& m) { return m.impl_->graph; }
  static Model Wrap(std::shared_ptr<const ModelImpl> impl) {
    Model m;
    m.impl_ = std::move(impl);
    return m;
  }
  static const table::CalibrationTable& TableOf(const Table& t) { return t.impl_->table; }
  static Table Wrap(std::shared_ptr<const TableImpl> impl) {
    Table t;
    t.impl_ = std::move(impl);
    return t;
  }
};

}  // namespace calib8::detail
