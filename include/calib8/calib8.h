// calib8/calib8.h — the whole public library API (docs/library.md): load and run models
// (calib8/model.h), calibrate them (calib8/calibrate.h), read, write, compare and check their
// tables (calib8/table.h, table_tools.h), export and import Q/DQ ONNX (calib8/qdq.h), show the
// INT8 plan (calib8/plan.h), measure the accuracy cost (calib8/evaluate.h). Link calib8::api.
#pragma once

#include "calib8/calibrate.h"
#include "calib8/evaluate.h"
#include "calib8/files.h"
#include "calib8/model.h"
#include "calib8/plan.h"
#include "calib8/progress.h"
#include "calib8/qdq.h"
#include "calib8/status.h"
#include "calib8/table.h"
#include "calib8/table_tools.h"
#include "calib8/tensor.h"
