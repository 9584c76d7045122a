// core/file_util.h — the whole-file read and the atomic write live in the public header
// calib8/files.h; this module implements them and keeps the core:: names.
#pragma once

#include "calib8/files.h"

namespace calib8::core {

using calib8::ReadFile;
using calib8::WriteFileAtomic;

}  // namespace calib8::core
