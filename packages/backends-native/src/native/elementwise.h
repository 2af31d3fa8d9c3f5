// Reductions over the leading axes and binary ops with a per-channel operand, for NHWC tensors seen
// as a [rows, cols] matrix (cols: the trailing axes the small operand spans).
#pragma once
#include <cstdint>
#include <vector>

#include "thread-pool.h"

namespace bmp {

// total[c] += sum of x[r * cols + c] over rows [r0, r1): blocks of 64 rows summed in float
// (vectorised), the block sums in double, so the error does not grow with the row count.
inline void addRowSums(const float* x, int64_t r0, int64_t r1, int64_t cols, double* total) {
  constexpr int64_t kBlock = 64;
  std::vector<float> part(cols);
  for (int64_t b = r0; b < r1; b += kBlock) {
    const int64_t e = b + kBlock < r1 ? b + kBlock : r1;
    for (int64_t c = 0; c < cols; c++) part[c] = 0.f;
    for (int64_t r = b; r < e; r++) {
      const float* row = x + r * cols;
      for (int64_t c = 0; c < cols; c++) part[c] += row[c];
    }
    for (int64_t c = 0; c < cols; c++) total[c] += part[c];
  }
}

// Per-channel sums over the rows of a [rows, cols] tensor, `outputs` sums per channel: add(r0, r1, acc)
// adds rows [r0, r1) into acc[0 .. outputs * cols). The rows are cut into a fixed number of ranges
// (summed in parallel, then added in order), so the result does not depend on the thread count.
template <class F>
std::vector<double> channelSums(int64_t rows, int64_t cols, int threads, int outputs, F add) {
  const int parts = rows * cols < kParallelMin ? 1 : 8;
  std::vector<std::vector<double>> partial(parts, std::vector<double>(size_t(cols) * outputs, 0.0));
  parallelFor(parts, threadsFor(rows * cols, threads), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; p++) add(rows * p / parts, rows * (p + 1) / parts, partial[p].data());
  });
  std::vector<double> total(size_t(cols) * outputs, 0.0);
  for (int p = 0; p < parts; p++)
    for (size_t i = 0; i < total.size(); i++) total[i] += partial[p][i];
  return total;
}

// out[c] = scale * sum_r x[r * cols + c].
inline void sumRows(const float* x, int64_t rows, int64_t cols, float* out, double scale, int threads) {
  const std::vector<double> total = channelSums(rows, cols, threads, 1, [&](int64_t r0, int64_t r1, double* acc) {
    addRowSums(x, r0, r1, cols, acc);
  });
  for (int64_t c = 0; c < cols; c++) out[c] = float(total[c] * scale);
}

enum class BinaryOp { Add = 0, Sub = 1, Mul = 2, Div = 3 };

template <BinaryOp Op>
inline float apply(float a, float b) {
  if (Op == BinaryOp::Add) return a + b;
  if (Op == BinaryOp::Sub) return a - b;
  if (Op == BinaryOp::Mul) return a * b;
  return a / b;
}

// out[r, c] = x[r, c] op v[c] (vectorFirst: v[c] op x[r, c]).
template <BinaryOp Op>
void broadcastRowsT(const float* x, const float* v, float* out, int64_t rows, int64_t cols, bool vectorFirst) {
  if (cols == 1) {
    const float s = v[0];
    if (vectorFirst)
      for (int64_t i = 0; i < rows; i++) out[i] = apply<Op>(s, x[i]);
    else
      for (int64_t i = 0; i < rows; i++) out[i] = apply<Op>(x[i], s);
    return;
  }
  if (rows == 1) {  // same shapes: x op v element by element
    if (vectorFirst)
      for (int64_t c = 0; c < cols; c++) out[c] = apply<Op>(v[c], x[c]);
    else
      for (int64_t c = 0; c < cols; c++) out[c] = apply<Op>(x[c], v[c]);
    return;
  }
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * cols;
    float* o = out + r * cols;
    if (vectorFirst)
      for (int64_t c = 0; c < cols; c++) o[c] = apply<Op>(v[c], xr[c]);
    else
      for (int64_t c = 0; c < cols; c++) o[c] = apply<Op>(xr[c], v[c]);
  }
}

// Split into row ranges (or, for one row, column ranges) over the threads; every output element is
// computed the same way whatever the split.
inline bool broadcastRows(int op, const float* x, const float* v, float* out, int64_t rows, int64_t cols,
                          bool vectorFirst, int threads) {
  if (op < 0 || op > 3) return false;
  const bool byRows = rows > 1;
  parallelFor(byRows ? rows : cols, threadsFor(rows * cols, threads), [&](int64_t b, int64_t e) {
    const float* xs = byRows ? x + b * cols : x + b;
    const float* vs = byRows ? v : v + b;
    float* os = byRows ? out + b * cols : out + b;
    const int64_t r = byRows ? e - b : 1, c = byRows ? cols : e - b;
    switch (op) {
      case 0: broadcastRowsT<BinaryOp::Add>(xs, vs, os, r, c, vectorFirst); break;
      case 1: broadcastRowsT<BinaryOp::Sub>(xs, vs, os, r, c, vectorFirst); break;
      case 2: broadcastRowsT<BinaryOp::Mul>(xs, vs, os, r, c, vectorFirst); break;
      default: broadcastRowsT<BinaryOp::Div>(xs, vs, os, r, c, vectorFirst); break;
    }
  });
  return true;
}

// ReLU as tfjs-backend-wasm computes it: x for x > 0, NaN for NaN, else +0 (-0 and negative values).
inline void relu(const float* x, float* y, int64_t n, int threads) {
  parallelFor(n, threadsFor(n, threads), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) {
      const float v = x[i];
      y[i] = v > 0.f ? v : (v != v ? v : 0.f);
    }
  });
}

// The ReLU gradient: dx = dy * step(x), step(x) = 1 for x > 0, NaN for NaN, else 0 (tfjs' Relu gradient,
// mul(dy, step(x)), in one pass; the same bits, signed zeros and NaN included).
inline void reluGrad(const float* dy, const float* x, float* dx, int64_t n, int threads) {
  parallelFor(n, threadsFor(n, threads), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) {
      const float v = x[i];
      dx[i] = dy[i] * (v > 0.f ? 1.f : (v != v ? v : 0.f));
    }
  });
}

}  // namespace bmp
