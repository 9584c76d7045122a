// dist/mpi_comm.cc — see mpi_comm.h. The only file that includes <mpi.h>.
#define OMPI_SKIP_MPICXX 1  // the C API only (Open MPI's deprecated C++ bindings stay out)
#define MPICH_SKIP_MPICXX 1
#include "dist/mpi_comm.h"

#include <mpi.h>

#include <string>

namespace calib8::dist {

namespace {

Status Check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return Status::Ok();
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  return Internal(what, " failed: ", std::string(text, static_cast<size_t>(len)));
}

class MpiComm final : public stats::Comm {
 public:
  MpiComm() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  ~MpiComm() override { MPI_Finalize(); }

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  Status Agree(const Status& local) override {
    int mine = local.ok() ? size_ : rank_, first = size_;
    CALIB8_RETURN_IF_ERROR(Check(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD),
                                 "MPI_Allreduce (status)"));
    if (first == size_) return Status::Ok();
    // The lowest failing rank tells everyone its code and message.
    int64_t header[2] = {static_cast<int64_t>(local.code()),
                         static_cast<int64_t>(local.message().size())};
    CALIB8_RETURN_IF_ERROR(
        Check(MPI_Bcast(header, 2, MPI_INT64_T, first, MPI_COMM_WORLD), "MPI_Bcast"));
    std::string message =
        rank_ == first ? local.message() : std::string(static_cast<size_t>(header[1]), ' ');
    CALIB8_RETURN_IF_ERROR(Check(
        MPI_Bcast(message.data(), static_cast<int>(header[1]), MPI_CHAR, first, MPI_COMM_WORLD),
        "MPI_Bcast"));
    return Status(static_cast<StatusCode>(header[0]), "rank " + std::to_string(first) + " of " +
                                                          std::to_string(size_) + ": " + message);
  }

  Status AllReduceMin(std::vector<double>& v) override {
    return Check(
        MPI_Allreduce(MPI_IN_PLACE, v.data(), Count(v), MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD),
        "MPI_Allreduce (min)");
  }
  Status AllReduceSum(std::vector<int64_t>& v) override {
    return Check(
        MPI_Allreduce(MPI_IN_PLACE, v.data(), Count(v), MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD),
        "MPI_Allreduce (sum)");
  }
  Status ReduceSumToRoot(std::vector<double>& v) override {
    // Integer counts in doubles below 2^53: the sum is exact in any order.
    if (rank_ == 0)
      return Check(
          MPI_Reduce(MPI_IN_PLACE, v.data(), Count(v), MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD),
          "MPI_Reduce (sum)");
    return Check(MPI_Reduce(v.data(), nullptr, Count(v), MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD),
                 "MPI_Reduce (sum)");
  }

 private:
  template <typename T>
  static int Count(const std::vector<T>& v) {
    return static_cast<int>(v.size());
  }
  int rank_ = 0, size_ = 1;
};

}  // namespace

bool MpiBuiltIn() { return true; }

Result<std::unique_ptr<stats::Comm>> InitMpi() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) return Internal("MPI is already initialised in this process");
  int provided = 0;
  CALIB8_RETURN_IF_ERROR(
      Check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread"));
  return std::unique_ptr<stats::Comm>(new MpiComm());
}

}  // namespace calib8::dist
