// calib8/evaluate.h — FP32-vs-INT8 comparison, per-layer sensitivity and their reports (calib8
// compare, sensitivity). (Being filled in: the API that makes the CLI a client of the library,
// issue 11.)
#pragma once

#include "calib8/status.h"

namespace calib8 {}  // namespace calib8
