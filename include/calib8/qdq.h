// calib8/qdq.h — explicit Q/DQ ONNX export and import (calib8 export-qdq, import-qdq).
// (Being filled in: the API that makes the CLI a client of the library, issue 11.)
#pragma once

#include "calib8/status.h"

namespace calib8 {}  // namespace calib8
