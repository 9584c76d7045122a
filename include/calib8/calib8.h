// calib8/calib8.h — the whole public library API (docs/library.md): load and run models
// (calib8/model.h), calibrate them (calib8/calibrate.h), read and write their tables
// (calib8/table.h). Link calib8::api.
#pragma once

#include "calib8/calibrate.h"
#include "calib8/model.h"
#include "calib8/status.h"
#include "calib8/table.h"
#include "calib8/tensor.h"
