#!/usr/bin/env bash
# scripts/test.sh — README's second command: set up, build, run the whole test suite (CTest:
# unit tests, ONNX conformance, real models vs ONNX Runtime, CLI and bad-input tests), then the
# unit, conformance and CLI tests again under AddressSanitizer + UBSan (which includes replaying
# the fuzz corpora, fuzz/), then a short libFuzzer smoke of every fuzz target (scripts/fuzz.sh;
# CALIB8_FUZZ_SECONDS per target, default 3; 0 skips it).
# CALIB8_WERROR=ON (set by .ci/run) makes compiler warnings errors in both builds.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
ctest --test-dir build --output-on-failure -j"$(nproc)"
echo "== AddressSanitizer/UBSan build"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCALIB8_SANITIZE=address,undefined \
  -DCALIB8_BUILD_BENCH=OFF -DCALIB8_WERROR="${CALIB8_WERROR:-OFF}" >/dev/null
cmake --build build-asan -j"$(nproc)" --target calib8_unit_tests calib8_cli calib8_mish calib8_conformance \
  calibrate_and_run fuzz_replay_all
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j"$(nproc)" -L 'unit|cli|conformance' -LE heavy
echo "== libFuzzer smoke (scripts/fuzz.sh ${CALIB8_FUZZ_SECONDS:-3})"
if [ "${CALIB8_FUZZ_SECONDS:-3}" != 0 ]; then
  scripts/fuzz.sh "${CALIB8_FUZZ_SECONDS:-3}"
fi
