// calib8/plan.h — the INT8 plan of a model with a table, and the CPU's INT8 features (calib8 plan,
// doctor). (Being filled in: the API that makes the CLI a client of the library, issue 11.)
#pragma once

#include "calib8/status.h"

namespace calib8 {}  // namespace calib8
