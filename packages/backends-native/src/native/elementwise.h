// Reductions over the leading axes and binary ops with a per-channel operand, for NHWC tensors seen
// as a [rows, cols] matrix (cols: the trailing axes the small operand spans).
#pragma once
#include <cstdint>
#include <vector>

namespace bmp {

// out[c] = scale * sum_r x[r * cols + c]. Blocks of 64 rows are summed in float (vectorised), the
// block sums in double, so the error does not grow with the row count.
inline void sumRows(const float* x, int64_t rows, int64_t cols, float* out, double scale) {
  constexpr int64_t kBlock = 64;
  std::vector<double> total(cols, 0.0);
  std::vector<float> part(cols);
  for (int64_t r0 = 0; r0 < rows; r0 += kBlock) {
    const int64_t r1 = r0 + kBlock < rows ? r0 + kBlock : rows;
    for (int64_t c = 0; c < cols; c++) part[c] = 0.f;
    for (int64_t r = r0; r < r1; r++) {
      const float* row = x + r * cols;
      for (int64_t c = 0; c < cols; c++) part[c] += row[c];
    }
    for (int64_t c = 0; c < cols; c++) total[c] += part[c];
  }
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
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * cols;
    float* o = out + r * cols;
    if (vectorFirst)
      for (int64_t c = 0; c < cols; c++) o[c] = apply<Op>(v[c], xr[c]);
    else
      for (int64_t c = 0; c < cols; c++) o[c] = apply<Op>(xr[c], v[c]);
  }
}

inline bool broadcastRows(int op, const float* x, const float* v, float* out, int64_t rows, int64_t cols,
                          bool vectorFirst) {
  switch (op) {
    case 0: broadcastRowsT<BinaryOp::Add>(x, v, out, rows, cols, vectorFirst); return true;
    case 1: broadcastRowsT<BinaryOp::Sub>(x, v, out, rows, cols, vectorFirst); return true;
    case 2: broadcastRowsT<BinaryOp::Mul>(x, v, out, rows, cols, vectorFirst); return true;
    case 3: broadcastRowsT<BinaryOp::Div>(x, v, out, rows, cols, vectorFirst); return true;
    default: return false;
  }
}

}  // namespace bmp
