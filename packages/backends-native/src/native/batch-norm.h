// Batch normalisation on batch statistics (training mode, no affine parameters) for a [rows, C] view of
// an NHWC tensor, in two passes forward and two backward (the composed tfjs ops take about twelve):
//
//   mean = sum_r x / R,  var = sum_r (x - mean)^2 / R,  r = 1 / sqrt(var + eps),  xhat = (x - mean) * r
//   dx   = r * (dy - mean_r(dy) - xhat * mean_r(dy * xhat))
//
// Channel sums are accumulated in double over a fixed number of row ranges (added in order), so the
// results do not depend on the thread count.
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

#include "elementwise.h"
#include "thread-pool.h"

namespace bmp {

inline void batchNormForward(const float* x, int64_t rows, int64_t cols, float epsilon, float* xhat, float* mean,
                             float* variance, float* rstd, int threads) {
  const std::vector<double> sum = channelSums(rows, cols, threads, 1, [&](int64_t r0, int64_t r1, double* acc) {
    for (int64_t r = r0; r < r1; r++) {
      const float* row = x + r * cols;
      for (int64_t c = 0; c < cols; c++) acc[c] += row[c];
    }
  });
  for (int64_t c = 0; c < cols; c++) mean[c] = float(sum[c] / double(rows));
  const std::vector<double> sq = channelSums(rows, cols, threads, 1, [&](int64_t r0, int64_t r1, double* acc) {
    for (int64_t r = r0; r < r1; r++) {
      const float* row = x + r * cols;
      for (int64_t c = 0; c < cols; c++) {
        const float d = row[c] - mean[c];
        acc[c] += double(d) * d;
      }
    }
  });
  for (int64_t c = 0; c < cols; c++) {
    variance[c] = float(sq[c] / double(rows));
    rstd[c] = 1.f / std::sqrt(variance[c] + epsilon);
  }
  parallelFor(rows, threadsFor(rows * cols, threads), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const float* row = x + r * cols;
      float* out = xhat + r * cols;
      for (int64_t c = 0; c < cols; c++) out[c] = (row[c] - mean[c]) * rstd[c];
    }
  });
}

inline void batchNormBackward(const float* dy, const float* xhat, const float* rstd, int64_t rows, int64_t cols,
                              float* dx, int threads) {
  const std::vector<double> sums = channelSums(rows, cols, threads, 2, [&](int64_t r0, int64_t r1, double* acc) {
    for (int64_t r = r0; r < r1; r++) {
      const float* g = dy + r * cols;
      const float* h = xhat + r * cols;
      for (int64_t c = 0; c < cols; c++) {
        acc[c] += g[c];
        acc[cols + c] += double(g[c]) * h[c];
      }
    }
  });
  std::vector<float> meanDy(cols), meanDyXhat(cols);
  for (int64_t c = 0; c < cols; c++) {
    meanDy[c] = float(sums[c] / double(rows));
    meanDyXhat[c] = float(sums[cols + c] / double(rows));
  }
  parallelFor(rows, threadsFor(rows * cols, threads), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const float* g = dy + r * cols;
      const float* h = xhat + r * cols;
      float* out = dx + r * cols;
      for (int64_t c = 0; c < cols; c++) out[c] = rstd[c] * (g[c] - meanDy[c] - h[c] * meanDyXhat[c]);
    }
  });
}

}  // namespace bmp
