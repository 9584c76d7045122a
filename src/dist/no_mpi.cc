// dist/no_mpi.cc — dist/mpi_comm.h in a build without MPI (CALIB8_MPI=OFF).
#include "dist/mpi_comm.h"

namespace calib8::dist {

bool MpiBuiltIn() { return false; }

Result<std::unique_ptr<stats::Comm>> InitMpi() {
  return Unimplemented(
      "--mpi: this calib8 was built without MPI (CALIB8_MPI=OFF); install "
      "Open MPI (Debian: openmpi-bin libopenmpi-dev) and reconfigure, or use "
      "--shard I/N (docs/distributed.md)");
}

}  // namespace calib8::dist
