// tests/calib/calib_check_main.cc — reads histograms written by reference_calibrators.py, runs
// every calibrator (and the option variants the test compares) through calib::Calibrate, and prints
// one line per (histogram, method): "NAME LABEL AMAX". The Python side compares them with its own
// independent implementations. Input lines: "NAME NUM_BINS RANGE ABSMAX COUNT_0 ... COUNT_{N-1}".
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "calib/calibrator.h"

using namespace calib8;

// --asym FILE: lines "NAME NUM_BINS ABSMAX MIN MAX |x| COUNTS... NEG COUNTS..."; prints
// "NAME asym/P LO HI" for each percentile P the Python side checks.
int Asym(const char* path) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::istringstream ls(line);
    std::string name;
    int num_bins = 0;
    double absmax = 0, mn = 0, mx = 0;
    ls >> name >> num_bins >> absmax >> mn >> mx;
    stats::AbsHistogram hist(absmax, num_bins);
    for (int j = 0; j < num_bins; ++j) ls >> hist.mutable_counts()[j];
    for (int j = 0; j < num_bins; ++j) ls >> hist.mutable_neg_counts()[j];
    if (!ls) {
      std::cerr << path << ": " << name << ": expected 2 x " << num_bins << " counts\n";
      return 2;
    }
    stats::RunningStats running;
    running.min = mn;
    running.max = mx;
    running.absmax = absmax;
    running.count = static_cast<int64_t>(hist.total());
    for (double p : {99.99, 99.9}) {
      auto r = calib::ChooseAsymmetricRange({.percentile = p}, running, hist);
      if (!r.ok()) {
        std::cerr << name << ": " << r.status().message() << "\n";
        return 1;
      }
      std::ostringstream label;  // default precision: "asym/99.99", as Python's repr
      label << "asym/" << p;
      std::cout.precision(17);
      std::cout << name << " " << label.str() << " " << r->lo << " " << r->hi << "\n";
    }
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--asym") return Asym(argv[2]);
  if (argc != 2) {
    std::cerr << "usage: calib8_calib_check HISTOGRAMS.txt\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  if (!in) {
    std::cerr << "cannot open '" << argv[1] << "'\n";
    return 2;
  }
  calib::Entropy2Options centre;
  centre.threshold_at = calib::ThresholdAt::kBinCentre;
  calib::Entropy2Options keep_zero;
  keep_zero.replace_zero_bin = false;
  const std::vector<std::pair<std::string, calib::CalibratorOptions>> variants = {
      {"entropy2", calib::Entropy2Options{}},
      {"entropy2/centre", centre},
      {"entropy2/keep_zero", keep_zero},
      {"entropy", calib::EntropyOptions{}},
      {"minmax", calib::MinMaxOptions{}},
      {"percentile", calib::PercentileOptions{}},
      {"percentile/99.9", calib::PercentileOptions{.percentile = 99.9}},
      {"percentile/99.999", calib::PercentileOptions{.percentile = 99.999}},
      {"mse", calib::MseOptions{}},
  };
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    std::istringstream ls(line);
    std::string name;
    int num_bins = 0;
    double range = 0, absmax = 0;
    ls >> name >> num_bins >> range >> absmax;
    stats::RunningStats running;
    running.absmax = absmax;
    running.count = 1;
    stats::AbsHistogram hist;
    if (range > 0) {
      hist = stats::AbsHistogram(range, num_bins);
      for (int j = 0; j < num_bins; ++j) ls >> hist.mutable_counts()[j];
      running.count = static_cast<int64_t>(hist.total());
    }
    if (!ls) {
      std::cerr << argv[1] << ": line " << line_no << ": expected " << num_bins << " counts\n";
      return 2;
    }
    for (const auto& [label, options] : variants) {
      auto r = calib::Calibrate(options, running, hist);
      if (!r.ok()) {
        std::cerr << name << " " << label << ": " << r.status().message() << "\n";
        return 1;
      }
      std::cout.precision(17);
      std::cout << name << " " << label << " " << r->amax << " " << (r->all_zero ? 1 : 0) << "\n";
    }
  }
  return 0;
}
