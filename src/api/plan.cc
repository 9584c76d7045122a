// api/plan.cc — include/calib8/plan.h over the modules below.
#include "calib8/plan.h"

namespace calib8 {}  // namespace calib8
