#!/usr/bin/env python3
"""Reference timings for `node bench/run.mjs hessian` (numpy / scipy, float64).

  eigvalsh <matrix.f64> <n> <repeats>
      numpy.linalg.eigvalsh of the n x n row-major float64 matrix in the file.
  eigsh <kernel.f32> <height> <width> <cin> <cout> <k> <tol> <repeats>
      scipy.sparse.linalg.eigsh (ARPACK, which='LA') on H = J^T J, where J is the 3x3 stride-1 'same'
      (zero-padded) convolution with the tfjs-layout kernel [3, 3, cin, cout] in the file, rebuilt here
      as a scipy.sparse CSR matrix (im2col) and applied as a LinearOperator v -> J^T (J v) in float64.

Prints one JSON object: times in ms (each repeat), results, library versions. Run with the
thread-count environment variables (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS) the caller sets.
"""
import json
import sys
import time

import numpy as np


def eigvalsh(path, n, repeats):
    a = np.fromfile(path, dtype=np.float64).reshape(n, n)
    np.linalg.eigvalsh(a)  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        w = np.linalg.eigvalsh(a)
        times.append((time.perf_counter() - t0) * 1e3)
    return {"timesMs": times, "eigenvalues": w.tolist(), "numpy": np.__version__}


def conv_matrix(kernel, height, width, cin, cout):
    """J of y = conv2d(x, K, stride 1, 'same') for NHWC x flattened as (h, w, c) row-major."""
    import scipy.sparse as sp

    rows, cols, vals = [], [], []
    for y in range(height):
        for x in range(width):
            for dy in range(3):
                for dx in range(3):
                    iy, ix = y + dy - 1, x + dx - 1
                    if not (0 <= iy < height and 0 <= ix < width):
                        continue  # zero padding
                    block = kernel[dy, dx]  # [cin, cout]
                    out_idx = (y * width + x) * cout + np.arange(cout)
                    in_idx = (iy * width + ix) * cin + np.arange(cin)
                    rows.append(np.repeat(out_idx, cin))
                    cols.append(np.tile(in_idx, cout))
                    vals.append(block.T.reshape(-1))
    return sp.csr_matrix(
        (np.concatenate(vals).astype(np.float64), (np.concatenate(rows), np.concatenate(cols))),
        shape=(height * width * cout, height * width * cin),
    )


def eigsh(path, height, width, cin, cout, k, tol, repeats):
    import scipy
    from scipy.sparse.linalg import LinearOperator
    from scipy.sparse.linalg import eigsh as arpack

    kernel = np.fromfile(path, dtype=np.float32).reshape(3, 3, cin, cout)
    t0 = time.perf_counter()
    j = conv_matrix(kernel, height, width, cin, cout)
    jt = j.T.tocsr()
    build_ms = (time.perf_counter() - t0) * 1e3
    n = height * width * cin
    count = [0]

    def matvec(v):
        count[0] += 1
        return jt @ (j @ v.ravel())

    op = LinearOperator((n, n), matvec=matvec, dtype=np.float64)
    v0 = np.random.default_rng(0).standard_normal(n)
    times, products, values = [], [], None
    for r in range(repeats + 1):  # the first run is a warm-up
        count[0] = 0
        t0 = time.perf_counter()
        w = arpack(op, k=k, which="LA", tol=tol, v0=v0, return_eigenvectors=False)
        ms = (time.perf_counter() - t0) * 1e3
        if r > 0:
            times.append(ms)
            products.append(count[0])
        values = np.sort(w)
    x = np.random.default_rng(1).standard_normal(n)
    t0 = time.perf_counter()
    for _ in range(20):
        matvec(x)
    matvec_ms = (time.perf_counter() - t0) * 1e3 / 20
    return {
        "timesMs": times,
        "matvecs": products,
        "eigenvalues": values.tolist(),
        "buildMs": build_ms,
        "nnz": int(j.nnz),
        "matvecMs": matvec_ms,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
    }


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return
    if argv[0] == "eigvalsh":
        out = eigvalsh(argv[1], int(argv[2]), int(argv[3]))
    elif argv[0] == "eigsh":
        h, w, ci, co, k = (int(a) for a in argv[2:7])
        out = eigsh(argv[1], h, w, ci, co, k, float(argv[7]), int(argv[8]))
    else:
        raise SystemExit(f"unknown command {argv[0]}")
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
