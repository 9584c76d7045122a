// core/progress.h — the progress reporter lives in the public header calib8/progress.h (the CLI
// and library users drive it); this module implements it and keeps the core:: names.
#pragma once

#include "calib8/progress.h"

namespace calib8::core {

using calib8::DefaultProgressMode;
using calib8::DefaultProgressStyle;
using calib8::ProgressCallback;
using calib8::ProgressMode;
using calib8::ProgressReporter;
using calib8::ProgressStyle;
using calib8::ProgressUpdate;

}  // namespace calib8::core
