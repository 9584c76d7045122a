// stats/reduce.h — combining calibration statistics across processes (`calibrate --mpi`).
//
// Comm is the handful of collective operations a distributed calibration needs; dist::MpiComm
// (src/dist, built with CALIB8_MPI) implements it over MPI_COMM_WORLD. The functions below pack a
// StatsState into flat arrays and combine them:
//   pass 1  AllReduceRanges:  min, max, absmax (MIN) and element/sample counts (SUM), result on
//                             every process (pass 2 needs the global ranges everywhere);
//   pass 2  ReduceHistograms: |x| and x<0 counts per bin (SUM), result on rank 0 only.
// Both are exact (maxima, and integer counts held in doubles below 2^53), so the combined state is
// the state one process would have collected from all the samples, bit for bit.
// Every Comm call is collective: all processes make the same calls in the same order. A process
// that fails between two collectives must still reach the next Agree (calib::Calibrate does), so
// that every process learns of the failure and returns it instead of waiting forever.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "calib8/status.h"
#include "stats/collector.h"

namespace calib8::stats {

class Comm {
 public:
  virtual ~Comm() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Every process passes its own status. Ok when all are ok; otherwise every process gets the
  // error of the lowest failing rank: its code, and "rank R of N: MESSAGE".
  virtual Status Agree(const Status& local) = 0;
  // Element-wise over all processes, result on every process. Same length on every process.
  virtual Status AllReduceMin(std::vector<double>& v) = 0;
  virtual Status AllReduceSum(std::vector<int64_t>& v) = 0;
  // Element-wise sum onto rank 0 (v is left as it was on the other ranks).
  virtual Status ReduceSumToRoot(std::vector<double>& v) = 0;
};

// Fails on every process alike ("the ranks disagree on WHAT") unless all passed the same value.
Status CheckSame(Comm& comm, uint64_t value, const std::string& what);

// Pass 1: every process ends with the merged ranges of all processes (StatsState::Merge of the
// ranges) and the total sample count. Fails alike everywhere if the processes saw different
// tensors. Returns the bytes each process contributes to the reductions.
Result<int64_t> AllReduceRanges(Comm& comm, StatsState& state);

// Pass 2 (after AllReduceRanges, so that every histogram has the same range): rank 0 ends with
// the sum of all processes' histograms. Returns the bytes each process sends.
Result<int64_t> ReduceHistograms(Comm& comm, StatsState& state);

// 64-bit FNV-1a of a string (the consistency checks above).
uint64_t Fnv1a64(const std::string& s);

}  // namespace calib8::stats
