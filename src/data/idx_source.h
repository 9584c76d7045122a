// data/idx_source.h — IDX files (the format of MNIST and Fashion-MNIST) read whole, for what is
// not a sample set: class labels. Samples are read through data_source.h (idx:PATH); both go
// through the same gzip reader and element-type table (idx_source.cc).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "calib8/status.h"

namespace calib8::data {

// The labels of a one-dimensional IDX file of unsigned or signed bytes (type 0x08 or 0x09),
// gzip-compressed or plain. Fails, naming the file, when it cannot be opened (NotFound), is not
// valid gzip, is not a one-dimensional IDX file, holds another element type or is shorter than
// its header says.
Result<std::vector<int64_t>> ReadIdxLabels(const std::string& path);

}  // namespace calib8::data
