# tests/cli/search_test_lib.sh — sourced by the two output-search tests (asym_search_cli_test.sh,
# sym_search_cli_test.sh), which check that a search chooses the same whatever the order of the
# data: `order_pair DIR SEED` writes the first 128 Fashion-MNIST training images as
# DIR/in_order.npy and, permuted by numpy's default_rng(SEED), as DIR/shuffled.npy.
order_pair() {
  "${PY:-/usr/bin/python3}" - "$1" "$2" <<'PYEOF'
import gzip, sys, numpy as np
w, seed = sys.argv[1], int(sys.argv[2])
raw = gzip.open('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz').read()
x = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 1, 28, 28)[:128].astype(np.float32) / 255
np.save(w + '/in_order.npy', x)
np.save(w + '/shuffled.npy', x[np.random.default_rng(seed).permutation(128)])
PYEOF
}
