// api/table_tools.cc — include/calib8/table_tools.h over the modules below.
#include "calib8/table_tools.h"

namespace calib8 {}  // namespace calib8
