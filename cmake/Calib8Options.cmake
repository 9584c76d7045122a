# Every calib8 build option, one prefix, one place.
option(CALIB8_BUILD_TESTS "Build the test suite" ${PROJECT_IS_TOP_LEVEL})
option(CALIB8_BUILD_BENCH "Build the benchmarks" ${PROJECT_IS_TOP_LEVEL})
option(CALIB8_WERROR "Treat warnings as errors" OFF)
set(CALIB8_SANITIZE "" CACHE STRING "Sanitizers to build with, e.g. address,undefined")
# Our own kernels (element-wise ops, statistics) are plain C++ left to the compiler's vectoriser;
# -march=native lets it use AVX2/AVX-512 on the build machine. oneDNN dispatches at run time on its
# own. Turn this off to build binaries that run on any x86-64.
option(CALIB8_NATIVE "Compile for the build machine's CPU (-march=native)" ON)
# calibrate --mpi (src/dist): on when CMake finds MPI (Debian: openmpi-bin, libopenmpi-dev). Off,
# calib8 builds without it and `calibrate --mpi` says so; `--shard I/N` needs no MPI.
find_package(MPI COMPONENTS CXX QUIET)
option(CALIB8_MPI "Build calibrate --mpi (needs MPI)" ${MPI_CXX_FOUND})
if(CALIB8_MPI AND NOT MPI_CXX_FOUND)
  message(FATAL_ERROR "CALIB8_MPI=ON but CMake found no MPI: install libopenmpi-dev or use -DCALIB8_MPI=OFF")
endif()
# libFuzzer targets under fuzz/ (clang only; scripts/fuzz.sh): instruments the whole build with
# ASan + UBSan and coverage for libFuzzer, and builds fuzz_<name> instead of the replay tests.
option(CALIB8_FUZZ "Build the libFuzzer targets (clang, ASan+UBSan)" OFF)
