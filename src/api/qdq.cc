// api/qdq.cc — include/calib8/qdq.h over the modules below.
#include "calib8/qdq.h"

namespace calib8 {}  // namespace calib8
