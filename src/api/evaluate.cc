// api/evaluate.cc — include/calib8/evaluate.h over the modules below.
#include "calib8/evaluate.h"

namespace calib8 {}  // namespace calib8
