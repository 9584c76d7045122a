// core/file_util.h — whole-file reads with clear errors, and atomic writes (temp file + rename),
// so a failed or interrupted write never leaves a half-written output behind.
#pragma once

#include <string>

#include "calib8/status.h"

namespace calib8::core {

// Reads all bytes of `path`. `what` names the file's role in messages ("model", "table").
Result<std::string> ReadFile(const std::string& path, const std::string& what);

// Writes `bytes` to `path` via a temporary file in the same directory and a rename.
Status WriteFileAtomic(const std::string& path, const std::string& bytes);

}  // namespace calib8::core
