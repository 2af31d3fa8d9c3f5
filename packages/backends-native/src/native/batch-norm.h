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

// relu(v) as tfjs-backend-wasm computes it (v for v > 0, NaN for NaN, else +0), and its gradient's mask.
inline float reluOf(float v) { return v > 0.f ? v : (v != v ? v : 0.f); }
inline float stepOf(float v) { return v > 0.f ? 1.f : (v != v ? v : 0.f); }

// With `y`, also y = relu(xhat) (batch norm then ReLU, the paper VGG's order, in the same passes); xhat
// may then be null (not written: the ReLU's gradient recomputes it from x, mean and rstd).
inline void batchNormForward(const float* x, int64_t rows, int64_t cols, float epsilon, float* xhat, float* mean,
                             float* variance, float* rstd, int threads, float* y = nullptr) {
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
      if (xhat != nullptr)
        for (int64_t c = 0; c < cols; c++) xhat[r * cols + c] = (row[c] - mean[c]) * rstd[c];
      if (y != nullptr)
        for (int64_t c = 0; c < cols; c++) y[r * cols + c] = reluOf((row[c] - mean[c]) * rstd[c]);
    }
  });
}

// Relu: dy is the gradient of relu(xhat), and xhat is recomputed from x as the forward pass computed it,
// (x - mean) * rstd; dy goes through the ReLU's mask first, dy * step(xhat): the float32 values that the
// separate ReLU gradient and batchNormBackward on the stored xhat give. Otherwise `in` is xhat.
template <bool Relu>
void batchNormBackwardT(const float* dy, const float* in, const float* mean, const float* rstd, int64_t rows,
                        int64_t cols, float* dx, int threads) {
  const auto xhatAt = [&](int64_t i, int64_t c) { return Relu ? (in[i] - mean[c]) * rstd[c] : in[i]; };
  const std::vector<double> sums = channelSums(rows, cols, threads, 2, [&](int64_t r0, int64_t r1, double* acc) {
    for (int64_t r = r0; r < r1; r++)
      for (int64_t c = 0; c < cols; c++) {
        const int64_t i = r * cols + c;
        const float h = xhatAt(i, c);
        const float g = Relu ? dy[i] * stepOf(h) : dy[i];
        acc[c] += g;
        acc[cols + c] += double(g) * h;
      }
  });
  std::vector<float> meanDy(cols), meanDyXhat(cols);
  for (int64_t c = 0; c < cols; c++) {
    meanDy[c] = float(sums[c] / double(rows));
    meanDyXhat[c] = float(sums[cols + c] / double(rows));
  }
  parallelFor(rows, threadsFor(rows * cols, threads), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++)
      for (int64_t c = 0; c < cols; c++) {
        const int64_t i = r * cols + c;
        const float h = xhatAt(i, c);
        const float g = Relu ? dy[i] * stepOf(h) : dy[i];
        dx[i] = rstd[c] * (g - meanDy[c] - h * meanDyXhat[c]);
      }
  });
}

inline void batchNormBackward(const float* dy, const float* xhat, const float* rstd, int64_t rows, int64_t cols,
                              float* dx, int threads) {
  batchNormBackwardT<false>(dy, xhat, nullptr, rstd, rows, cols, dx, threads);
}

// The gradient of batchNormForward's y = relu(xhat) with respect to x, from x, mean and rstd.
inline void batchNormReluBackward(const float* dy, const float* x, const float* mean, const float* rstd, int64_t rows,
                                  int64_t cols, float* dx, int threads) {
  batchNormBackwardT<true>(dy, x, mean, rstd, rows, cols, dx, threads);
}

}  // namespace bmp
