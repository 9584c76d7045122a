#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS] [TARGET...] — builds the libFuzzer targets under fuzz/ with clang,
# ASan and UBSan (build-fuzz/, -DCALIB8_FUZZ=ON) and runs each for SECONDS (default 60), one
# after the other, at low priority. Installs clang and libclang-rt-14-dev when missing.
# Each target starts from its seed corpus (fuzz/corpus/<t>, the regression corpus
# fuzz/regressions/<t>, and the real files named below) and keeps what it learns in
# build-fuzz/corpus/<t>. A crash leaves its input in build-fuzz/artifacts/<t>/ and makes the
# script exit 1: fix it, then add the input to fuzz/regressions/<t>/ so CTest replays it.
# Every run appends "target seconds executions crashes" to build-fuzz/fuzz-log.txt.
# docs/fuzzing.md describes the targets, the campaign so far and how to reproduce a crash.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${1:-60}"
shift || true
ALL="table sidecar stats npy tensor_pb idx image onnx qdq_import plan"
TARGETS="${*:-$ALL}"

# clang 14 and its runtime (libFuzzer, sanitizers): Debian 12's clang and libclang-rt-14-dev.
missing=()
command -v clang++ >/dev/null || missing+=(clang)
dpkg -s libclang-rt-14-dev >/dev/null 2>&1 || missing+=(libclang-rt-14-dev)
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  echo "== installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

B=build-fuzz
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
if [ ! -f "$B/CMakeCache.txt" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCALIB8_FUZZ=ON \
    -DCALIB8_BUILD_TESTS=OFF -DCALIB8_BUILD_BENCH=OFF "${launcher[@]}" >/dev/null
fi
# Never -Werror here: the warning-free rule is for g++ (docs/design.md); clang 14 reports other
# things (e.g. `#pragma omp simd` loops it cannot vectorise under the sanitizers).
cmake -S . -B "$B" -DCALIB8_WERROR=OFF >/dev/null
echo "== building the fuzz targets in $B"
nice cmake --build "$B" -j"$(nproc)" --target $(for t in $TARGETS; do echo "fuzz_$t"; done)

# Real files as extra seeds: the table corpus, and a few ONNX backend node tests (Debian's
# libonnx-testdata, when installed) for the model and tensor readers.
NODE=/usr/share/libonnx-testdata/data/node
extra_seeds() {
  case "$1" in
    table) echo tests/data/calibration-tables ;;
    onnx|qdq_import|tensor_pb)
      [ -d "$NODE" ] || return 0
      local d=$B/seeds/$1
      if [ ! -d "$d" ]; then
        mkdir -p "$d"
        for t in test_conv_with_strides_padding test_relu test_gemm_default_no_bias test_reshape_reduced_dims \
                 test_maxpool_2d_pads test_quantizelinear test_dequantizelinear test_qlinearconv test_batchnorm_example \
                 test_concat_3d_axis_1 test_resize_upsample_scales_nearest test_constant_pad; do
          [ -d "$NODE/$t" ] || continue
          if [ "$1" = tensor_pb ]; then cp "$NODE/$t/test_data_set_0/input_0.pb" "$d/$t.pb"
          else cp "$NODE/$t/model.onnx" "$d/$t.onnx"; fi
        done
      fi
      echo "$d" ;;
  esac
}

status=0
for t in $TARGETS; do
  mkdir -p "$B/corpus/$t" "$B/artifacts/$t" fuzz/regressions/$t
  seeds=(fuzz/corpus/$t fuzz/regressions/$t $(extra_seeds "$t"))
  echo "== fuzz_$t for ${SECONDS_PER_TARGET}s (seeds: ${seeds[*]})"
  log="$B/artifacts/$t/last.log"
  # -rss_limit_mb: an input that makes a reader reserve more than 2 GiB is a finding (every size
  # read from a file must be checked before allocating, docs/limits.md).
  set +e
  nice -n 10 "$B/fuzz/fuzz_$t" -max_total_time="$SECONDS_PER_TARGET" -timeout=20 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$B/artifacts/$t/" "$B/corpus/$t" "${seeds[@]}" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  crashes=$(find "$B/artifacts/$t" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'oom-*' -o -name 'timeout-*' \) | wc -l)
  echo "$t ${SECONDS_PER_TARGET} ${execs:-?} $crashes rc=$rc $(date -u +%FT%TZ)" >> "$B/fuzz-log.txt"
  echo "   executions: ${execs:-?}, corpus: $(ls "$B/corpus/$t" | wc -l) files, artifacts: $crashes, exit $rc"
  if [ $rc -ne 0 ]; then
    status=1
    grep -m1 -A12 -E "ERROR: (AddressSanitizer|libFuzzer)|runtime error|SUMMARY" "$log" || tail -20 "$log"
  fi
done
exit $status
