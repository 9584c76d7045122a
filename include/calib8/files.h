// calib8/files.h — whole-file reads with clear errors, and atomic writes (temp file + rename),
// so a failed or interrupted write never leaves a half-written output behind. Implemented by
// core/file_util.cc; the CLI writes every output through WriteFileAtomic.
#pragma once

#include <string>

#include "calib8/status.h"

namespace calib8 {

// Reads all bytes of `path`. `what` names the file's role in messages ("model", "table").
Result<std::string> ReadFile(const std::string& path, const std::string& what);

// Writes `bytes` to `path` via a temporary file in the same directory (`.NAME.tmp.PID`) and a
// rename: killed at any point (kill -9), the destination is the old file or the new one, never
// a part. A temporary file a killed writer left behind is removed by the next write of the same
// path (its PID no longer runs).
Status WriteFileAtomic(const std::string& path, const std::string& bytes);

}  // namespace calib8
