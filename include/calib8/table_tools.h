// calib8/table_tools.h — table diff, merge, validation against a model, fingerprints and sidecars,
// and conversion to PyTorch scales (calib8 inspect, convert, diff, merge, validate). (Being filled
// in: the API that makes the CLI a client of the library, issue 11.)
#pragma once

#include "calib8/status.h"

namespace calib8 {}  // namespace calib8
