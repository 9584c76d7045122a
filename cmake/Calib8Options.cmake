# Every calib8 build option, one prefix, one place.
option(CALIB8_BUILD_TESTS "Build the test suite" ${PROJECT_IS_TOP_LEVEL})
option(CALIB8_BUILD_BENCH "Build the benchmarks" ${PROJECT_IS_TOP_LEVEL})
option(CALIB8_WERROR "Treat warnings as errors" OFF)
set(CALIB8_SANITIZE "" CACHE STRING "Sanitizers to build with, e.g. address,undefined")
