// ops/onednn_util.h — the one seam between calib8 and oneDNN's C++ API for FP32 kernels:
// the shared CPU engine, a stream per call, and the conversion of dnnl::error to Status.
// oneDNN here is built with OpenMP: it uses the thread count the Session sets for a run.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <functional>
#include <string>

#include "calib8/status.h"

namespace calib8::ops {

// The process-wide CPU engine (created on first use).
inline dnnl::engine& CpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// Runs `fn`, converting a dnnl::error into a Status that names what was being done.
inline Status OneDnnCall(const std::string& what, const std::function<void()>& fn) {
  try {
    fn();
  } catch (const dnnl::error& e) {
    return Internal("oneDNN failed while ", what, ": ", e.what(), " (status ", static_cast<int>(e.status), ")");
  } catch (const std::exception& e) {
    return Internal("oneDNN failed while ", what, ": ", e.what());
  }
  return Status::Ok();
}

}  // namespace calib8::ops
