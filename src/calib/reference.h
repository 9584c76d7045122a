// calib/reference.h — plain twins of the fast threshold searches (STYLE R3): each builds P, Q or
// the fake-quantised centres for every candidate exactly as docs/calibration.md states the
// formula, in O(N) per candidate. They are the executable spec; the fast searches in
// entropy_search.cc and simple_search.cc must pick the same candidate. Tests only: O(N^2).
#pragma once

#include <span>
#include <vector>

#include "calib/calibrator.h"

namespace calib8::calib::reference {

double Entropy2(const Entropy2Options& o, std::span<const double> counts, double w,
                std::vector<CurvePoint>* curve = nullptr);
double Entropy(const EntropyOptions& o, std::span<const double> counts, double w,
               std::vector<CurvePoint>* curve = nullptr);
double Mse(const MseOptions& o, std::span<const double> counts, double w,
           std::vector<CurvePoint>* curve = nullptr);

}  // namespace calib8::calib::reference
