// dist/mpi_comm.h — stats::Comm over MPI (`calibrate --mpi`, docs/distributed.md).
//
// Built with CALIB8_MPI (on when CMake finds MPI, e.g. Debian's libopenmpi-dev). Without it,
// InitMpi() fails with a message saying so, and the rest of calib8 works as before.
#pragma once

#include <memory>

#include "calib8/status.h"
#include "stats/reduce.h"

namespace calib8::dist {

// True when this calib8 was built with MPI.
bool MpiBuiltIn();

// Initialises MPI (MPI_THREAD_FUNNELED: OpenMP threads compute, the main thread communicates)
// and returns MPI_COMM_WORLD as a stats::Comm; destroying it finalises MPI. Once per process.
// Run under `mpiexec -n N`; started directly it is a world of one process.
Result<std::unique_ptr<stats::Comm>> InitMpi();

}  // namespace calib8::dist
